import { describe, expect, it } from 'vitest';
import { type JoinEntry, type JoinSide, JoinWindow, joinStoreKey, parseJoinStoreKey } from '../../src/stream/join-window.js';

const entry = (orderId: string, side: JoinSide, timestamp: number, offset = 0): JoinEntry => ({
  orderId,
  side,
  timestamp,
  offset,
  value: Buffer.from(`${orderId}${side}${timestamp}`),
});

const label = (e: JoinEntry): string => `${e.orderId}${e.side}@${e.timestamp}`;

describe('joinStoreKey / parseJoinStoreKey', () => {
  it.each([
    { orderId: '1', side: 'P' as const, timestamp: 0, offset: 0, key: '1|P|000000000000000|0' },
    { orderId: '42', side: 'S' as const, timestamp: 5, offset: 12, key: '42|S|000000000000005|12' },
    { orderId: '7000000000001', side: 'P' as const, timestamp: 1_700_000_000_123, offset: 3, key: '7000000000001|P|001700000000123|3' },
    { orderId: '9007199254740991', side: 'S' as const, timestamp: 999_999_999_999_999, offset: 2 ** 40, key: `9007199254740991|S|999999999999999|${2 ** 40}` },
  ])('writes $key and reads it back', ({ orderId, side, timestamp, offset, key }) => {
    expect(joinStoreKey({ orderId, side, timestamp, offset })).toBe(key);
    expect(parseJoinStoreKey(key)).toEqual({ orderId, side, timestamp, offset });
  });

  it('keeps two answers of one side at one time apart by their offsets', () => {
    expect(joinStoreKey({ orderId: '9', side: 'P', timestamp: 5, offset: 1 })).not.toBe(joinStoreKey({ orderId: '9', side: 'P', timestamp: 5, offset: 2 }));
  });

  it('round-trips every side and many timestamps', () => {
    for (const side of ['P', 'S'] as const) {
      for (let t = 1; t < 1e15; t = t * 7 + 3) {
        const k = { orderId: String(t % 1000), side, timestamp: t, offset: t % 97 };
        expect(parseJoinStoreKey(joinStoreKey(k))).toEqual(k);
      }
    }
  });

  it('sorts the keys of one order and side by time (zero-padded), not as text', () => {
    const times = [10, 9, 100, 1_700_000_000_000, 0, 99, 1_000, 5];
    const keys = times.map((timestamp) => joinStoreKey({ orderId: '77', side: 'P', timestamp, offset: 0 }));
    const byKey = [...keys].sort().map((k) => parseJoinStoreKey(k)!.timestamp);
    expect(byKey).toEqual([...times].sort((a, b) => a - b));
  });

  it('groups the keys of one order by side (P before S) and each side by time', () => {
    const entries = [entry('5', 'S', 20), entry('5', 'P', 30), entry('5', 'S', 3), entry('5', 'P', 1)];
    const sorted = entries.map(joinStoreKey).sort().map((k) => parseJoinStoreKey(k)!);
    expect(sorted.map((k) => `${k.side}${k.timestamp}`)).toEqual(['P1', 'P30', 'S3', 'S20']);
  });

  it.each(['', 'abc', '1|X|000000000000001|0', '1|P', '1|P|000000000000001', '1|p|000000000000001|0'])('refuses a key it did not write: %j', (key) => {
    expect(parseJoinStoreKey(key)).toBeUndefined();
  });
});

