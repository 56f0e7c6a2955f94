import { describe, expect, it } from 'vitest';
import { CommitPacer } from '../../src/engine/commit-pacer.js';

const at = (mode: 'adaptive' | 'fixed', options: Partial<{ intervalMs: number; minIntervalMs: number }> = {}): CommitPacer =>
  new CommitPacer({ mode, intervalMs: options.intervalMs ?? 1000, minIntervalMs: options.minIntervalMs ?? 5 }, 0);

describe('CommitPacer', () => {
  it('fixed: commits once the interval has passed, caught up or not', () => {
    const pacer = at('fixed');
    expect(pacer.due(10, true, true)).toBe(false);
    expect(pacer.due(999, true, true)).toBe(false);
    expect(pacer.due(1000, false, true)).toBe(true);
  });

  it('adaptive: commits as soon as the loop caught up with something to commit', () => {
    const pacer = at('adaptive');
    expect(pacer.due(4, true, true)).toBe(false); // the floor
    expect(pacer.due(5, true, true)).toBe(true);
    expect(pacer.due(5, true, false)).toBe(false); // nothing processed
    expect(pacer.due(5, false, true)).toBe(false); // a full batch: more is waiting
  });

  it('adaptive: waits at least as long as a commit costs, so committing takes at most about half the time', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 40, true); // the first commit took 40 ms
    expect(pacer.costMs).toBe(40);
    expect(pacer.due(40 + 39, true, true)).toBe(false);
    expect(pacer.due(40 + 40, true, true)).toBe(true);
  });

  it('adaptive: the cost is a moving average, so one slow commit does not stretch every interval', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true);
    pacer.committed(100, 600, true); // one 500 ms commit
    expect(pacer.costMs).toBeCloseTo(10 + 0.2 * 490);
    for (let i = 0; i < 20; i++) pacer.committed(1000 + i * 100, 1000 + i * 100 + 10, true);
    expect(pacer.costMs).toBeLessThan(15);
  });

  it('adaptive: commits up to twice their base are taken for noise', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true);
    for (let i = 0; i < 40; i++) pacer.committed(100 * (i + 1), 100 * (i + 1) + 19, true);
    expect(pacer.waitMs).toBeCloseTo(pacer.costMs, 5);
  });

  it('adaptive: commits dearer than that stretch the wait with the square of the congestion', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true); // base and cost 10 ms
    expect(pacer.waitMs).toBe(10);
    // The commits get four times dearer (the broker and this process compete for the cores).
    let end = 0;
    for (let i = 0; i < 40; i++) pacer.committed(100 * (i + 1), (end = 100 * (i + 1) + 40), true);
    expect(pacer.costMs).toBeCloseTo(40, 0);
    expect(pacer.baseMs).toBeLessThan(11); // rises only slowly
    expect(pacer.waitMs).toBeGreaterThan(120); // 40 × (3.7² / 4) at least
    expect(pacer.due(end + 100, true, true)).toBe(false);
    expect(pacer.due(end + 200, true, true)).toBe(true);
  });

  it('adaptive: at saturation the wait reaches the interval, as fixed commits do', () => {
    const pacer = at('adaptive', { intervalMs: 1000 });
    pacer.committed(0, 15, true);
    let end = 0;
    for (let i = 0; i < 30; i++) pacer.committed(1000 * (i + 1), (end = 1000 * (i + 1) + 150), true);
    expect(pacer.waitMs).toBe(1000);
    expect(pacer.due(end + 999, true, true)).toBe(false);
    expect(pacer.due(end + 1000, true, true)).toBe(true);
  });

  it('adaptive: the base follows a lasting rise of the cost, slowly', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 10, true);
    let t = 100;
    for (let i = 0; i < 2000; i++, t += 100) pacer.committed(t, t + 20, true);
    expect(pacer.baseMs).toBeCloseTo(20, 0);
    expect(pacer.waitMs).toBeCloseTo(20, 0);
  });

  it('adaptive: a loop that never catches up commits at the interval, as the fixed mode does', () => {
    const pacer = at('adaptive', { intervalMs: 200 });
    expect(pacer.due(199, false, true)).toBe(false);
    expect(pacer.due(200, false, true)).toBe(true);
  });

  it('an empty or failed commit moves neither the clock nor the cost', () => {
    const pacer = at('adaptive');
    pacer.committed(0, 30, true);
    pacer.committed(500, 900, false);
    expect(pacer.costMs).toBe(30);
    // The clock still counts from the last commit (30): a batch after it is due at once.
    expect(pacer.due(920, false, true)).toBe(false);
    expect(pacer.due(1030, false, true)).toBe(true);
  });

  it('after an idle spell (or a restore) the first batch is due at once, even behind a backlog', () => {
    for (const mode of ['adaptive', 'fixed'] as const) {
      const pacer = at(mode);
      pacer.committed(0, 10, true);
      expect(pacer.due(5000, false, false)).toBe(false); // nothing to commit: not due
      expect(pacer.due(5000, false, true)).toBe(true);
    }
  });
});
