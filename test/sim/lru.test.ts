// touchLru: the bounded LRU the simulators' ledgers keep their accounts and stock in.
import { describe, expect, it } from 'vitest';
import { touchLru } from '../../src/sim/lru.js';

describe('touchLru', () => {
  it('creates an absent entry once and returns the same one on later touches', () => {
    const map = new Map<string, { n: number }>();
    let created = 0;
    const a = touchLru(map, 'a', 10, () => ({ n: ++created }));
    a.n = 42;
    expect(touchLru(map, 'a', 10, () => ({ n: ++created }))).toBe(a);
    expect(created).toBe(1);
    expect(map.get('a')).toEqual({ n: 42 });
  });

  it('evicts the least recently touched entry when full, not the oldest inserted', () => {
    const map = new Map<string, number>();
    for (const k of ['a', 'b', 'c']) touchLru(map, k, 3, () => 0);
    touchLru(map, 'a', 3, () => 0); // a is now the most recent; b the least
    touchLru(map, 'd', 3, () => 0);
    expect([...map.keys()]).toEqual(['c', 'a', 'd']);
  });

  it('never holds more than max entries', () => {
    const map = new Map<number, number>();
    for (let i = 0; i < 100; i++) touchLru(map, i, 7, () => i);
    expect(map.size).toBe(7);
    expect([...map.keys()]).toEqual([93, 94, 95, 96, 97, 98, 99]);
  });
});
