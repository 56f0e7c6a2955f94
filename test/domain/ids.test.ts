import { describe, expect, it } from 'vitest';
import { ID_EPOCH_MS, IdGenerator, MAX_NODE_ID, idTimestamp } from '../../src/domain/ids.js';

const T0 = Date.UTC(2026, 10, 25, 10, 20, 30, 123);

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

function take(gen: IdGenerator, n: number): number[] {
  return Array.from({ length: n }, () => gen.next());
}

function expectStrictlyIncreasing(ids: readonly number[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i]! > ids[i - 1]!)) throw new Error(`ids[${i}] = ${ids[i]} is not above ids[${i - 1}] = ${ids[i - 1]}`);
  }
}

const nodeOf = (id: number): number => Math.floor(id / 128) % 32;
const sequenceOf = (id: number): number => id % 128;

describe('IdGenerator', () => {
  it('gives strictly increasing ids within one millisecond', () => {
    const gen = new IdGenerator(3, () => T0);
    const ids = take(gen, 100);
    expectStrictlyIncreasing(ids);
    for (const id of ids) expect(idTimestamp(id).getTime()).toBe(T0);
  });

  it('gives strictly increasing ids across milliseconds and restarts the sequence in a new one', () => {
    const clock = manualClock(T0);
    const gen = new IdGenerator(3, clock.now);
    const ids: number[] = [];
    for (const t of [T0, T0, T0 + 1, T0 + 1, T0 + 2, T0 + 50, T0 + 86_400_000]) {
      clock.set(t);
      ids.push(gen.next());
    }
    expectStrictlyIncreasing(ids);
    expect(ids.map(sequenceOf)).toEqual([0, 1, 0, 1, 0, 0, 0]);
    expect(ids.map((id) => idTimestamp(id).getTime())).toEqual([T0, T0, T0 + 1, T0 + 1, T0 + 2, T0 + 50, T0 + 86_400_000]);
  });

  it('borrows the next millisecond after 128 ids in one, keeping ids unique and increasing', () => {
    const clock = manualClock(T0);
    const gen = new IdGenerator(5, clock.now);
    const burst = take(gen, 300);
    expectStrictlyIncreasing(burst);
    expect(new Set(burst).size).toBe(300);
    // 128 ids fit in T0; the 129th borrows T0 + 1, the 257th T0 + 2.
    expect(burst.slice(0, 128).every((id) => idTimestamp(id).getTime() === T0)).toBe(true);
    expect(idTimestamp(burst[128]!).getTime()).toBe(T0 + 1);
    expect(sequenceOf(burst[128]!)).toBe(0);
    expect(idTimestamp(burst[256]!).getTime()).toBe(T0 + 2);

    // The clock catching up with a borrowed millisecond must not reuse its ids.
    clock.set(T0 + 1);
    const later = take(gen, 10);
    clock.set(T0 + 2);
    later.push(...take(gen, 10));
    clock.set(T0 + 3);
    later.push(...take(gen, 10));
    const all = [...burst, ...later];
    expectStrictlyIncreasing(all);
    expect(new Set(all).size).toBe(all.length);
  });

  it('keeps ids increasing when the clock goes back', () => {
    const clock = manualClock(T0 + 1000);
    const gen = new IdGenerator(1, clock.now);
    const ids = take(gen, 3);
    clock.set(T0);
    ids.push(...take(gen, 200));
    clock.set(T0 + 1000);
    ids.push(...take(gen, 3));
    expectStrictlyIncreasing(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('encodes the node id, so generators of different nodes never collide at the same clock', () => {
    const seen = new Set<number>();
    for (let nodeId = 0; nodeId <= MAX_NODE_ID; nodeId++) {
      const gen = new IdGenerator(nodeId, () => T0);
      for (const id of take(gen, 300)) {
        expect(nodeOf(id)).toBe(nodeId);
        seen.add(id);
      }
    }
    expect(seen.size).toBe((MAX_NODE_ID + 1) * 300);
  });

  it('exposes the node id it was given', () => {
    expect(new IdGenerator(17, () => T0).nodeId).toBe(17);
  });

  it.each([
    ['2025-01-01 (the epoch)', ID_EPOCH_MS],
    ['2026-11-25', T0],
    ['2090-12-31', Date.UTC(2090, 11, 31, 23, 59, 59, 999)],
  ])('keeps every id within Number.MAX_SAFE_INTEGER at a clock of %s', (_, now) => {
    const gen = new IdGenerator(MAX_NODE_ID, () => now);
    for (const id of take(gen, 200)) {
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id).toBeGreaterThan(0);
    }
  });

  it('reaches exactly Number.MAX_SAFE_INTEGER at the last millisecond of the 41-bit range (2094)', () => {
    const lastMs = ID_EPOCH_MS + 2 ** 41 - 1;
    expect(new Date(lastMs).getUTCFullYear()).toBe(2094);
    const gen = new IdGenerator(MAX_NODE_ID, () => lastMs);
    const ids = take(gen, 128);
    expect(ids.at(-1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(ids.every(Number.isSafeInteger)).toBe(true);
  });

  it.each([
    ['the epoch', ID_EPOCH_MS],
    ['2026-11-25T10:20:30.123Z', T0],
    ['2090-06-15T12:00:00.001Z', Date.UTC(2090, 5, 15, 12, 0, 0, 1)],
  ])('round-trips the creation time through idTimestamp at %s', (_, now) => {
    for (const nodeId of [0, 13, MAX_NODE_ID]) {
      const id = new IdGenerator(nodeId, () => now).next();
      expect(idTimestamp(id)).toEqual(new Date(now));
    }
  });

  it.each([32, -1, 1.5, Number.NaN, 100])('rejects nodeId %s', (nodeId) => {
    expect(() => new IdGenerator(nodeId, () => T0)).toThrow(RangeError);
  });

  it.each([0, MAX_NODE_ID])('accepts nodeId %i', (nodeId) => {
    expect(() => new IdGenerator(nodeId, () => T0)).not.toThrow();
  });

  it('draws a default node id within 0..MAX_NODE_ID', () => {
    for (let i = 0; i < 50; i++) {
      const { nodeId } = new IdGenerator();
      expect(Number.isInteger(nodeId) && nodeId >= 0 && nodeId <= MAX_NODE_ID).toBe(true);
    }
  });
});
