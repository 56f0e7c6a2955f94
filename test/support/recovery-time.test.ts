// The fault tests report and bound these figures; a wrong one would pass a stalled
// engine or fail a healthy one.
import { describe, expect, it } from 'vitest';
import { recoveryFigures } from './recovery-time.js';

const fault = { start: 10_000, end: 20_000 };

describe('recoveryFigures', () => {
  it('times recovery from the restart to the first decision, after it, of an order POSTed since the fault began', () => {
    const accepted = [
      { id: 'before', sentAt: 9_000 },
      { id: 'during', sentAt: 12_000 },
      { id: 'after', sentAt: 21_000 },
    ];
    // 'before' is decided after the restart, first of all: it does not count.
    const decisions = new Map([
      ['before', 20_500],
      ['during', 23_000],
      ['after', 22_000],
    ]);
    const f = recoveryFigures(accepted, decisions, fault, 30_000);
    expect(f.recoveryMs).toBe(2_000);
    expect(f.acceptedAfterFault).toBe(2);
  });

  it('ignores decisions that arrived before the restart, and says so when none came after', () => {
    const accepted = [{ id: 'a', sentAt: 11_000 }];
    expect(recoveryFigures(accepted, new Map([['a', 15_000]]), fault, 30_000).recoveryMs).toBeUndefined();
    expect(recoveryFigures(accepted, new Map(), fault, 30_000).recoveryMs).toBeUndefined();
  });

  it('takes the worst POST → decision of the orders POSTed in the 5 s before the fault, Infinity if one never was decided', () => {
    const accepted = [
      { id: 'old', sentAt: 1_000 },
      { id: 'x', sentAt: 6_000 },
      { id: 'y', sentAt: 9_500 },
    ];
    const decided = new Map([
      ['old', 60_000],
      ['x', 8_000],
      ['y', 21_500],
    ]);
    const f = recoveryFigures(accepted, decided, fault, 30_000);
    expect(f.worstInFlightMs).toBe(12_000);
    expect(f.inFlightOrders).toBe(2);
    decided.delete('x');
    expect(recoveryFigures(accepted, decided, fault, 30_000).worstInFlightMs).toBe(Infinity);
    expect(recoveryFigures([], decided, fault, 30_000).worstInFlightMs).toBeUndefined();
  });

  it('finds the longest time without decisions between the fault and the end of the load', () => {
    const decided = new Map([
      ['a', 5_000],
      ['b', 11_000],
      ['c', 26_000],
      ['d', 27_000],
    ]);
    expect(recoveryFigures([], decided, fault, 30_000).longestStallMs).toBe(15_000);
    expect(recoveryFigures([], new Map(), fault, 30_000).longestStallMs).toBe(20_000);
  });
});
