import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { type TaskState, transition } from '../../src/stream/task-state.js';

const states: readonly TaskState[] = ['CREATED', 'RESTORING', 'RUNNING', 'STANDBY', 'CLOSED'];

// The diagram of task-state.ts as a list: everything else is illegal.
const legal = new Set([
  'CREATED→RESTORING',
  'CREATED→STANDBY',
  'CREATED→CLOSED',
  'RESTORING→RUNNING',
  'RESTORING→CLOSED',
  'RUNNING→CLOSED',
  // A standby made active in place (Kafka Streams recycles it the same way).
  'STANDBY→RESTORING',
  'STANDBY→CLOSED',
]);

const pairs = states.flatMap((from) => states.map((to) => ({ from, to })));
const legalPairs = pairs.filter(({ from, to }) => legal.has(`${from}→${to}`));
const illegalPairs = pairs.filter(({ from, to }) => !legal.has(`${from}→${to}`));

describe('task state transitions', () => {
  it('has the eight legal moves of the diagram and seventeen illegal ones', () => {
    expect(legalPairs).toHaveLength(8);
    expect(illegalPairs).toHaveLength(17);
  });

  it.each(legalPairs)('allows $from → $to and returns the new state', ({ from, to }) => {
    expect(transition(3, from, to)).toBe(to);
  });

  it.each(illegalPairs)('refuses $from → $to with ORD_ERR_ILLEGAL_STATE naming the task and both states', ({ from, to }) => {
    let thrown: unknown;
    try {
      transition(7, from, to);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(EngineError);
    const e = thrown as EngineError;
    expect(e.code).toBe('ORD_ERR_ILLEGAL_STATE');
    expect(e.recovery).toBe('fatal');
    expect(e.message).toMatch(/\b0_7\b/);
    expect(e.message).toContain(`from ${from} to ${to}`);
  });

  it('names the task by its partition', () => {
    expect(() => transition(12, 'RUNNING', 'RESTORING')).toThrow(/task 0_12 /);
  });

  it.each(states)('CLOSED is terminal: CLOSED → %s throws', (to) => {
    expect(() => transition(0, 'CLOSED', to)).toThrow(EngineError);
  });

  it('walks the whole life of a task: CREATED → RESTORING → RUNNING → CLOSED', () => {
    let s: TaskState = 'CREATED';
    for (const next of ['RESTORING', 'RUNNING', 'CLOSED'] as const) s = transition(0, s, next);
    expect(s).toBe('CLOSED');
  });
});
