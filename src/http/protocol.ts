// Messages between the main thread (which owns every librdkafka handle) and the HTTP
// thread. One union per direction; the worker's data is the frozen Config.
import type { MessagePort } from 'node:worker_threads';
import type { InstanceRecord } from '../cluster/instance-record.js';
import type { Config } from '../config.js';
import type { OutboxStats } from '../db/outbox-relay.js';
import type { KafkaHealthSnapshot } from '../kafka/kafka-health.js';
import type { CacheLayout } from '../state/cache-layout.js';
import type { EngineState, TaskInfo } from '../engine/engine-state.js';
import type { EngineStats } from '../engine/engine-stats.js';
import type { JobStats } from '../jobs/job-scheduler.js';

export interface HttpThreadData {
  readonly config: Config;
  /** The record cache, read here without a message hop (src/state/cache.ts). */
  readonly cache: { readonly sab: SharedArrayBuffer; readonly layout: CacheLayout } | undefined;
  /** One port per stream thread, for store reads that miss the cache. */
  readonly queryPorts: readonly MessagePort[];
  /** The outbox doorbell's memory (src/db/outbox-doorbell.ts): committed rows announced without a message while the relay runs. */
  readonly outboxBell: SharedArrayBuffer;
}

export type MainToHttp =
  | { readonly type: 'outbox-stats'; readonly stats: OutboxStats }
  /** The live instances of the directory (src/cluster/), whenever they change: where store reads are forwarded. */
  | { readonly type: 'instances'; readonly instances: readonly InstanceRecord[] }
  /** Which tasks this instance has, on which thread, in which state. */
  | { readonly type: 'tasks'; readonly state: EngineState; readonly tasks: readonly TaskInfo[] }
  /** Every second: counters, task stats, restores, consumer lag, commit timings (src/engine/engine-stats.ts). */
  | { readonly type: 'engine-stats'; readonly stats: EngineStats }
  /** Broker reachability and client errors as the kafka thread sees them (readiness, metrics). */
  | { readonly type: 'kafka-health'; readonly health: KafkaHealthSnapshot }
  /** This instance's scheduled jobs (src/jobs/): metrics and GET /api/jobs. */
  | { readonly type: 'jobs-stats'; readonly jobs: readonly JobStats[] }
  /** A replaced stream thread's new query port (the old one died with it); transferred. */
  | { readonly type: 'query-port'; readonly thread: number; readonly port: MessagePort }
  /** Stop listening, finish what is in flight, close the pool, then say 'closed'. */
  | { readonly type: 'shutdown' };

export type HttpToMain =
  | { readonly type: 'listening'; readonly port: number; readonly nodeId: number }
  /** New outbox rows are committed and the relay was idle (the doorbell said so): publish now rather than at the next poll. */
  | { readonly type: 'outbox-wakeup' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'closed' };
