// The service instances of one multi-instance fault run: one application
// (APPLICATION_ID), each instance with its name (INSTANCE_ID i1, i2, ...), its Kafka
// slot on the cluster (its own proxies, so it can be partitioned alone), its HTTP port,
// its state folder and its id bits (NODE_ID), all kept across its restarts as a pod
// keeps them. It starts, kills, terminates and restarts them, and spreads the load
// over the ones in the load.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Child } from '../support/child.js';
import { CLUSTER_SESSION_TIMEOUT_MS, type KafkaCluster } from '../support/kafka-cluster.js';
import { freePort, startService, type Service } from '../support/service.js';
import type { ClusterParams } from './cluster-params.js';
import type { SigtermOutcome } from './cluster-scenarios.js';
import type { ClusterWatch } from './cluster-watch.js';
import { reportCrash, round, stopChild } from './run-steps.js';

/** The service's JOIN_WINDOW_MS (its default, set explicitly): the audit judges split answers by it. */
export const JOIN_WINDOW_MS = 10_000;

export interface Instance {
  readonly id: string;
  readonly slot: number;
  readonly port: number;
  readonly stateDir: string;
  /** The process running now, if any. */
  service: Service | undefined;
  /** Every process it ran, for the logs. */
  readonly processes: Child[];
  /** POSTs go to it (it runs and is not being terminated). */
  inLoad: boolean;
}

export interface ServiceGroupOptions {
  readonly params: ClusterParams;
  readonly cluster: KafkaCluster;
  readonly databaseUrl: string;
  readonly applicationId: string;
  readonly logDir: string;
  readonly watch: ClusterWatch;
  /** The run's tracking of a start in progress (its teardown waits for it). */
  readonly starting: <T>(step: Promise<T>) => Promise<T>;
  readonly note: (event: string) => void;
  /** An instance that exited without the group ending it (a crash). */
  readonly crashed: (what: string, err: Error) => void;
}

export class ServiceGroup {
  readonly instances: Instance[] = [];
  readonly #o: ServiceGroupOptions;
  /** Processes the group itself ends (kill -9, SIGTERM, teardown): their exit is no crash. */
  readonly #ending = new Set<Child>();
  #next = 0;

  constructor(options: ServiceGroupOptions) {
    this.#o = options;
  }

  /** A new instance (the next name, slot and a free port), not started. */
  async add(): Promise<Instance> {
    const n = this.instances.length + 1;
    const inst: Instance = {
      id: `i${n}`,
      slot: n,
      port: await freePort(),
      stateDir: mkdtempSync(join(tmpdir(), `order-engine-cluster-i${n}-`)),
      service: undefined,
      processes: [],
      inLoad: false,
    };
    this.instances.push(inst);
    return inst;
  }

  get(id: string): Instance {
    const inst = this.instances.find((i) => i.id === id);
    if (inst === undefined) throw new Error(`no instance ${id}`);
    return inst;
  }

  /** The instances running now, in start order. */
  running(): string[] {
    return this.instances.filter((i) => i.service !== undefined).map((i) => i.id);
  }

  /** The base URLs of the instances running now. */
  urls(): string[] {
    return this.instances.flatMap((i) => (i.service === undefined ? [] : [i.service.baseUrl]));
  }

