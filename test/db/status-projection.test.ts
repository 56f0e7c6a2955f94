// What the status projector takes from a batch of `orders` records: the last final
// decision per order, and one commit offset per partition past every record read.
import { describe, expect, it } from 'vitest';
import { FINAL_STATUSES, projectDecisions, type ProjectableRecord } from '../../src/db/status-projection.js';
import { parseOrderDto } from '../../src/domain/order-dto.js';

let nextOffset = 0;
function record(value: unknown, partition = 0): ProjectableRecord {
  const bytes = value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return { topic: 'orders', partition, offset: nextOffset++, value: bytes };
}

const dto = (orderId: number, status: string, source: string | null = null) => ({
  orderId,
  customerId: 7,
  status,
  source,
  items: [{ itemId: 1, productId: 'P001', quantity: 1, productPrice: 10 }],
});

describe('projectDecisions', () => {
  it.each<[string, string, boolean]>([
    ['CONFIRMED', 'the saga confirmed it', true],
    ['REJECTED', 'both participants rejected it', true],
    ['ROLLBACK', 'one participant rejected it', true],
    ['FAILED', 'it failed', true],
    ['NEW', 'the outbox published it', false],
    ['ACCEPT', 'a participant answer on the wrong topic', false],
    ['confirmed', 'a status in the wrong case', false],
  ])('projects status %s (%s): %s', (status, _, projected) => {
    const p = projectDecisions([record(dto(1, status))], parseOrderDto);
    expect(p.decisions.has(1)).toBe(projected);
    expect(p.notFinal).toBe(projected ? 0 : 1);
    expect(FINAL_STATUSES.has(status)).toBe(projected);
  });

  it.each<[string, unknown]>([
    ['a tombstone', null],
    ['bytes that are not JSON', '{"orderId": 1, "status": "CONFIRMED"'],
    ['JSON that is not an OrderDto', { orderId: 1, status: 'CONFIRMED' }],
    ['an id beyond 2^63 - 1 (no Java long)', dto(1e19, 'CONFIRMED')],
    ['a JSON array', [dto(1, 'CONFIRMED')]],
  ])('passes over %s without failing the batch', (_, value) => {
    const p = projectDecisions([record(value), record(dto(5, 'CONFIRMED'))], parseOrderDto);
    expect(p.notOrderDtos).toBe(1);
    expect([...p.decisions.keys()]).toEqual([5]);
  });

  it('keeps the decisions of two orders apart whose 64-bit ids are one double (the original service\'s TSIDs)', () => {
    const text = (id: string, status: string): string => JSON.stringify(dto(1, status)).replace('"orderId":1', `"orderId":${id}`);
    const p = projectDecisions([record(text('910000000000000123', 'CONFIRMED')), record(text('910000000000000124', 'REJECTED'))], parseOrderDto);
    expect([...p.decisions.keys()]).toEqual([910_000_000_000_000_123n, 910_000_000_000_000_124n]);
    expect(p.decisions.get(910_000_000_000_000_123n)?.status).toBe('CONFIRMED');
  });

  it('keeps the last final decision per order, with where it was read', () => {
    const records = [record(dto(1, 'ROLLBACK', 'PAYMENT')), record(dto(2, 'CONFIRMED')), record(dto(1, 'NEW')), record(dto(1, 'REJECTED', 'INVENTORY'))];
    const p = projectDecisions(records, parseOrderDto);
    expect([...p.decisions.values()]).toEqual([
      { orderId: 2, status: 'CONFIRMED', source: null, partition: 0, offset: records[1]!.offset },
      { orderId: 1, status: 'REJECTED', source: 'INVENTORY', partition: 0, offset: records[3]!.offset },
    ]);
    expect(p.notFinal).toBe(1);
  });

  it('carries a source Postgres may refuse unchanged: refusing it is the projector\'s call, not the parser\'s', () => {
    const p = projectDecisions([record(dto(1, 'REJECTED', 'INV\u0000ENTORY'))], parseOrderDto);
    expect(p.decisions.get(1)?.source).toBe('INV\u0000ENTORY');
  });
});
