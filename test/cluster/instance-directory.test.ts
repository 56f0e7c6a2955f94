// The instance directory's pure logic: the latest record per instance, liveness by a
// TTL measured against our own heartbeat's round trip, and change detection.
import { describe, expect, it } from 'vitest';
import { InstanceDirectory } from '../../src/cluster/instance-directory.js';
import type { InstanceRecord } from '../../src/cluster/instance-record.js';

const TTL = 6000;
const SELF = 'self';
const SELF_INCARNATION = 'self-now';

const record = (instanceId: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId,
  incarnation: `${instanceId}-1`,
  endpoint: `${instanceId}:18282`,
  state: 'RUNNING',
  running: [0],
  restoring: [],
  standby: [],
  seq: 0,
  timestamp: 1000,
  ...over,
});

const directory = (): InstanceDirectory => new InstanceDirectory({ selfId: SELF, selfIncarnation: SELF_INCARNATION, ttlMs: TTL });
const ids = (records: readonly InstanceRecord[]): string[] => records.map((r) => r.instanceId);

describe('InstanceDirectory: the latest record per instance', () => {
  it('keeps the record with the highest seq of an incarnation, whatever order they arrive in', () => {
    const d = directory();
    d.apply('a', record('a', { seq: 2, running: [2] }), 0);
    d.apply('a', record('a', { seq: 1, running: [1] }), 10); // a late duplicate of an older one
    d.apply('a', record('a', { seq: 2, running: [9] }), 10); // the same seq again: not newer
    expect(d.live(20)).toEqual([record('a', { seq: 2, running: [2] })]);
    d.apply('a', record('a', { seq: 3, running: [3] }), 30);
    expect(d.live(40)[0]!.running).toEqual([3]);
  });

  it('takes a new incarnation\'s record even with a lower seq (a restarted instance starts at 0)', () => {
    const d = directory();
    d.apply('a', record('a', { seq: 500, running: [1] }), 0);
    d.apply('a', record('a', { incarnation: 'a-2', seq: 0, running: [4] }), 10);
    expect(d.live(20)).toEqual([record('a', { incarnation: 'a-2', seq: 0, running: [4] })]);
  });

  it('forgets an instance at its tombstone', () => {
    const d = directory();
    d.apply('a', record('a'), 0);
    d.apply('b', record('b'), 0);
    d.apply('a', null, 10);
    expect(ids(d.live(20))).toEqual(['b']);
    // A record after the tombstone (the instance came back) counts again.
    d.apply('a', record('a', { incarnation: 'a-2' }), 30);
    expect(ids(d.live(40))).toEqual(['a', 'b']);
  });

  it('lists live instances ordered by id, ours included', () => {
    const d = directory();
    for (const id of ['c', SELF, 'a']) d.apply(id, record(id, id === SELF ? { incarnation: SELF_INCARNATION } : {}), 0);
    expect(ids(d.live(1))).toEqual(['a', 'c', SELF]);
  });
});

describe('InstanceDirectory: liveness', () => {
  it.each([
    { age: 0, live: true },
    { age: TTL - 1, live: true },
    { age: TTL, live: true },
    { age: TTL + 1, live: false },
  ])('before our own record is back, an entry last seen $age ms ago is live: $live (the clock is the reference)', ({ age, live }) => {
    const d = directory();
    d.apply('a', record('a'), 1000);
    expect(ids(d.live(1000 + age))).toEqual(live ? ['a'] : []);
  });

  it('measures age against our own latest round trip: while our heartbeats do not come back, nobody expires', () => {
    const d = directory();
    d.apply(SELF, record(SELF, { incarnation: SELF_INCARNATION }), 1000);
    d.apply('a', record('a'), 1000);
    // Long after, our own record has not come back either (the broker is unreachable
    // from here): the silence says nothing about `a`.
    expect(ids(d.live(1000 + 10 * TTL))).toEqual(['a', SELF]);
    // Our heartbeat comes back; `a`'s did not: now it is dead.
    d.apply(SELF, record(SELF, { incarnation: SELF_INCARNATION, seq: 1 }), 1000 + TTL + 1);
    expect(ids(d.live(1000 + 10 * TTL))).toEqual([SELF]);
  });

  it('does not take our predecessor\'s record (same id, another incarnation) as our round trip', () => {
    const d = directory();
    d.apply(SELF, record(SELF, { incarnation: 'self-before-restart' }), 1000);
    d.apply('a', record('a'), 1000);
    // The clock is the reference: both are old.
    expect(ids(d.live(1000 + TTL + 1))).toEqual([]);
  });

  it('an entry refreshed within the TTL stays live', () => {
    const d = directory();
    d.apply(SELF, record(SELF, { incarnation: SELF_INCARNATION }), 0);
    d.apply('a', record('a'), 0);
    for (let t = 2000; t <= 60_000; t += 2000) {
      d.apply(SELF, record(SELF, { incarnation: SELF_INCARNATION, seq: t }), t);
      d.apply('a', record('a', { seq: t }), t);
      expect(ids(d.live(t + 1000))).toEqual(['a', SELF]);
    }
  });
});

describe('InstanceDirectory.liveIfChanged', () => {
  it('reports a change of what routing depends on, not a heartbeat that only moves seq and timestamp', () => {
    const d = directory();
    expect(d.liveIfChanged(0)).toBeUndefined(); // empty, as at construction
    d.apply('a', record('a'), 0);
    expect(ids(d.liveIfChanged(0)!)).toEqual(['a']);
    d.apply('a', record('a', { seq: 1, timestamp: 3000 }), 2000);
    expect(d.liveIfChanged(2000)).toBeUndefined();
    d.apply('a', record('a', { seq: 2, running: [0, 1] }), 4000);
    expect(d.liveIfChanged(4000)![0]!.running).toEqual([0, 1]);
  });

  it('reports an entry whose TTL ran out, once', () => {
    const d = directory();
    d.apply('a', record('a'), 0);
    d.apply('b', record('b'), 5000);
    expect(ids(d.liveIfChanged(5000)!)).toEqual(['a', 'b']);
    expect(ids(d.liveIfChanged(TTL + 1)!)).toEqual(['b']);
    expect(d.liveIfChanged(TTL + 2)).toBeUndefined();
  });
});