  /** Round robin over the instances in the load: where the next POST goes. */
  target(): string | undefined {
    const targets = this.instances.filter((i) => i.inLoad && i.service !== undefined);
    if (targets.length === 0) return undefined;
    return targets[this.#next++ % targets.length]!.service!.baseUrl;
  }

  /** Starts (or restarts) an instance; in the load and watched once ready. */
  async start(inst: Instance): Promise<void> {
    const { params: p, cluster } = this.#o;
    const started = performance.now();
    this.#o.watch.watch(inst.id, `http://127.0.0.1:${inst.port}`);
    try {
      const service = await this.#o.starting(
        startService(
          {
            KAFKA_BOOTSTRAP_SERVERS: p.proxies ? cluster.clientBootstrap(inst.slot) : cluster.bootstrapServers,
            DATABASE_URL: this.#o.databaseUrl,
            APPLICATION_ID: this.#o.applicationId,
            INSTANCE_ID: inst.id,
            SESSION_TIMEOUT_MS: String(CLUSTER_SESSION_TIMEOUT_MS),
            // Distinct id bits per instance: two instances with the same node bits may
            // hand out the same order id in the same millisecond.
            NODE_ID: String(inst.slot),
            STATE_DIR: inst.stateDir,
            NUM_PARTITIONS: String(p.numPartitions),
            REPLICATION_FACTOR: '3',
            NUM_STREAM_THREADS: String(p.streamThreads),
            JOIN_WINDOW_MS: String(JOIN_WINDOW_MS),
            OUTBOX_POLL_MS: process.env.OUTBOX_POLL_MS ?? '1000',
          },
          { port: inst.port, dir: p.serviceDir, readyTimeoutMs: p.readyS * 1000 },
        ),
      );
      inst.service = service;
      inst.processes.push(service);
      inst.inLoad = true;
      reportCrash(service, this.#ending, (err) => this.#o.crashed(inst.id, err));
      this.#o.note(`${inst.id} ready (pid ${service.process.pid}) after ${round(performance.now() - started)} s`);
    } catch (err) {
      const output = (err as { childOutput?: string }).childOutput;
      if (output !== undefined) writeFileSync(join(this.#o.logDir, `${inst.id}-${inst.processes.length + 1}-failed-start.log`), output);
      throw err;
    }
  }

  /** `kill -9`; out of the load first; resolves when the process is gone. */
  async kill(id: string): Promise<void> {
    const inst = this.get(id);
    const service = inst.service;
    if (service === undefined) throw new Error(`${id} is not running`);
    inst.inLoad = false;
    inst.service = undefined;
    this.#ending.add(service);
    await service.kill('SIGKILL');
    this.#o.note(`${id} killed (kill -9, pid ${service.process.pid})`);
  }

  /** Out of the load, then SIGTERM; waits `boundMs` for the exit, then kills it. */
  async sigterm(id: string, boundMs: number): Promise<SigtermOutcome> {
    const inst = this.get(id);
    const service = inst.service;
    if (service === undefined) throw new Error(`${id} is not running`);
    inst.inLoad = false;
    this.#ending.add(service);
    const sent = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const exitCode = await Promise.race([service.kill('SIGTERM'), new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), boundMs)))]);
    clearTimeout(timer);
    const exitMs = performance.now() - sent;
    if (exitCode === 'late') {
      await service.kill('SIGKILL');
      this.#o.note(`${id} had not exited ${boundMs / 1000} s after SIGTERM: killed`);
    } else this.#o.note(`${id} exited ${round(exitMs)} s after SIGTERM with code ${exitCode}`);
    inst.service = undefined;
    return { exitCode: exitCode === 'late' ? null : exitCode, exitMs };
  }

  /** SIGTERMs every instance still running (SIGKILL after 10 s). */
  async stopAll(): Promise<void> {
    for (const inst of this.instances) for (const proc of inst.processes) this.#ending.add(proc);
    await Promise.all(this.instances.map((i) => stopChild(i.service)));
  }

  /** Writes each process's output as `<id>-<n>.log`. */
  writeLogs(): void {
    for (const inst of this.instances) inst.processes.forEach((proc, k) => writeFileSync(join(this.#o.logDir, `${inst.id}-${k + 1}.log`), proc.output()));
  }

  removeStateDirs(): void {
    for (const inst of this.instances) rmSync(inst.stateDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the process exits. */
  killNow(): void {
    for (const proc of this.instances.flatMap((i) => i.processes)) if (proc.process.exitCode === null) proc.process.kill('SIGKILL');
  }
}
