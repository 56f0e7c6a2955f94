import { describe, expect, it } from 'vitest';
import { standbysFor, type PlacementMember } from '../../src/engine/standby-placement.js';

const members = (n: number, partitions = 6): PlacementMember[] =>
  Array.from({ length: n }, (_, i) => ({ instanceId: `i${i + 1}`, active: Array.from({ length: partitions }, (_, p) => p).filter((p) => p % n === i) }));

const placement = (ms: PlacementMember[], replicas: number): Map<string, number[]> =>
  new Map(ms.map((m) => [m.instanceId, standbysFor(m.instanceId, ms, 6, replicas)]));

describe('standby placement', () => {
  it('gives every partition exactly `replicas` standbys, never on its active owner', () => {
    for (const n of [2, 3, 4, 6]) {
      const ms = members(n);
      for (const replicas of [1, 2]) {
        const byInstance = placement(ms, replicas);
        for (let p = 0; p < 6; p++) {
          const holders = [...byInstance].filter(([, ps]) => ps.includes(p)).map(([id]) => id);
          expect(holders).toHaveLength(Math.min(replicas, n - 1));
          const owner = ms.find((m) => m.active.includes(p))!.instanceId;
          expect(holders).not.toContain(owner);
        }
      }
    }
  });

  it('a single instance keeps no standbys, nor does anyone with replicas 0', () => {
    expect(standbysFor('i1', members(1), 6, 1)).toEqual([]);
    expect(standbysFor('i1', members(3), 6, 0)).toEqual([]);
  });

  it('an instance joining moves only the standbys it must (rendezvous)', () => {
    const before = members(3);
    const after = [...before, { instanceId: 'i4', active: [] }];
    const b = placement(before, 1);
    const a = placement(after, 1);
    for (const id of ['i1', 'i2', 'i3']) {
      // Nothing is added to an instance that was there: the newcomer only takes some.
      for (const p of a.get(id)!) expect(b.get(id)).toContain(p);
    }
  });

  it('is the same whoever computes it, whatever order the directory lists members in', () => {
    const ms = members(4);
    const reversed = [...ms].reverse();
    for (const m of ms) expect(standbysFor(m.instanceId, reversed, 6, 1)).toEqual(standbysFor(m.instanceId, ms, 6, 1));
  });

  it('keeps standbys of a partition between owners among all instances, so a task moving lands on its copy', () => {
    const moving = [{ instanceId: 'i1', active: [0, 1, 2] }, { instanceId: 'i2', active: [] }];
    // With two instances and one replica, i2 holds every partition i1 does not run; 3-5 are owned by nobody right now.
    expect(standbysFor('i2', moving, 6, 2)).toEqual([0, 1, 2, 3, 4, 5]);
    const placed = [3, 4, 5].map((p) => ['i1', 'i2'].filter((id) => standbysFor(id, moving, 6, 1).includes(p)));
    for (const holders of placed) expect(holders).toHaveLength(1);
  });
});
