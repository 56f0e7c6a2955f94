// Messages between the main thread (which owns every librdkafka handle) and the HTTP
// thread. One union per direction; the worker's data is the frozen Config.
import type { Config } from '../config.js';
import type { OutboxStats } from '../db/outbox-relay.js';

export interface HttpThreadData {
  readonly config: Config;
}

export type MainToHttp =
  | { readonly type: 'outbox-stats'; readonly stats: OutboxStats }
  /** Stop listening, finish what is in flight, close the pool, then say 'closed'. */
  | { readonly type: 'shutdown' };

export type HttpToMain =
  | { readonly type: 'listening'; readonly port: number; readonly nodeId: number }
  /** New outbox rows are committed: publish now rather than at the next poll. */
  | { readonly type: 'outbox-wakeup' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'closed' };
