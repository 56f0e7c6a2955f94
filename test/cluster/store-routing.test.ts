// Who answers a store read of a partition, in which order (Kafka Streams'
// KeyQueryMetadata: the active host, then standbys), and the forwarded-once rule.
import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../src/cluster/instance-record.js';
import { storeRoutes, unservableReason, type LocalTask, type StoreRoute } from '../../src/cluster/store-routing.js';

const peer = (instanceId: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId,
  incarnation: `${instanceId}-1`,
  endpoint: `${instanceId}:18282`,
  state: 'RUNNING',
  running: [],
  restoring: [],
  standby: [],
  seq: 0,
  timestamp: 1000,
  ...over,
});

/** Routes as short strings: local, local-standby, remote:<id>, remote-standby:<id>. */
const describeRoutes = (routes: StoreRoute[]): string[] =>
  routes.map((r) => (r.kind === 'remote' || r.kind === 'remote-standby' ? `${r.kind}:${r.instance.instanceId}` : r.kind));

const route = (local: LocalTask | undefined, peers: InstanceRecord[], forwarded = false): string[] =>
  describeRoutes(storeRoutes({ partition: 3, local, peers, selfId: 'me', forwarded }));

describe('storeRoutes', () => {
  it.each<{ name: string; local: LocalTask | undefined; peers: InstanceRecord[]; forwarded?: boolean; expected: string[] }>([
    { name: 'our running task answers, whoever else claims the partition', local: { thread: 1, state: 'RUNNING' }, peers: [peer('b', { running: [3] })], expected: ['local'] },
    { name: 'the running owner elsewhere', local: undefined, peers: [peer('b', { running: [1, 3] }), peer('c', { running: [2] })], expected: ['remote:b'] },
    { name: 'the running owner elsewhere while ours restores', local: { thread: 0, state: 'RESTORING' }, peers: [peer('b', { running: [3] })], expected: ['remote:b'] },
    { name: 'nobody while ours restores and nobody else runs it', local: { thread: 0, state: 'RESTORING' }, peers: [peer('b', { restoring: [3] })], expected: [] },
    { name: 'an owner still restoring is not a route', local: undefined, peers: [peer('b', { restoring: [3] })], expected: [] },
    { name: 'an unknown task state of ours is not servable', local: { thread: 0, state: 'SUSPENDED' }, peers: [], expected: [] },
    { name: 'the active elsewhere before our standby, then our standby', local: { thread: 1, state: 'STANDBY' }, peers: [peer('b', { running: [3] })], expected: ['remote:b', 'local-standby'] },
    { name: 'our standby before another standby', local: { thread: 1, state: 'STANDBY' }, peers: [peer('b', { standby: [{ partition: 3, lag: 0 }] })], expected: ['local-standby', 'remote-standby:b'] },
    {
      name: 'the standby with the least lag elsewhere; unknown lag last',
      local: undefined,
      peers: [peer('b', { standby: [{ partition: 3 }] }), peer('c', { standby: [{ partition: 3, lag: 40 }] }), peer('d', { standby: [{ partition: 3, lag: 7 }] })],
      expected: ['remote-standby:d'],
    },
    {
      name: 'the newest claim when two instances claim the partition running (a crashed owner\'s last record)',
      local: undefined,
      peers: [peer('old', { running: [3], timestamp: 1000 }), peer('new', { running: [3], timestamp: 2000 })],
      expected: ['remote:new'],
    },
    { name: 'our own directory record is never a remote route', local: undefined, peers: [peer('me', { running: [3] })], expected: [] },
    { name: 'an instance shutting down or failed is not a route', local: undefined, peers: [peer('b', { running: [3], state: 'PENDING_SHUTDOWN' }), peer('c', { running: [3], state: 'ERROR' })], expected: [] },
    { name: 'a rebalancing instance\'s running task is', local: undefined, peers: [peer('b', { running: [3], state: 'REBALANCING' })], expected: ['remote:b'] },
    { name: 'forwarded: our running task', local: { thread: 0, state: 'RUNNING' }, peers: [peer('b', { running: [3] })], forwarded: true, expected: ['local'] },
    { name: 'forwarded: never another instance (no loops through a stale directory)', local: undefined, peers: [peer('b', { running: [3] }), peer('c', { standby: [{ partition: 3, lag: 1 }] })], forwarded: true, expected: [] },
    { name: 'forwarded: our standby', local: { thread: 0, state: 'STANDBY' }, peers: [peer('b', { running: [3] })], forwarded: true, expected: ['local-standby'] },
  ])('$name', ({ local, peers, forwarded, expected }) => {
    expect(route(local, peers, forwarded)).toEqual(expected);
  });

  it('routes the thread of our task', () => {
    expect(storeRoutes({ partition: 3, local: { thread: 1, state: 'RUNNING' }, peers: [], selfId: 'me', forwarded: false })).toEqual([{ kind: 'local', thread: 1 }]);
  });
});

describe('unservableReason', () => {
  it.each([
    { local: { thread: 0, state: 'RESTORING' }, forwarded: false, expected: /partition 3 is RESTORING on this instance/ },
    { local: undefined, forwarded: true, expected: /not served by this instance/ },
    { local: undefined, forwarded: false, expected: /no instance serves orders-store partition 3 yet/ },
  ])('says why for local=$local forwarded=$forwarded', ({ local, forwarded, expected }) => {
    expect(unservableReason({ partition: 3, local, forwarded })).toMatch(expected);
  });
});
