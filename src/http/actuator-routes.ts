// Spring actuator equivalents: liveness, readiness, Prometheus, info.
// Liveness answers from this thread alone, whatever Kafka or Postgres do: a dependency
// that is away makes the instance not ready (no traffic), never not alive (Kubernetes
// would restart every pod at once for a broker outage, and restores with them).
import type client from 'prom-client';
import { aggregate, type ComponentHealth } from './health.js';
import { json } from './reply.js';
import type { HttpServer } from './server.js';

export interface HealthSources {
  /** Components that must be up for the instance to take traffic (health.ts). */
  readiness(): Promise<Record<string, ComponentHealth>>;
}

export function registerActuatorRoutes(http: HttpServer, health: HealthSources, registry: client.Registry, info: Record<string, string>): void {
  // Probes and scrapes come from the kubelet and Prometheus, without keys and often: never keyed nor limited.
  const open = { access: 'open' } as const;
  const answerHealth = async (): Promise<ReturnType<typeof json>> => {
    const h = aggregate(await health.readiness());
    return json(h.status === 'UP' ? 200 : 503, JSON.stringify(h));
  };
  http
    .route('get', '/actuator/health/liveness', () => json(200, '{"status":"UP"}'), open)
    .route('get', '/actuator/health/readiness', answerHealth, open)
    // The whole health is readiness: liveness needs nothing beyond an answer.
    .route('get', '/actuator/health', answerHealth, open)
    .route('get', '/actuator/prometheus', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }), open)
    .route('get', '/actuator/info', () => json(200, JSON.stringify(info)), open);
}
