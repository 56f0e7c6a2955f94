// The service's routes as the spec lists them, and an oracle that says what the
// service must answer to a request whose only fault is in a place the router does not
// look at (percent-encoding inside a parameter or the query): the route's own 400, a
// 405 with the methods the path does have, or a 404 when no route has that path.
// Kept apart from src/http on purpose: it is the contract the fuzz holds the server to.

export const CONTEXT_PATH = '/order-service';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRoute {
  readonly method: ApiMethod;
  readonly pattern: string;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', pattern: '/api/orders/store' },
  { method: 'GET', pattern: '/api/orders/store/:id' },
  { method: 'GET', pattern: '/api/orders' },
  { method: 'GET', pattern: '/api/orders/customer/:customerId' },
  { method: 'GET', pattern: '/api/orders/:id' },
  { method: 'POST', pattern: '/api/orders' },
  { method: 'PUT', pattern: '/api/orders/:id' },
  { method: 'DELETE', pattern: '/api/orders/:id' },
  { method: 'POST', pattern: '/api/orders/generate' },
  { method: 'GET', pattern: '/actuator/health/liveness' },
  { method: 'GET', pattern: '/actuator/health/readiness' },
  { method: 'GET', pattern: '/actuator/health' },
  { method: 'GET', pattern: '/actuator/prometheus' },
  { method: 'GET', pattern: '/actuator/info' },
];

function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return false;
  return want.every((segment, i) => (segment.startsWith(':') ? got[i] !== '' : segment === got[i]));
}

/** The routes whose pattern (bare or under the context path) matches `path`. */
export function routesFor(path: string): ApiRoute[] {
  return API_ROUTES.filter((r) => matches(r.pattern, path) || matches(CONTEXT_PATH + r.pattern, path));
}

export type Routing = { readonly kind: 'route'; readonly route: ApiRoute } | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] } | { readonly kind: 'not-found' };

/** How the router treats `method path`: routed, 405 with the path's methods, or 404. */
export function routing(method: string, path: string): Routing {
  const candidates = routesFor(path);
  const route = candidates.find((r) => r.method === method);
  if (route !== undefined) return { kind: 'route', route };
  if (candidates.length > 0) return { kind: 'method-not-allowed', allow: [...new Set(candidates.map((r) => r.method))].sort() };
  return { kind: 'not-found' };
}
