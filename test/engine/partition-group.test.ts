import { describe, expect, it } from 'vitest';
import { PartitionGroup, type PartitionRecord } from '../../src/engine/partition-group.js';

const PAY = 'payment-orders';
const STOCK = 'stock-orders';

const rec = (topic: string, partition: number, offset: number, timestamp: number): PartitionRecord => ({ topic, partition, offset, timestamp });
const ids = (records: readonly PartitionRecord[]): string[] => records.map((r) => `${r.topic === PAY ? 'p' : 's'}${r.partition}@${r.offset}`);

describe('PartitionGroup', () => {
  it('holds one topic\'s backlog while full polls have not yet shown the other topic, then merges both by timestamp', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    // A backlog: a full poll of payment answers only.
    group.add([rec(PAY, 0, 0, 100), rec(PAY, 0, 1, 110), rec(PAY, 0, 2, 120)]);
    expect(group.take(false)).toEqual([]);
    expect(group.size).toBe(3);
    // The next full poll brings the stock answers of the same orders.
    group.add([rec(STOCK, 0, 0, 101), rec(STOCK, 0, 1, 111)]);
    expect(ids(group.take(false))).toEqual(['p0@0', 's0@0', 'p0@1', 's0@1']);
    // p0@2 (120) is newer than anything stock has shown: it waits for stock or a short poll.
    expect(group.size).toBe(1);
    expect(ids(group.take(true))).toEqual(['p0@2']);
    expect(group.size).toBe(0);
  });

  it('releases everything at once when the poll came back short (steady load: nothing waits)', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 1, 5, 200), rec(PAY, 2, 9, 150)]);
    expect(ids(group.take(true))).toEqual(['p1@5', 'p2@9']);
  });

  it('keeps each partition in offset order even when its timestamps go back', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 0, 300), rec(PAY, 0, 1, 100), rec(STOCK, 0, 0, 200)]);
    expect(ids(group.take(true))).toEqual(['s0@0', 'p0@0', 'p0@1']);
  });

  it('tasks are independent: one task waiting does not hold another back', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 0, 100), rec(PAY, 1, 0, 100), rec(STOCK, 1, 0, 100)]);
    expect(ids(group.take(false))).toEqual(['p1@0', 's1@0']);
    expect(group.size).toBe(1);
  });

  it('remembers what a partition has shown after its queue emptied', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 0, 100), rec(STOCK, 0, 0, 500)]);
    expect(ids(group.take(false))).toEqual(['p0@0']);
    // Stock has shown 500: payment records up to it pass at once; stock's 500 waits for payment to show as much.
    group.add([rec(PAY, 0, 1, 400)]);
    expect(ids(group.take(false))).toEqual(['p0@1']);
    group.add([rec(PAY, 0, 2, 600)]);
    expect(ids(group.take(false))).toEqual(['s0@0']);
  });

  it('past its bound it releases everything, so read-ahead stays bounded', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 3);
    group.add([rec(PAY, 0, 0, 1), rec(PAY, 0, 1, 2), rec(PAY, 0, 2, 3)]);
    expect(group.take(false)).toEqual([]);
    group.add([rec(PAY, 0, 3, 4)]);
    expect(ids(group.take(false))).toEqual(['p0@0', 'p0@1', 'p0@2', 'p0@3']);
    expect(group.size).toBe(0);
  });

  it('drop returns the first held offset (where to rewind) and forgets the partition', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 7, 100), rec(PAY, 0, 8, 110), rec(STOCK, 0, 3, 500)]);
    expect(ids(group.take(false))).toEqual(['p0@7', 'p0@8']);
    group.add([rec(PAY, 0, 9, 900)]);
    expect(group.drop(PAY, 0)).toBe(9);
    expect(group.drop(PAY, 0)).toBeUndefined();
    expect(group.size).toBe(1);
    // Forgotten: what payment had shown no longer lets stock's record pass.
    expect(group.take(false)).toEqual([]);
  });

  it('dropAll gives each partition\'s rewind position and empties the group', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 7, 100), rec(STOCK, 2, 4, 50), rec(STOCK, 2, 5, 60)]);
    expect(group.dropAll()).toEqual([
      { topic: PAY, partition: 0, offset: 7 },
      { topic: STOCK, partition: 2, offset: 4 },
    ]);
    expect(group.size).toBe(0);
    expect(group.take(true)).toEqual([]);
  });

  it('a record without a timestamp sorts first (its task cannot order it)', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 0, 100), { topic: STOCK, partition: 0, offset: 0 }]);
    expect(ids(group.take(true))).toEqual(['s0@0', 'p0@0']);
  });

  it('releases at most the limit per call, the tasks taking turns to go first', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000);
    group.add([rec(PAY, 0, 0, 1), rec(PAY, 0, 1, 2), rec(PAY, 1, 0, 1), rec(PAY, 1, 1, 2)]);
    expect(ids(group.take(true, 3))).toEqual(['p0@0', 'p0@1', 'p1@0']);
    expect(ids(group.take(true, 3))).toEqual(['p1@1']);
    group.add([rec(PAY, 0, 2, 3), rec(PAY, 1, 2, 3)]);
    // The first turn moves on with every call.
    expect(ids(group.take(true, 1))).toEqual(['p0@2']);
    expect(ids(group.take(true, 1))).toEqual(['p1@2']);
  });

  it('a task\'s records wait at most maxIdleMs for its other inputs (an input that never shows anything)', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 1000, 500);
    group.add([rec(PAY, 0, 0, 100)], 1000);
    expect(group.take(false, Infinity, 1499)).toEqual([]);
    expect(ids(group.take(false, Infinity, 1500))).toEqual(['p0@0']);
    // Released: the next record waits afresh.
    group.add([rec(PAY, 0, 1, 200)], 1600);
    expect(group.take(false, Infinity, 1700)).toEqual([]);
    expect(ids(group.take(false, Infinity, 2100))).toEqual(['p0@1']);
  });

  it('under a backlog that never runs out, a record taken is no longer held (memory stays bounded by maxRecords)', async () => {
    // The garbage collector on demand, to see which taken records are still reachable:
    // the unit project's forks run with --expose-gc (vitest.config.ts).
    const { gc } = globalThis;
    if (gc === undefined) throw new Error('this test needs node --expose-gc (the unit project sets it in vitest.config.ts)');
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 5000);
    const early: WeakRef<PartitionRecord>[] = [];
    const offsets = [0, 0, 0];
    // A replay: full polls of one topic only (the other input shows nothing, so the
    // bound releases records), as many taken per step as added: no queue ever empties.
    for (let step = 0; step < 300; step++) {
      const poll: PartitionRecord[] = [];
      for (let i = 0; i < 1000; i++) {
        const partition = i % 3;
        poll.push(rec(PAY, partition, offsets[partition]!++, step));
      }
      group.add(poll);
      const taken = group.take(false, 1000);
      if (step > 10 && step <= 20) for (const r of taken) early.push(new WeakRef(r));
    }
    expect(group.size).toBeLessThanOrEqual(6000);
    expect(early).toHaveLength(10_000);
    // WeakRefs hold their target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(early.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });

  it('tells how many records each partition holds, and which run ahead of another input of their task still being read (for the loop\'s flow control)', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 100_000, 500);
    group.add(Array.from({ length: 30 }, (_, i) => rec(PAY, 1, i, 100 + i)), 1000);
    group.add(Array.from({ length: 5 }, (_, i) => rec(STOCK, 1, i, 50 + i)), 1000);
    group.add(Array.from({ length: 12 }, (_, i) => rec(PAY, 2, i, 100 + i)), 1000);
    expect([group.sizeOf(PAY, 1), group.sizeOf(STOCK, 1), group.sizeOf(PAY, 2), group.sizeOf(STOCK, 2), group.sizeOf(PAY, 9)]).toEqual([30, 5, 12, 0, 0]);
    // Task 2's payments are many, but its stock input has shown nothing: not listed.
    expect(group.aheadOf(10, 1000)).toEqual([{ topic: PAY, partition: 1 }]);
    expect(group.aheadOf(30, 1000)).toEqual([]);
    // Task 1's records up to its stock answers' latest time (54) are released: the 5
    // stock answers. Its stock queue is empty, but records came for it within the idle
    // time: still being read, so the payments are still ahead of it.
    expect(ids(group.take(false, Infinity, 1100))).toEqual(['s1@0', 's1@1', 's1@2', 's1@3', 's1@4']);
    expect(group.sizeOf(PAY, 1)).toBe(30);
    expect(group.aheadOf(10, 1400)).toEqual([{ topic: PAY, partition: 1 }]);
    // Nothing more for it within the idle time: caught up, or empty.
    expect(group.aheadOf(10, 1500)).toEqual([]);
    group.add([rec(STOCK, 1, 5, 60)], 1600);
    expect(group.aheadOf(10, 1600)).toEqual([{ topic: PAY, partition: 1 }]);
    group.add([rec(STOCK, 2, 0, 90)], 1600);
    expect(group.aheadOf(10, 1600)).toEqual([
      { topic: PAY, partition: 1 },
      { topic: PAY, partition: 2 },
    ]);
    group.drop(PAY, 2);
    group.drop(PAY, 1);
    expect(group.aheadOf(0, 1600)).toEqual([]);
  });

  it('counts the records released because the bound was reached, not those released by time or by a short poll', () => {
    const group = new PartitionGroup<PartitionRecord>([PAY, STOCK], 10);
    group.add(Array.from({ length: 8 }, (_, i) => rec(PAY, 0, i, 100 + i)));
    expect(group.take(false)).toEqual([]);
    group.add(Array.from({ length: 7 }, (_, i) => rec(PAY, 0, 8 + i, 108 + i)));
    expect(group.take(false, 4)).toHaveLength(4);
    expect(group.releasedPastBound).toBe(4);
    // 11 held: still past the bound.
    expect(group.take(false, 4)).toHaveLength(4);
    expect(group.releasedPastBound).toBe(8);
    // 7 held, within the bound: a short poll releases them, which is not counted.
    expect(group.take(true)).toHaveLength(7);
    expect(group.releasedPastBound).toBe(8);
  });
});
