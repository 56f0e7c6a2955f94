import { describe, expect, it } from 'vitest';
import { insertOrdersParams, type NewOrder } from '../../src/db/order-repository.js';
import type { Order } from '../../src/domain/order.js';
import { decodeBinaryArray } from '../support/pg-binary-decode.js';

const order = (orderId: number, line2: string | null, items: Order['items']): NewOrder => ({
  order: {
    orderId,
    customerId: 7,
    status: 'NEW',
    source: null,
    deliveryAddress: { addressLine1: '1 "Main" St', addressLine2: line2, city: 'Spring, field', state: 'IL', zipCode: '62701', country: 'US' },
    createdDate: new Date('2026-11-28T10:20:30.123Z'),
    items,
  },
  event: { topic: 'orders', key: String(orderId), payload: `{"orderId":${orderId}}` },
});

describe('insertOrdersParams', () => {
  it('writes one array per column: orders, then all items with their order id, then the outbox rows', () => {
    const params = insertOrdersParams([
      order(100, null, [
        { itemId: 101, productCode: 'P001', quantity: 2, priceCents: 1050 },
        { itemId: 102, productCode: 'P002', quantity: 1, priceCents: 5 },
      ]),
      order(200, 'Apt \\2', [{ itemId: 201, productCode: 'P003', quantity: 3, priceCents: 100_000 }]),
    ]);
    const decoded = params.map((p) => (typeof p === 'string' ? p : decodeBinaryArray(p).values));
    const created = new Date('2026-11-28T10:20:30.123Z');
    expect(decoded).toEqual([
      [100, 200],
      [7, 7],
      ['NEW', 'NEW'],
      [null, null],
      ['1 "Main" St', '1 "Main" St'],
      [null, 'Apt \\2'],
      ['Spring, field', 'Spring, field'],
      ['IL', 'IL'],
      ['62701', '62701'],
      ['US', 'US'],
      [created, created],
      [101, 102, 201],
      ['P001', 'P002', 'P003'],
      [2, 1, 3],
      '{"10.50","0.05","1000.00"}',
      [100, 100, 200],
      ['orders', 'orders'],
      ['100', '200'],
      ['{"orderId":100}', '{"orderId":200}'],
    ]);
  });

  it('gives each column the element type its cast in the statement names', () => {
    const params = insertOrdersParams([order(1, null, [{ itemId: 2, productCode: 'P', quantity: 1, priceCents: 1 }])]);
    const oids = params.map((p) => (typeof p === 'string' ? 'text literal' : decodeBinaryArray(p).oid));
    // bigint 20, text 25, timestamptz 1184, integer 23; numeric stays a text literal.
    expect(oids).toEqual([20, 20, 25, 25, 25, 25, 25, 25, 25, 25, 1184, 20, 25, 23, 'text literal', 20, 25, 25, 25]);
  });
});
