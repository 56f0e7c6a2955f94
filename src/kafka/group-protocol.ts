// A group member's librdkafka settings for each group protocol (GROUP_PROTOCOL):
//   consumer  KIP-848 (Kafka 4.0+): the broker assigns and keeps the session and the
//             heartbeat (group.consumer.*); librdkafka refuses the classic settings with
//             it. A member back after a broker restart heartbeats on with its epoch, or
//             rejoins at once: nothing waits for the session of a membership it left.
//   classic   JoinGroup/SyncGroup, for brokers before 4.0: the client's session. After
//             a broker restart a rejoin waits out the session of the membership the
//             member itself left behind (6 s at the broker's smallest).
import type Kafka from 'node-rdkafka';

export const groupProtocols = ['consumer', 'classic'] as const;
export type GroupProtocol = (typeof groupProtocols)[number];

export interface GroupProtocolOptions {
  /** KIP-848's server-side assignor (group.remote.assignor); the broker's default if absent. */
  readonly remoteAssignor?: 'range' | 'uniform';
  /** Classic only: partition.assignment.strategy. */
  readonly assignor: 'range' | 'cooperative-sticky';
  /** Classic only: session.timeout.ms; heartbeats at a third of it. */
  readonly sessionTimeoutMs: number;
}

export function groupProtocolConfig(protocol: GroupProtocol, options: GroupProtocolOptions): Kafka.ConsumerGlobalConfig {
  if (protocol === 'consumer') {
    return { 'group.protocol': 'consumer', ...(options.remoteAssignor === undefined ? {} : { 'group.remote.assignor': options.remoteAssignor }) };
  }
  return {
    'partition.assignment.strategy': options.assignor,
    'session.timeout.ms': options.sessionTimeoutMs,
    'heartbeat.interval.ms': Math.max(100, Math.floor(options.sessionTimeoutMs / 3)),
  };
}
