import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertisedEndpoint, parseEndpoint } from '../../src/cluster/endpoint.js';

describe('advertisedEndpoint', () => {
  it.each([
    { applicationServer: 'orders-1.orders:18282', host: '0.0.0.0', port: 18282, expected: 'orders-1.orders:18282' },
    { applicationServer: undefined, host: '127.0.0.1', port: 40001, expected: '127.0.0.1:40001' },
    { applicationServer: undefined, host: '0.0.0.0', port: 18282, expected: `${hostname()}:18282` },
    { applicationServer: undefined, host: '::', port: 18282, expected: `${hostname()}:18282` },
    { applicationServer: undefined, host: '::1', port: 18282, expected: '[::1]:18282' },
  ])('APPLICATION_SERVER=$applicationServer HOST=$host listening on $port → $expected', ({ applicationServer, host, port, expected }) => {
    expect(advertisedEndpoint({ applicationServer, host }, port)).toBe(expected);
  });
});

describe('parseEndpoint', () => {
  it.each([
    { endpoint: '127.0.0.1:18282', expected: { host: '127.0.0.1', port: 18282 } },
    { endpoint: 'orders-1.orders.svc:80', expected: { host: 'orders-1.orders.svc', port: 80 } },
    { endpoint: '[::1]:18282', expected: { host: '::1', port: 18282 } },
    { endpoint: 'no-port', expected: undefined },
    { endpoint: 'host:0', expected: undefined },
    { endpoint: 'host:70000', expected: undefined },
    { endpoint: 'http://host:80', expected: undefined },
    { endpoint: '::1:80', expected: undefined },
  ])('$endpoint → $expected', ({ endpoint, expected }) => {
    expect(parseEndpoint(endpoint)).toEqual(expected);
  });
});
