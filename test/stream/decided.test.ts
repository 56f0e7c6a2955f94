import { describe, expect, it } from 'vitest';
import { isCreation, isDecided } from '../../src/stream/decided.js';

const dto = (status: string): Uint8Array => new TextEncoder().encode(JSON.stringify({ orderId: 1, customerId: 2, status, source: null, items: [] }));

describe('isDecided', () => {
  it.each(['CONFIRMED', 'REJECTED', 'ROLLBACK'])('%s is a decision', (status) => expect(isDecided(dto(status))).toBe(true));
  it.each(['NEW', 'ACCEPT', 'REJECT', ''])('%s is not', (status) => expect(isDecided(dto(status))).toBe(false));
  it('a value without a status is not', () => expect(isDecided(new TextEncoder().encode('{"orderId":1}'))).toBe(false));
});

describe('isCreation', () => {
  it('NEW is a creation, a decision is not', () => {
    expect(isCreation(dto('NEW'))).toBe(true);
    expect(isCreation(dto('CONFIRMED'))).toBe(false);
  });
});
