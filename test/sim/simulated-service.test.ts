import { describe, expect, it } from 'vitest';
import { INVENTORY_SALT } from '../../src/sim/inventory.js';
import { PAYMENT_SALT } from '../../src/sim/payment.js';
import { RecentIds } from '../../src/sim/recent-ids.js';
import { simulatedShortage } from '../../src/sim/simulated-service.js';

// Order ids as the service makes them: time-sortable, so consecutive ids are close.
const ids = Array.from({ length: 200_000 }, (_, i) => 7_300_000_000_000 + i * 17);

describe('simulatedShortage (the configurable reject share)', () => {
  it.each([0, 0.01, 0.1, 0.5, 0.9, 1])('selects a share of %s of consecutive ids on each side', (rate) => {
    for (const salt of [PAYMENT_SALT, INVENTORY_SALT]) {
      const share = ids.filter((id) => simulatedShortage(id, salt, rate)).length / ids.length;
      expect(Math.abs(share - rate)).toBeLessThan(0.005);
    }
  });

  it('selects none at rate 0 and all at rate 1', () => {
    expect(ids.some((id) => simulatedShortage(id, PAYMENT_SALT, 0))).toBe(false);
    expect(ids.every((id) => simulatedShortage(id, PAYMENT_SALT, 1))).toBe(true);
  });

  it('selects independently per side: both reject about rate² of the orders', () => {
    const both = ids.filter((id) => simulatedShortage(id, PAYMENT_SALT, 0.1) && simulatedShortage(id, INVENTORY_SALT, 0.1)).length / ids.length;
    expect(Math.abs(both - 0.01)).toBeLessThan(0.002);
  });

  it('gives a redelivered order the same answer', () => {
    for (const id of ids.slice(0, 1000)) expect(simulatedShortage(id, PAYMENT_SALT, 0.3)).toBe(simulatedShortage(id, PAYMENT_SALT, 0.3));
  });
});

describe('RecentIds', () => {
  it('remembers the last `capacity` ids and forgets older ones first', () => {
    const recent = new RecentIds(3);
    for (const id of [1, 2, 3, 2, 4]) recent.add(id);
    expect([1, 2, 3, 4].map((id) => recent.has(id))).toEqual([false, true, true, true]);
    expect(recent.size).toBe(3);
  });

  it('stays bounded over a long run', () => {
    const recent = new RecentIds(1000);
    for (let id = 0; id < 100_000; id++) recent.add(id);
    expect(recent.size).toBe(1000);
    expect(recent.has(99_000)).toBe(true);
    expect(recent.has(98_999)).toBe(false);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentIds(0)).toThrow(RangeError);
  });
});
