import { describe, expect, it } from 'vitest';
import { CommitPacer } from '../../src/engine/commit-pacer.js';

const at = (mode: 'adaptive' | 'fixed', options: Partial<{ intervalMs: number; minIntervalMs: number }> = {}): CommitPacer =>
  new CommitPacer({ mode, intervalMs: options.intervalMs ?? 1000, minIntervalMs: options.minIntervalMs ?? 5 }, 0);

describe('CommitPacer', () => {
  it('fixed: commits once the interval has passed, caught up or not', () => {
    const pacer = at('fixed');
    expect(pacer.due(10, true, true, true)).toBe(false);
    expect(pacer.due(999, true, true, true)).toBe(false);
    expect(pacer.due(1000, false, true, true)).toBe(true);
  });

  it('adaptive: commits as soon as the loop caught up with something to commit', () => {
    const pacer = at('adaptive');
    expect(pacer.due(4, true, true, true)).toBe(false); // the floor
    expect(pacer.due(5, true, true, true)).toBe(true);
    expect(pacer.due(5, true, false, true)).toBe(false); // nothing processed
    expect(pacer.due(5, false, true, true)).toBe(false); // a full batch: more is waiting
  });

  it('adaptive: a transaction of state changes only (no outputs) waits for the interval, as in the fixed mode', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true);
    // NEW orders into the store, a first answer joined: nobody waits for their commit.
    expect(pacer.due(100, true, true, false)).toBe(false);
    expect(pacer.due(1009, true, true, false)).toBe(false);
    expect(pacer.due(1010, true, true, false)).toBe(true);
    // A decision among them: due once a commit's cost has passed, caught up.
    expect(pacer.due(100, true, true, true)).toBe(true);
    expect(pacer.due(100, false, true, true)).toBe(false);
  });

  it('adaptive: waits at least as long as a commit costs, so committing takes at most about half the time', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 40, true); // the first commit took 40 ms
    expect(pacer.costMs).toBe(40);
    expect(pacer.due(40 + 39, true, true, true)).toBe(false);
    expect(pacer.due(40 + 40, true, true, true)).toBe(true);
  });

  it('adaptive: the cost is a moving average, so one slow commit does not stretch every interval', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true);
    pacer.committed(100, 600, true); // one 500 ms commit
    expect(pacer.costMs).toBeCloseTo(10 + 0.2 * 490);
    for (let i = 0; i < 20; i++) pacer.committed(1000 + i * 100, 1000 + i * 100 + 10, true);
    expect(pacer.costMs).toBeLessThan(15);
  });

  it('adaptive: dearer commits lengthen the wait in proportion, up to the interval', () => {
    const pacer = at('adaptive', { intervalMs: 1000 });
    pacer.committed(0, 10, true);
    expect(pacer.waitMs).toBe(10);
    let end = 0;
    for (let i = 0; i < 40; i++) pacer.committed(100 * (i + 1), (end = 100 * (i + 1) + 40), true);
    expect(pacer.waitMs).toBeCloseTo(40, 0);
    expect(pacer.due(end + 39, true, true, true)).toBe(false);
    expect(pacer.due(end + 41, true, true, true)).toBe(true);
    for (let i = 0; i < 40; i++) pacer.committed(10_000 * (i + 1), (end = 10_000 * (i + 1) + 1500), true);
    expect(pacer.waitMs).toBe(1000);
  });

  it('adaptive: a step from light to heavy load does not lock the wait at the interval', () => {
    // A commit's cost grows with what it carries, and what it carries with the wait
    // before it: at a records/ms, cost = fixed + perRecord × records. A wait that grew
    // faster than the cost (the square of the cost over the light load's cheapest
    // commits) fed back on itself and stayed at the interval for good.
    const pacer = at('adaptive', { intervalMs: 1000 });
    const fixed = 5;
    const perRecord = 0.05;
    let now = 0;
    let lastStart = 0;
    const run = (recordsPerMs: number, commits: number): void => {
      for (let i = 0; i < commits; i++) {
        const start = now + pacer.waitMs; // the records since the last commit started go into this one
        const cost = fixed + perRecord * recordsPerMs * (start - lastStart);
        pacer.committed(start, (now = start + cost), true);
        lastStart = start;
      }
    };
    run(0.6, 500); // 200 orders/s: 600 input records a second
    expect(pacer.waitMs).toBeLessThan(10);
    run(6, 500); // 2,000 orders/s
    // cost settles at fixed / (1 − 2 × perRecord × 6) = 12.5 ms
    expect(pacer.costMs).toBeCloseTo(12.5, 0);
    expect(pacer.waitMs).toBeLessThan(20);
  });

  it('adaptive: a loop that never catches up commits at the interval, as the fixed mode does', () => {
    const pacer = at('adaptive', { intervalMs: 200 });
    expect(pacer.due(199, false, true, true)).toBe(false);
    expect(pacer.due(200, false, true, true)).toBe(true);
  });

  it('an empty or failed commit moves neither the clock nor the cost', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 30, true);
    pacer.committed(500, 900, false);
    expect(pacer.costMs).toBe(30);
    // The clock still counts from the last commit (30): a batch after it is due at once.
    expect(pacer.due(920, false, true, true)).toBe(false);
    expect(pacer.due(1030, false, true, true)).toBe(true);
  });

  it('after an idle spell (or a restore) the first batch is due at once, even behind a backlog', () => {
    for (const mode of ['adaptive', 'fixed'] as const) {
      const pacer = at(mode);
      pacer.committed(0, 10, true);
      expect(pacer.due(5000, false, false, true)).toBe(false); // nothing to commit: not due
      expect(pacer.due(5000, false, true, true)).toBe(true);
    }
  });
});
