// The multi-instance fault tests take restore rates and assignments from the
// instances' logs, which the engine's rework is changing: lines of another shape
// must be passed over, never break the run.
import { describe, expect, it } from 'vitest';
import { readInstanceLog } from './instance-logs.js';

const line = (time: number, msg: string, fields: Record<string, unknown> = {}): string => JSON.stringify({ level: 30, time, msg, ...fields });

describe('readInstanceLog', () => {
  it('reads assignments, restores with their progress, and the shutdown', () => {
    const output = [
      line(1000, 'restore: started', { component: 'restore', changelogs: ['x:0'], upTo: 500 }),
      line(1500, 'restore: progress', { component: 'restore', restored: 200, of: 500 }),
      line(2000, 'restore: done', { component: 'restore', restored: 500 }),
      line(2100, 'tasks assigned and restored', { tasks: [0, 2, 4] }),
      'not json at all',
      '{"cut short',
      line(3000, 'restore: started', { upTo: 10 }),
      line(3200, 'tasks assigned and restored', { tasks: [{ partition: 1, state: 'RUNNING' }] }),
      line(4000, 'shutting down'),
      line(4500, 'stopped'),
    ].join('\n');
    const log = readInstanceLog(output);
    expect(log.assignments).toEqual([
      { time: 2100, partitions: [0, 2, 4] },
      { time: 3200, partitions: [1] },
    ]);
    expect(log.restores).toEqual([
      { startedAt: 1000, doneAt: 2000, due: 500, records: 500 },
      { startedAt: 3000, doneAt: undefined, due: 10, records: 0 },
    ]);
    expect(log.shutdown).toEqual({ startedAt: 4000, stoppedAt: 4500 });
  });

  it('passes over lines whose fields have another shape', () => {
    const log = readInstanceLog([line(1, 'tasks assigned', { tasks: 'all' }), line(2, 'restore: done', { restored: 5 })].join('\n'));
    expect(log).toEqual({ assignments: [], restores: [], shutdown: { startedAt: undefined, stoppedAt: undefined } });
  });
});
