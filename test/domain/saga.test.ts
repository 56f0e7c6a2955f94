import { describe, expect, it } from 'vitest';
import type { OrderDto } from '../../src/domain/order-dto.js';
import { decide } from '../../src/domain/saga.js';

// P and S differ in every field but the id, so a field taken from the wrong side shows.
function payment(status: string): OrderDto {
  return Object.freeze({
    orderId: 7_000_000_000_001,
    customerId: 1,
    status,
    source: 'PAYMENT',
    items: Object.freeze([Object.freeze({ itemId: 1, productId: 'FROM-P', quantity: 9, productPrice: 99.99 })]),
  });
}

function stock(status: string): OrderDto {
  return Object.freeze({
    orderId: 7_000_000_000_001,
    customerId: 42,
    status,
    source: 'INVENTORY',
    items: Object.freeze([
      Object.freeze({ itemId: 11, productId: 'P1', quantity: 2, productPrice: 10.5 }),
      Object.freeze({ itemId: 12, productId: 'P2', quantity: 1, productPrice: 3 }),
    ]),
  });
}

const statuses = ['ACCEPT', 'REJECT', 'NEW', 'CONFIRMED', 'REJECTED', 'ROLLBACK', 'FAILED', ''] as const;

// Rows: P's status; columns: S's status, in the order of `statuses`.
// "=" is S unchanged; "X/src" is status X with source src ("-" for null).
const R_I = 'ROLLBACK/INVENTORY';
const R_P = 'ROLLBACK/PAYMENT';
const expected: Record<(typeof statuses)[number], readonly string[]> = {
  //         ACCEPT         REJECT                NEW  CONFIRMED REJECTED ROLLBACK FAILED ''
  ACCEPT: ['CONFIRMED/-', R_I, '=', '=', '=', '=', '=', '='],
  REJECT: [R_P, 'REJECTED/INVENTORY', R_P, R_P, R_P, R_P, R_P, R_P],
  NEW: ['=', R_I, '=', '=', '=', '=', '=', '='],
  CONFIRMED: ['=', R_I, '=', '=', '=', '=', '=', '='],
  REJECTED: ['=', R_I, '=', '=', '=', '=', '=', '='],
  ROLLBACK: ['=', R_I, '=', '=', '=', '=', '=', '='],
  FAILED: ['=', R_I, '=', '=', '=', '=', '=', '='],
  '': ['=', R_I, '=', '=', '=', '=', '=', '='],
};

const cases = statuses.flatMap((p) => statuses.map((s, i) => ({ p, s, outcome: expected[p][i]! })));

describe('decide (the saga join rule)', () => {
  it.each(cases)('P=$p S=$s → $outcome', ({ p, s, outcome }) => {
    const S = stock(s);
    const result = decide(payment(p), S);
    if (outcome === '=') {
      expect(result).toEqual(S);
      return;
    }
    const [status, source] = outcome.split('/');
    expect(result).toEqual({ ...S, status, source: source === '-' ? null : source });
  });

  it('takes every field but status and source from the stock record', () => {
    const result = decide(payment('ACCEPT'), stock('ACCEPT'));
    expect(result.customerId).toBe(42);
    expect(result.items).toEqual(stock('ACCEPT').items);
    expect(Object.keys(result)).toEqual(['orderId', 'customerId', 'status', 'source', 'items']);
  });

  it('keeps the stock source on REJECTED, whatever it is', () => {
    const S = { ...stock('REJECT'), source: null };
    expect(decide(payment('REJECT'), S)).toEqual({ ...S, status: 'REJECTED', source: null });
  });

  it('leaves both inputs untouched (they are frozen here, so a write would throw)', () => {
    const P = payment('REJECT');
    const S = stock('ACCEPT');
    decide(P, S);
    expect(P.status).toBe('REJECT');
    expect(S.status).toBe('ACCEPT');
  });
});
