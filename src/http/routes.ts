// Every route of the service, in the one order the HTTP thread registers them: the
// OpenAPI document (registered last but the fallback) describes exactly these, and
// test/http/openapi/document.test.ts registers them the same way to check it.
import type client from 'prom-client';
import type { OrderGenerator } from '../orders/order-generator.js';
import type { OrderService } from '../orders/order-service.js';
import { registerActuatorRoutes, type HealthSources } from './actuator-routes.js';
import { registerApiDocsRoute } from './api-docs-routes.js';
import type { ClusterStore } from './cluster-store.js';
import { registerOrderRoutes } from './order-routes.js';
import { registerJobRoutes, type JobRouteSources } from './job-routes.js';
import type { HttpServer } from './server.js';
import { registerStoreRoutes } from './store-routes.js';

export interface RouteSources {
  readonly store: ClusterStore;
  readonly orders: OrderService;
  readonly generator: OrderGenerator;
  readonly jobs: JobRouteSources;
  readonly health: HealthSources;
  readonly registry: client.Registry;
  /** What /actuator/info answers. */
  readonly info: Record<string, string>;
  readonly instanceId: string;
  readonly numPartitions: number;
}

export function registerRoutes(http: HttpServer, sources: RouteSources): void {
  registerStoreRoutes(http, sources.store, { instanceId: sources.instanceId, numPartitions: sources.numPartitions });
  registerOrderRoutes(http, sources.orders, sources.generator);
  registerJobRoutes(http, sources.jobs);
  registerActuatorRoutes(http, sources.health, sources.registry, sources.info);
  // Last but the fallback: the document describes the routes registered before it.
  registerApiDocsRoute(http);
  http.fallback();
}
