// Readiness components in the Spring Boot actuator shape: what makes each one DOWN,
// and the details an operator reads off a 503.
import { describe, expect, it } from 'vitest';
import type { EngineState, TaskInfo } from '../../src/engine/engine-state.js';
import { acceptingHealth, aggregate, kafkaHealth, streamsHealth } from '../../src/http/health.js';

const task = (partition: number, state: TaskInfo['state']): TaskInfo => ({ partition, thread: 0, state });

describe('streamsHealth', () => {
  it.each<[string, EngineState, TaskInfo[], 'UP' | 'DOWN']>([
    ['running, every task running', 'RUNNING', [task(0, 'RUNNING'), task(3, 'RUNNING')], 'UP'],
    ['running with standbys (other instances\' tasks)', 'RUNNING', [task(0, 'RUNNING'), task(1, 'STANDBY')], 'UP'],
    ['running without tasks (more instances than partitions)', 'RUNNING', [], 'UP'],
    ['a task restoring', 'REBALANCING', [task(0, 'RUNNING'), task(2, 'RESTORING')], 'DOWN'],
    ['running but a task reported restoring (reports cross)', 'RUNNING', [task(2, 'RESTORING')], 'DOWN'],
    ['isolated from Kafka: tasks suspended', 'REBALANCING', [task(0, 'SUSPENDED')], 'DOWN'],
    ['not started', 'CREATED', [], 'DOWN'],
    ['starting', 'STARTING', [], 'DOWN'],
    ['shutting down', 'PENDING_SHUTDOWN', [task(0, 'RUNNING')], 'DOWN'],
    ['failed', 'ERROR', [task(0, 'RUNNING')], 'DOWN'],
  ])('%s: %s', (_what, state, tasks, status) => {
    expect(streamsHealth(state, tasks, []).status).toBe(status);
  });

  it('details name the tasks by state and the restore figures of those restoring', () => {
    const h = streamsHealth('REBALANCING', [task(0, 'RUNNING'), task(2, 'RESTORING'), task(4, 'RESTORING'), task(5, 'STANDBY')], [
      { partition: 2, restored: 1000, remaining: 250 },
      { partition: 4, restored: 10, remaining: 5 },
      // finished since: the tasks message said RUNNING first
      { partition: 0, restored: 99, remaining: 0 },
    ]);
    expect(h).toEqual({
      status: 'DOWN',
      details: { state: 'REBALANCING', running: ['0_0'], restoring: ['0_2', '0_4'], standby: ['0_5'], restoredRecords: 1010, remainingRecords: 255 },
    });
  });

  it('leaves remainingRecords out while a restore\'s end offsets are not known', () => {
    const h = streamsHealth('REBALANCING', [task(2, 'RESTORING')], [{ partition: 2, restored: 7, remaining: undefined }]);
    expect(h.details).toMatchObject({ restoredRecords: 7 });
    expect(h.details).not.toHaveProperty('remainingRecords');
  });
});

describe('kafkaHealth', () => {
  it('is DOWN until the kafka thread reported, then follows its broker probe', () => {
    expect(kafkaHealth(undefined).status).toBe('DOWN');
    const down = kafkaHealth({ up: false, since: Date.UTC(2026, 0, 1), lastError: 'metadata: Local: Broker transport failure', errors: {} });
    expect(down).toEqual({ status: 'DOWN', details: { since: '2026-01-01T00:00:00.000Z', lastError: 'metadata: Local: Broker transport failure' } });
    expect(kafkaHealth({ up: true, since: 0, lastError: undefined, errors: {} }).status).toBe('UP');
  });
});

describe('aggregate', () => {
  it('is UP only when every component is', () => {
    const up = { status: 'UP' as const };
    expect(aggregate({ db: up, kafka: up, streams: up, accepting: acceptingHealth(false) }).status).toBe('UP');
    expect(aggregate({ db: up, kafka: up, streams: up, accepting: acceptingHealth(true) }).status).toBe('DOWN');
    expect(aggregate({ db: { status: 'DOWN' }, kafka: up }).status).toBe('DOWN');
  });
});
