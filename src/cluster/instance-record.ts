// What an instance says about itself in the instance directory
// (`<APPLICATION_ID>-instances`, compacted, keyed by INSTANCE_ID): where its HTTP API
// is and which partitions of orders-store it can answer for. Kafka Streams carries
// the same facts in its assignor's metadata (`application.server`, the active and
// standby host maps behind KeyQueryMetadata); librdkafka's assignors cannot, so the
// instances publish them. Pure: encoded on the main thread, read by the HTTP thread.
//
// JSON, one small object:
//   { "v": 1, "instanceId": "pod-1", "incarnation": "<uuid per process start>",
//     "endpoint": "10.0.0.7:18282", "state": "RUNNING",
//     "running": [0, 3], "restoring": [], "standby": [{ "partition": 1, "lag": 12 }],
//     "seq": 41, "timestamp": 1764300000000 }
// `seq` grows with every record of one incarnation; a restarted process has a new
// incarnation and starts again at 0. A tombstone (null value) says "left cleanly".

export const INSTANCE_RECORD_VERSION = 1;

export interface StandbyPartition {
  readonly partition: number;
  /** Records the standby copy trails its changelog by, when known. */
  readonly lag?: number;
}

export interface InstanceRecord {
  readonly instanceId: string;
  /** Unique per process start: tells a restarted instance's records from its predecessor's. */
  readonly incarnation: string;
  /** host:port at which the others reach its HTTP API (APPLICATION_SERVER). */
  readonly endpoint: string;
  /** The engine's state (EngineState): an instance shutting down or failed serves nothing. */
  readonly state: string;
  /** Active tasks that answer queries now. */
  readonly running: readonly number[];
  /** Active tasks still restoring: owned, not yet servable. */
  readonly restoring: readonly number[];
  readonly standby: readonly StandbyPartition[];
  readonly seq: number;
  /** When it was published (the publisher's clock, epoch ms). */
  readonly timestamp: number;
}

export function encodeInstanceRecord(record: InstanceRecord): Buffer {
  return Buffer.from(JSON.stringify({ v: INSTANCE_RECORD_VERSION, ...record }));
}

const isPartitionList = (v: unknown): v is number[] => Array.isArray(v) && v.every((p) => Number.isSafeInteger(p) && (p as number) >= 0);
const isStandbyList = (v: unknown): v is StandbyPartition[] =>
  Array.isArray(v) &&
  v.every((s: unknown) => {
    if (typeof s !== 'object' || s === null) return false;
    const { partition, lag } = s as Record<string, unknown>;
    return Number.isSafeInteger(partition) && (partition as number) >= 0 && (lag === undefined || (typeof lag === 'number' && lag >= 0));
  });

/**
 * The record under `key`, or undefined when it is not one this version can use (another
 * version, garbage, a key that is not its instanceId): such a record is ignored, never
 * trusted for routing.
 */
export function decodeInstanceRecord(key: string, value: Uint8Array): InstanceRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.v !== INSTANCE_RECORD_VERSION || r.instanceId !== key) return undefined;
  if (typeof r.incarnation !== 'string' || typeof r.endpoint !== 'string' || typeof r.state !== 'string') return undefined;
  if (!isPartitionList(r.running) || !isPartitionList(r.restoring) || !isStandbyList(r.standby)) return undefined;
  if (!Number.isSafeInteger(r.seq) || !Number.isSafeInteger(r.timestamp)) return undefined;
  return {
    instanceId: key,
    incarnation: r.incarnation,
    endpoint: r.endpoint,
    state: r.state,
    running: r.running,
    restoring: r.restoring,
    standby: r.standby.map((s) => (s.lag === undefined ? { partition: s.partition } : { partition: s.partition, lag: s.lag })),
    seq: r.seq as number,
    timestamp: r.timestamp as number,
  };
}
