// The deployment files, checked without a container engine or a cluster: Kubernetes
// documents against the API's OpenAPI schemas (kubernetes-models), the Compose file
// against the Compose specification's schema (dclint's copy), the Dockerfile with the
// Docker language server's linter (dockerfile-utils), and every setting they give the
// service read back through src/config.ts. Plus the seed's figures, which a schema
// cannot know. `npm run lint:deploy` runs this and the command-line linters.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { loadConfig, settingNames } from '../../src/config.js';
import { loadSimConfig, simSettingNames } from '../../src/sim/sim-config.js';

const root = join(import.meta.dirname, '..', '..');
const k8sDir = join(root, 'deploy', 'k8s');
const read = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8');

/** Every YAML document of a file; merge keys (<<) as Compose reads them. */
function yamlDocuments(text: string): Record<string, any>[] {
  return parseAllDocuments(text, { merge: true }).map((doc) => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    return doc.toJS() as Record<string, any>;
  });
}

interface Model {
  validate(): void;
}
// The kinds deploy/k8s uses, each with its schema-checking model; a new kind needs a line here.
const models: Record<string, new (data: never) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Validates a document against the Kubernetes schema of its apiVersion and kind; throws what is wrong. */
function validateManifest(doc: Record<string, any>): void {
  const Model = models[`${doc.apiVersion}/${doc.kind}`];
  if (Model === undefined) throw new Error(`no schema model for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}

const manifestFiles = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
const manifests = manifestFiles.flatMap((file) => yamlDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => ({ file, doc })));
const byKind = (kind: string): Record<string, any>[] => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

describe('deploy/k8s', () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`, m.doc] as const))('%s is valid against the Kubernetes schema', (_name, doc) => {
    expect(() => validateManifest(doc)).not.toThrow();
  });

  it('rejects what the schema forbids (the check is not blind)', () => {
    const [statefulSet] = byKind('StatefulSet');
    const broken = structuredClone(statefulSet);
    broken!.spec.template.spec.containers[0].resources.limits.cpu = { cores: 2 };
    expect(() => validateManifest(broken!)).toThrow();
    const missing = structuredClone(statefulSet);
    delete missing!.spec.selector;
    expect(() => validateManifest(missing!)).toThrow();
  });

  it('the kustomization lists every manifest, and only files that exist', () => {
    const [kustomization] = yamlDocuments(read('deploy', 'k8s', 'kustomization.yaml'));
    expect(kustomization?.kind).toBe('Kustomization');
    expect([...(kustomization?.resources as string[])].sort()).toEqual(manifestFiles);
  });

  it('the StatefulSet is the seed pod: resources, state volume, probes, identity', () => {
    const [sts] = byKind('StatefulSet');
    const pod = sts?.spec.template.spec;
    const [container] = pod.containers;
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(container.livenessProbe.httpGet.path).toBe('/actuator/health/liveness');
    expect(container.readinessProbe.httpGet.path).toBe('/actuator/health/readiness');
    const stateMount = container.volumeMounts.find((m: { name: string }) => m.name === 'state');
    expect(stateMount.mountPath).toBe('/var/lib/order-engine/state');
    expect(sts?.spec.volumeClaimTemplates.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['state']);
    const env = Object.fromEntries(container.env.map((e: { name: string }) => [e.name, e]));
    expect(env.INSTANCE_ID.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(env.MEMORY_LIMIT.valueFrom.resourceFieldRef.resource).toBe('limits.memory');
    // The service's own shutdown deadline is 25 s (src/service.ts), after a 5 s preStop pause.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25 + 5);
    expect(sts?.spec.serviceName).toBe(byKind('Service').find((s) => s.spec.clusterIP === 'None')?.metadata.name);
    expect(pod.securityContext.runAsUser).toBe(1000);
  });

  it('the HPA scales the StatefulSet 2..6 on CPU 70%, memory 80% and consumer lag', () => {
    const [hpa] = byKind('HorizontalPodAutoscaler');
    expect(hpa?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: byKind('StatefulSet')[0]?.metadata.name });
    expect([hpa?.spec.minReplicas, hpa?.spec.maxReplicas]).toEqual([2, 6]);
    const targets = Object.fromEntries(
      hpa?.spec.metrics.map((m: any) => (m.type === 'Resource' ? [m.resource.name, m.resource.target.averageUtilization] : [m.pods.metric.name, m.pods.target.averageValue])),
    );
    expect(targets).toEqual({ cpu: 70, memory: 80, kafka_consumer_lag_sum: '1000' });
    // No more pods than tasks: a pod beyond NUM_PARTITIONS gets no work.
    expect(hpa?.spec.maxReplicas).toBe(Number(byKind('ConfigMap')[0]?.data.NUM_PARTITIONS));
  });

  it('a PodDisruptionBudget covers the pods', () => {
    const [pdb] = byKind('PodDisruptionBudget');
    expect(pdb?.spec.selector.matchLabels).toEqual(byKind('StatefulSet')[0]?.spec.selector.matchLabels);
  });

  it('the pod environment is real settings with valid values', () => {
    const [sts] = byKind('StatefulSet');
    const container = sts?.spec.template.spec.containers[0];
    const env: Record<string, string> = { ...byKind('ConfigMap')[0]?.data, ...byKind('Secret')[0]?.stringData };
    // What the kubelet would put there for pod order-service-0 with a 2Gi limit.
    const fromPod: Record<string, string> = { 'metadata.name': 'order-service-0', "metadata.labels['apps.kubernetes.io/pod-index']": '0', 'limits.memory': String(2 * 1024 ** 3) };
    for (const e of container.env as { name: string; value?: string; valueFrom?: any }[]) {
      const source = e.valueFrom?.fieldRef?.fieldPath ?? e.valueFrom?.resourceFieldRef?.resource;
      env[e.name] = source === undefined ? String(e.value).replace(/\$\((\w+)\)/g, (_m, name: string) => env[name] ?? '') : (fromPod[source] ?? '');
    }
    expect(Object.keys(env).filter((name) => !settingNames.includes(name))).toEqual([]);
    // 0: no cgroup limit, whatever this machine's is; MEMORY_LIMIT decides.
    const config = loadConfig(env, {}, 0);
    expect(config.instanceId).toBe('order-service-0');
    expect(config.applicationServer).toBe('order-service-0.order-service-headless:18282');
    expect(config.memory.limitBytes).toBe(2 * 1024 ** 3);
  });
});

