import { describe, expect, it } from 'vitest';
import { assignThread, groupByPartition } from '../../src/engine/thread-assignment.js';

describe('assignThread', () => {
  it.each([
    { load: [0], thread: 0 },
    { load: [0, 0], thread: 0 },
    { load: [1, 0], thread: 1 },
    { load: [0, 1], thread: 0 },
    { load: [2, 1, 1], thread: 1 },
    { load: [3, 3, 2, 2], thread: 2 },
    { load: [5, 4, 3, 2, 1, 0], thread: 5 },
    { load: [1, 0, 1, 0], thread: 1 },
  ])('picks the least-loaded thread, the lowest index on a tie: $load → $thread', ({ load, thread }) => {
    expect(assignThread(load)).toBe(thread);
  });

  it.each([
    { threads: 2, partitions: 6, counts: [3, 3], order: [0, 1, 0, 1, 0, 1] },
    { threads: 3, partitions: 7, counts: [3, 2, 2], order: [0, 1, 2, 0, 1, 2, 0] },
    { threads: 4, partitions: 3, counts: [1, 1, 1, 0], order: [0, 1, 2] },
  ])('spreads $partitions partitions assigned one by one evenly over $threads threads', ({ threads, partitions, counts, order }) => {
    const load = Array.from({ length: threads }, () => 0);
    const picked: number[] = [];
    for (let p = 0; p < partitions; p++) {
      const t = assignThread(load);
      picked.push(t);
      load[t]!++;
    }
    expect(load).toEqual(counts);
    expect(picked).toEqual(order);
  });
});

describe('groupByPartition', () => {
  it('keeps the order of the records within each partition', () => {
    const records = [
      { partition: 2, n: 1 },
      { partition: 0, n: 2 },
      { partition: 2, n: 3 },
      { partition: 1, n: 4 },
      { partition: 0, n: 5 },
      { partition: 2, n: 6 },
    ];
    const groups = groupByPartition(records);
    expect([...groups.keys()].sort()).toEqual([0, 1, 2]);
    expect(groups.get(0)!.map((r) => r.n)).toEqual([2, 5]);
    expect(groups.get(1)!.map((r) => r.n)).toEqual([4]);
    expect(groups.get(2)!.map((r) => r.n)).toEqual([1, 3, 6]);
  });

  it('keeps every record, each once, and the records themselves (no copies)', () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ partition: (i * 7) % 5, n: i }));
    const groups = groupByPartition(records);
    const all = [...groups.values()].flat();
    expect(all).toHaveLength(records.length);
    expect(new Set(all)).toEqual(new Set(records));
    for (const [p, list] of groups) {
      expect(list.every((r) => r.partition === p)).toBe(true);
      expect(list.map((r) => r.n)).toEqual([...list.map((r) => r.n)].sort((a, b) => a - b));
    }
  });

  it('gives an empty map for no records', () => {
    expect(groupByPartition([]).size).toBe(0);
  });
});