describe('JoinWindow.matches', () => {
  const windowMs = 100;
  // One payment of order 7 at t=1000; a second order and a same-side entry around it
  // must never come back.
  function window(): JoinWindow {
    const w = new JoinWindow();
    w.add(entry('7', 'P', 1000));
    w.add(entry('70', 'P', 1000));
    w.add(entry('8', 'P', 1000));
    return w;
  }

  it.each([
    { name: 'same time', orderId: '7', side: 'S' as const, t: 1000, joins: true },
    { name: 'exactly windowMs later', orderId: '7', side: 'S' as const, t: 1100, joins: true },
    { name: 'exactly windowMs earlier', orderId: '7', side: 'S' as const, t: 900, joins: true },
    { name: 'windowMs + 1 later', orderId: '7', side: 'S' as const, t: 1101, joins: false },
    { name: 'windowMs + 1 earlier', orderId: '7', side: 'S' as const, t: 899, joins: false },
    { name: 'the same side', orderId: '7', side: 'P' as const, t: 1000, joins: false },
    { name: 'another order', orderId: '9', side: 'S' as const, t: 1000, joins: false },
    { name: 'an order whose id extends another', orderId: '70', side: 'S' as const, t: 1000, joins: true },
  ])('$name: joins=$joins', ({ orderId, side, t, joins }) => {
    const found = window().matches(orderId, side, t, windowMs);
    if (!joins) {
      expect(found).toEqual([]);
      return;
    }
    expect(found).toHaveLength(1);
    expect(found[0]!.orderId).toBe(orderId);
    expect(found[0]!.side).not.toBe(side);
  });

  it('returns every other-side entry of the order in the window, in arrival order, and keeps them', () => {
    const w = new JoinWindow();
    const a = entry('1', 'P', 10);
    const b = entry('1', 'P', 20);
    const tooOld = entry('1', 'P', 1);
    w.add(tooOld);
    w.add(a);
    w.add(entry('1', 'S', 15));
    w.add(b);
    expect(w.matches('1', 'S', 25, 15)).toEqual([a, b]);
    // Looking does not consume: the same entries join the next record too.
    expect(w.matches('1', 'S', 25, 15)).toEqual([a, b]);
    expect(w.size).toBe(4);
  });

  it('finds nothing in an empty window', () => {
    expect(new JoinWindow().matches('1', 'P', 0, 1_000)).toEqual([]);
  });
});

