import { describe, expect, it } from 'vitest';
import { EngineLifecycle, canTransition, type EngineState } from '../../src/engine/engine-state.js';
import { checkTransition } from '../../src/engine/task-lifecycle.js';

describe('engine lifecycle', () => {
  it('walks CREATED → STARTING → REBALANCING ⇄ RUNNING → PENDING_SHUTDOWN → DEAD and reports each change once', () => {
    const seen: EngineState[] = [];
    const l = new EngineLifecycle((s) => seen.push(s));
    for (const s of ['STARTING', 'REBALANCING', 'RUNNING', 'RUNNING', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'DEAD'] as const) l.to(s);
    expect(seen).toEqual(['STARTING', 'REBALANCING', 'RUNNING', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'DEAD']);
    expect(l.active).toBe(false);
  });

  it('refuses what the table does not allow', () => {
    expect(canTransition('DEAD', 'RUNNING')).toBe(false);
    expect(canTransition('CREATED', 'RUNNING')).toBe(false);
    expect(canTransition('ERROR', 'RUNNING')).toBe(false);
    expect(canTransition('ERROR', 'PENDING_SHUTDOWN')).toBe(true);
    const l = new EngineLifecycle(() => undefined);
    expect(() => l.to('RUNNING')).toThrow(/Illegal stream engine state transition from CREATED to RUNNING/);
  });
});

describe('task lifecycle', () => {
  it('allows restore → run → suspend → resume → close, and standby → close', () => {
    expect(checkTransition(0, 'CREATED', 'RESTORING')).toBe('RESTORING');
    expect(checkTransition(0, 'RESTORING', 'RUNNING')).toBe('RUNNING');
    expect(checkTransition(0, 'RUNNING', 'SUSPENDED')).toBe('SUSPENDED');
    expect(checkTransition(0, 'SUSPENDED', 'RUNNING')).toBe('RUNNING');
    expect(checkTransition(0, 'CREATED', 'STANDBY')).toBe('STANDBY');
    expect(checkTransition(0, 'STANDBY', 'CLOSED')).toBe('CLOSED');
    expect(checkTransition(0, 'STANDBY', 'RESTORING')).toBe('RESTORING');
  });

  it('refuses a standby that would process, or a closed task coming back', () => {
    expect(() => checkTransition(3, 'STANDBY', 'RUNNING')).toThrow(/task 0_3 from STANDBY to RUNNING/);
    expect(() => checkTransition(3, 'CLOSED', 'RESTORING')).toThrow(/Illegal/);
    expect(() => checkTransition(3, 'RESTORING', 'SUSPENDED')).toThrow(/Illegal/);
  });
});
