import { describe, expect, it } from 'vitest';
import { decodeInstanceRecord, encodeInstanceRecord, type InstanceRecord } from '../../src/cluster/instance-record.js';

const record: InstanceRecord = {
  instanceId: 'pod-1',
  incarnation: 'c0ffee',
  endpoint: '10.0.0.7:18282',
  state: 'RUNNING',
  running: [0, 3],
  restoring: [5],
  standby: [{ partition: 1, lag: 12 }, { partition: 2 }],
  seq: 41,
  timestamp: 1_764_300_000_000,
};

describe('instance records', () => {
  it('round-trip through their JSON encoding', () => {
    expect(decodeInstanceRecord('pod-1', encodeInstanceRecord(record))).toEqual(record);
  });

  it.each<{ name: string; key?: string; value: string | Record<string, unknown> }>([
    { name: 'not JSON', value: '{"v":1,' },
    { name: 'not an object', value: '[1,2]' },
    { name: 'another version', value: { ...record, v: 2 } },
    { name: 'a key that is not its instanceId', key: 'pod-2', value: { ...record, v: 1 } },
    { name: 'a partition that is not a non-negative integer', value: { ...record, v: 1, running: [0, -1] } },
    { name: 'a standby without a partition', value: { ...record, v: 1, standby: [{ lag: 1 }] } },
    { name: 'a missing endpoint', value: { ...record, v: 1, endpoint: undefined } },
    { name: 'a fractional seq', value: { ...record, v: 1, seq: 1.5 } },
  ])('are ignored when they are $name', ({ key, value }) => {
    const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    expect(decodeInstanceRecord(key ?? 'pod-1', bytes)).toBeUndefined();
  });
});
