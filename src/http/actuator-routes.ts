// Spring actuator equivalents: liveness, readiness, Prometheus, info.
import type client from 'prom-client';
import { json } from './reply.js';
import type { HttpServer } from './server.js';

export interface HealthSources {
  /** Components that must be up for the instance to take traffic. */
  readiness(): Promise<Record<string, boolean>>;
}

export function registerActuatorRoutes(http: HttpServer, health: HealthSources, registry: client.Registry, info: Record<string, string>): void {
  const readiness = async (): Promise<{ status: number; body: string }> => {
    const components = await health.readiness();
    const up = Object.values(components).every(Boolean);
    const body = JSON.stringify({
      status: up ? 'UP' : 'DOWN',
      components: Object.fromEntries(Object.entries(components).map(([k, v]) => [k, { status: v ? 'UP' : 'DOWN' }])),
    });
    return { status: up ? 200 : 503, body };
  };
  // Probes and scrapes come from the kubelet and Prometheus, without keys and often: never keyed nor limited.
  const open = { access: 'open' } as const;
  http
    .route('get', '/actuator/health/liveness', () => json(200, '{"status":"UP"}'), open)
    .route(
      'get',
      '/actuator/health/readiness',
      async () => {
        const r = await readiness();
        return json(r.status, r.body);
      },
      open,
    )
    .route(
      'get',
      '/actuator/health',
      async () => {
        const r = await readiness();
        return json(r.status, r.body);
      },
      open,
    )
    .route('get', '/actuator/prometheus', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }), open)
    .route('get', '/actuator/info', () => json(200, JSON.stringify(info)), open);
}
