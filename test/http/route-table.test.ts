import { describe, expect, it } from 'vitest';
import { RouteTable, type AllowedMethod } from '../../src/http/route-table.js';

const table = new RouteTable();
for (const [method, pattern] of [
  ['GET', '/api/orders/store'],
  ['GET', '/api/orders/store/:id'],
  ['GET', '/api/orders'],
  ['GET', '/api/orders/customer/:customerId'],
  ['GET', '/api/orders/:id'],
  ['POST', '/api/orders'],
  ['PUT', '/api/orders/:id'],
  ['DELETE', '/api/orders/:id'],
  ['POST', '/api/orders/generate'],
  ['GET', '/order-service/api/orders'],
  ['POST', '/order-service/api/orders'],
] as [AllowedMethod, string][]) {
  table.add(method, pattern);
}

describe('RouteTable.allowed (the Allow header of a 405)', () => {
  it.each<[string, AllowedMethod[]]>([
    ['/api/orders', ['GET', 'POST']],
    ['/order-service/api/orders', ['GET', 'POST']],
    ['/api/orders/42', ['GET', 'PUT', 'DELETE']],
    // uWS routes PUT /api/orders/store to /api/orders/:id, so PUT is allowed there too.
    ['/api/orders/store', ['GET', 'PUT', 'DELETE']],
    ['/api/orders/generate', ['GET', 'POST', 'PUT', 'DELETE']],
    ['/api/orders/store/7', ['GET']],
    ['/api/orders/customer/7', ['GET']],
    ['/api/orders/%E0', ['GET', 'PUT', 'DELETE']],
  ])('%s allows %j', (path, methods) => {
    expect(table.allowed(path)).toEqual(methods);
  });

  it.each(['/', '', '/api', '/api/orders/', '/api/orders/1/2', '/API/orders', '/api//orders', '/order-service', '/order-service/api/orders/1', 'api/orders'])(
    '%j matches no route: a 404, not a 405',
    (path) => {
      expect(table.allowed(path)).toEqual([]);
    },
  );
});