describe('JoinWindow.expire', () => {
  const everything = Number.MAX_SAFE_INTEGER;
  const W = 10;
  /** An entry that entered the window at wall-clock `addedAt`. */
  const at = (e: JoinEntry, addedAt: number): JoinEntry => ({ ...e, addedAt });

  it('removes exactly the entries the other side has been read past by more than the window, from the fifo and the per-order index, and returns them', () => {
    const w = new JoinWindow();
    const all = [entry('1', 'P', 10), entry('2', 'S', 20), entry('1', 'S', 29), entry('2', 'P', 30), entry('3', 'P', 40)];
    for (const e of all) w.add(e);
    expect(w.size).toBe(5);
    expect([w.sideTime('P'), w.sideTime('S')]).toEqual([40, 29]);

    // P entries go below S's time less the window (19), S entries below P's (30).
    const expired = w.expire(W);
    expect(expired).toEqual(all.slice(0, 3));
    expect(expired[0]).toBe(all[0]);
    expect(w.size).toBe(2);
    // Order 1 is gone entirely; order 2 keeps only its payment answer.
    expect(w.matches('1', 'P', 0, everything)).toEqual([]);
    expect(w.matches('1', 'S', 0, everything)).toEqual([]);
    expect(w.matches('2', 'S', 0, everything)).toEqual([all[3]]);
    expect(w.matches('2', 'P', 0, everything)).toEqual([]);
    expect(w.matches('3', 'S', 0, everything)).toEqual([all[4]]);
  });

  it('keeps an entry the other side has reached exactly the window past (strictly older only)', () => {
    const w = new JoinWindow();
    w.add(entry('1', 'P', 100));
    w.add(entry('2', 'S', 110));
    expect(w.expire(W)).toEqual([]);
    w.add(entry('3', 'S', 111));
    expect(w.expire(W).map(label)).toEqual(['1P@100']);
    expect(w.size).toBe(2);
  });

  // Regression: while a broker was away, or in the backlog after a restart, one input
  // went on and the other did not; expiring by one stream time over both inputs removed
  // answers whose partners were still to come on the stalled input.
  it('keeps an entry while its other side has not been read past it, however far its own side has gone', () => {
    const w = new JoinWindow();
    w.add(entry('1', 'P', 0));
    for (let t = 1_000; t <= 100_000; t += 1_000) w.add(entry(String(t), 'P', t));
    expect(w.expire(W)).toEqual([]);
    w.add(entry('1', 'S', 5)); // the stalled input comes back with the partner
    expect(w.matches('1', 'P', 5, W).map(label)).toEqual(['1S@5']);
    expect(w.expire(W)).toEqual([]);
    w.add(entry('x', 'S', 11));
    expect(w.expire(W).map(label)).toEqual(['1P@0']);
  });

  it('keeps an entry a window of wall clock after it entered (addedBefore), even when the other side has passed it', () => {
    const w = new JoinWindow();
    w.add(at(entry('1', 'P', 0), 500));
    w.add(at(entry('2', 'S', 100), 500));
    expect(w.expire(W, 500)).toEqual([]);
    expect(w.expire(W, 501).map(label)).toEqual(['1P@0']);
  });

  it('drops an entry whose other side never comes once it entered before forcedBefore, which bounds the memory', () => {
    const w = new JoinWindow();
    w.add(at(entry('1', 'P', 0), 100));
    w.add(at(entry('2', 'P', 1), 200));
    expect(w.expire(W, everything, 100)).toEqual([]);
    expect(w.expire(W, everything, 101).map(label)).toEqual(['1P@0']);
    expect(w.expire(W, everything, 201).map(label)).toEqual(['2P@1']);
    expect(w.size).toBe(0);
  });

  it('returns each expired entry once', () => {
    const w = new JoinWindow();
    w.add(entry('1', 'P', 1));
    w.add(entry('1', 'S', 2));
    w.add(entry('2', 'P', 100));
    w.add(entry('2', 'S', 100));
    expect(w.expire(W)).toHaveLength(2);
    expect(w.expire(W)).toEqual([]);
    expect(w.size).toBe(2);
  });

  it('expires an entry that arrived late (behind a newer one) once the other side has passed both', () => {
    const w = new JoinWindow();
    w.add(entry('1', 'P', 100));
    w.add(entry('2', 'P', 50));
    w.add(entry('x', 'S', 70));
    expect(w.expire(W)).toEqual([]); // 2P@50 could go, but waits behind 1P@100
    w.add(entry('y', 'S', 111));
    const expired = w.expire(W);
    // xS@70 was due (P's time is 100) but waited too; yS@111 stays.
    expect(expired.map(label)).toEqual(['1P@100', '2P@50', 'xS@70']);
    expect(w.matches('2', 'S', 50, everything)).toEqual([]);
  });

  it('accepts new entries after expiring everything, and forgets how far each side was read on clear()', () => {
    const w = new JoinWindow();
    w.add(at(entry('1', 'P', 1), 0));
    w.expire(W, everything, 1);
    const again = entry('1', 'P', 5);
    w.add(again);
    expect(w.size).toBe(1);
    expect(w.matches('1', 'S', 5, 0)).toEqual([again]);
    w.add(entry('2', 'S', 50));
    w.clear();
    expect([w.sideTime('P'), w.sideTime('S')]).toEqual([0, 0]);
  });

  it('expires 10k entries in arrival order in steps, and keeps working after the fifo compacts', () => {
    const w = new JoinWindow();
    const n = 10_000;
    const entries = Array.from({ length: n }, (_, i) => at(entry(String(i % 97), i % 2 === 0 ? 'P' : 'S', i), i));
    for (const e of entries) w.add(e);
    expect(w.size).toBe(n);

    for (let cutoff = 1_000; cutoff <= n; cutoff += 1_000) {
      // Wall clock as the bound: the entries that entered before the cutoff go.
      const expired = w.expire(0, Number.NEGATIVE_INFINITY, cutoff);
      expect(expired).toHaveLength(1_000);
      expect(expired[0]).toBe(entries[cutoff - 1_000]);
      expect(expired.every((e, i) => e === entries[cutoff - 1_000 + i])).toBe(true);
      expect(w.size).toBe(n - cutoff);
      // Nothing expired is still joinable; everything left still is.
      const left = entries.slice(cutoff, cutoff + 3);
      for (const e of left) expect(w.matches(e.orderId, e.side === 'P' ? 'S' : 'P', e.timestamp, 0)).toEqual([e]);
      expect(w.matches(String((cutoff - 1) % 97), 'P', cutoff - 1, 0)).toEqual([]);
      expect(w.matches(String((cutoff - 1) % 97), 'S', cutoff - 1, 0)).toEqual([]);
    }
    expect(w.size).toBe(0);

    // After the compaction the window behaves as a fresh one.
    const later = Array.from({ length: 10 }, (_, i) => at(entry(String(i % 3), 'P', n + i), n + i));
    for (const e of later) w.add(e);
    expect(w.size).toBe(10);
    expect(w.matches('0', 'S', n, everything)).toEqual(later.filter((e) => e.orderId === '0'));
    expect(w.expire(0, Number.NEGATIVE_INFINITY, n + 5)).toEqual(later.slice(0, 5));
    expect(w.size).toBe(5);
    expect(w.expire(0, Number.NEGATIVE_INFINITY, n + 10)).toEqual(later.slice(5));
    expect(w.size).toBe(0);
  });
});

describe('JoinWindow.size', () => {
  it('counts entries added and not yet expired', () => {
    const w = new JoinWindow();
    expect(w.size).toBe(0);
    for (let i = 0; i < 5; i++) w.add(entry('1', 'P', i));
    expect(w.size).toBe(5);
    w.add(entry('2', 'S', 12));
    w.expire(10);
    expect(w.size).toBe(4);
  });
});