describe('docker-compose.yml', () => {
  const [compose] = yamlDocuments(read('docker-compose.yml'));
  const services = compose?.services as Record<string, any>;
  // ${VAR:-default} as Compose interpolates it with VAR unset.
  const interpolate = (value: unknown): string => String(value).replace(/\$\{\w+:-([^}]*)\}/g, '$1');
  const envOf = (name: string): Record<string, string> => Object.fromEntries(Object.entries(services[name].environment as object).map(([k, v]) => [k, interpolate(v)]));
  const instances = Object.keys(services).filter((name) => services[name].command === undefined && services[name].build !== undefined);

  it('is valid against the Compose specification schema', () => {
    const schema = JSON.parse(readFileSync(join(root, 'node_modules', 'dclint', 'schemas', 'compose.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(schema);
    // Extension fields (x-*) are allowed at the top level; merge keys are resolved by then.
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    // Not blind: a misspelt key and a wrong type are errors.
    expect(validate({ services: { a: { image: 'x', healthchek: {} } } })).toBe(false);
    expect(validate({ services: { a: { image: 'x', depends_on: 'kafka' } } })).toBe(false);
  });

  it('runs Kafka (KRaft) at the version the tests use, Postgres, two instances and the simulators', () => {
    const kafkaVersion = /<kafka.version>(.+)<\/kafka.version>/.exec(read('infra', 'kafka', 'pom.xml'))?.[1];
    expect(services.kafka.image).toBe(`apache/kafka:${kafkaVersion}`);
    expect(services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(services.postgres.image).toMatch(/^postgres:/);
    expect(instances).toHaveLength(2);
    expect(services.simulators.command).toEqual(['node', 'dist/src/sim/main.js']);
  });

  it('each instance has its own INSTANCE_ID, NODE_ID, state volume and port, all valid settings', () => {
    const seen = { ids: new Set<string>(), nodes: new Set<string>(), volumes: new Set<string>(), ports: new Set<string>() };
    for (const name of instances) {
      const env = envOf(name);
      expect(Object.keys(env).filter((k) => !settingNames.includes(k))).toEqual([]);
      const config = loadConfig(env, {}, 0);
      seen.ids.add(config.instanceId);
      seen.nodes.add(String(config.nodeId));
      const state = (services[name].volumes as string[]).find((v) => v.endsWith(`:${config.stateDir}`) || v.endsWith(':/var/lib/order-engine/state'));
      expect(state).toBeDefined();
      seen.volumes.add(String(state));
      seen.ports.add(String(services[name].ports));
      expect(services[name].healthcheck.test.join(' ')).toContain('/actuator/health/readiness');
      expect(services[name].depends_on.kafka.condition).toBe('service_healthy');
      expect(services[name].depends_on.postgres.condition).toBe('service_healthy');
    }
    for (const set of Object.values(seen)) expect(set.size).toBe(instances.length);
  });

  it('the simulators are given real settings', () => {
    const env = envOf('simulators');
    expect(Object.keys(env).filter((k) => !simSettingNames.includes(k))).toEqual([]);
    expect(loadSimConfig(env).services).toEqual(['payment', 'inventory']);
  });

  it('every service it depends on has a healthcheck', () => {
    for (const service of Object.values(services)) {
      for (const [dep, { condition }] of Object.entries((service.depends_on ?? {}) as Record<string, { condition: string }>)) {
        if (condition === 'service_healthy') expect(services[dep].healthcheck?.test).toBeDefined();
      }
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => /^[A-Z]+\s/.test(l));
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  it('has no problems dockerfile-utils finds', () => {
    // Not blind: a port that is not a number and a relative WORKDIR are found.
    expect(lintDockerfile('FROM node:20\nEXPOSE http\nWORKDIR app\n')).toHaveLength(2);
    expect(lintDockerfile(dockerfile).map((d) => `${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`)).toEqual([]);
  });

  it('every COPY from the context exists and is not excluded by .dockerignore', () => {
    const sources = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1).filter((w) => !w.startsWith('--')));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)), source).toEqual([]);
    }
  });

  it('runs as a numeric non-root user, with a state volume, a HEALTHCHECK and scripts/start.sh', () => {
    const last = (word: string): string | undefined => instructions.filter((l) => l.startsWith(`${word} `)).at(-1);
    expect(last('USER')).toMatch(/^USER [1-9][0-9]*(:[0-9]+)?$/);
    expect(last('VOLUME')).toContain('/var/lib/order-engine/state');
    expect(last('ENV')).toContain('STATE_DIR=/var/lib/order-engine/state');
    expect(last('HEALTHCHECK')).toContain('/actuator/health/liveness');
    expect(last('CMD')).toBe('CMD ["sh", "scripts/start.sh"]');
  });
});
