// The multi-instance fault tests bound and report these figures; a wrong one would
// pass a group whose moved tasks never came back, or fail a healthy one.
import { describe, expect, it } from 'vitest';
import { decisionsBack, doubleServed, movedPartitions, newOwnerServing, ownersAt, storeGaps, streamsDownSpans, worst, type StoreAnswer, type WatchSample } from './cluster-figures.js';

const S = 'serving';
const N = 'not-owned';
const R = 'not-ready';
const U = 'unreachable';
const sample = (at: number, instance: string, store: StoreAnswer[], streams: WatchSample['streams'] = 'UP'): WatchSample => ({ at, instance, streams, store });

// Two partitions, two instances: a serves 0, b serves 1; at 10 s a dies, b rebalances
// (not ready) until 14 s, then serves both.
const samples: WatchSample[] = [
  sample(0, 'a', [S, N]),
  sample(0, 'b', [N, S]),
  sample(10_000, 'a', [U, U], 'unreachable'),
  sample(11_000, 'b', [R, R], 'DOWN'),
  sample(14_000, 'b', [S, S]),
];

describe('cluster figures', () => {
  it('finds the serving instances at a moment by their latest samples', () => {
    expect(ownersAt(samples, 5000, 2).map((s) => [...s])).toEqual([['a'], ['b']]);
    expect(ownersAt(samples, 12_000, 2).map((s) => [...s])).toEqual([[], []]);
    expect(ownersAt(samples, 15_000, 2).map((s) => [...s])).toEqual([['b'], ['b']]);
  });

  it('counts a partition as moved when another instance served it, not while nobody did', () => {
    expect(movedPartitions(samples, 5000, 13_000, 2)).toEqual([]);
    expect(movedPartitions(samples, 5000, 20_000, 2)).toEqual([0]);
    // Moved away and back by the interval's end still moved.
    const back = [...samples, sample(16_000, 'a', [S, N]), sample(16_000, 'b', [N, S])];
    expect(movedPartitions(back, 5000, 20_000, 2)).toEqual([0]);
    // A fault that begins during a rebalance compares with the owners before it.
    expect(movedPartitions(back, 12_000, 15_000, 2)).toEqual([0]);
    expect(movedPartitions(back, 12_000, 13_000, 2)).toEqual([]);
  });

  it('times a moved partition until its new owner serves it', () => {
    // b takes partition 0 at 14 s: 9 s after a fault at 5 s; partition 1 never changed owner.
    expect(newOwnerServing(samples, 5000, 20_000, 2)).toEqual([9000, undefined]);
    expect(newOwnerServing(samples, 5000, 13_000, 2)).toEqual([undefined, undefined]);
  });

  it('measures the longest time no instance served each partition', () => {
    // Partition 0: unserved from a's death (10 s) to 14 s; partition 1: from b's not-ready sample (11 s) to 14 s.
    expect(storeGaps(samples, 5000, 20_000, 2)).toEqual([4000, 3000]);
    // A gap still open at the interval's end counts to its end; one open at its start counts from its start.
    expect(storeGaps(samples, 5000, 12_000, 2)).toEqual([2000, 1000]);
    expect(storeGaps(samples, 12_000, 20_000, 2)).toEqual([2000, 2000]);
  });

  it('finds readiness DOWN spans of answering instances, not of unreachable ones', () => {
    expect(streamsDownSpans(samples, 0, 20_000)).toEqual([{ instance: 'b', start: 11_000, end: 14_000 }]);
    expect(streamsDownSpans(samples, 15_000, 20_000)).toEqual([]);
  });

  it('counts moments when two instances answered for one partition', () => {
    const zombie = [sample(0, 'a', [S]), sample(0, 'b', [N]), sample(1000, 'b', [S]), sample(2000, 'a', [N])];
    expect(doubleServed(zombie, 0, 3000, 1)).toBe(1);
  });

  it('times decisions back per partition from the fault\'s start, for orders POSTed since', () => {
    const orders = [
      { id: 'old', sentAt: 900 },
      { id: 'p0', sentAt: 1000 },
      { id: 'p1', sentAt: 1500 },
      { id: 'late', sentAt: 1600 },
    ];
    const decided = new Map([
      ['old', 1100],
      ['p0', 4000],
      ['p1', 2500],
      ['late', 9000],
    ]);
    const partitionOf = (id: string): number => (id === 'p1' || id === 'late' ? 1 : 0);
    expect(decisionsBack(orders, decided, partitionOf, 1000, 8000, 3)).toEqual([3000, 1500, undefined]);
    expect(worst([3000, 1500, undefined])).toBe('never');
    expect(worst([3000, 1500, undefined], [0, 1])).toBe(3000);
    expect(worst([3000], [])).toBeUndefined();
  });
});
