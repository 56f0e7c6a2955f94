// Who can answer a read of orders-store partition p, in the order to try them: what
// Kafka Streams' KeyQueryMetadata gives a caller (the active host, then standby hosts),
// decided here as a pure function of this instance's tasks and the directory, so tests
// call it without threads or sockets. The HTTP thread walks the list
// (src/http/cluster-store.ts).
//
//   1. this instance's RUNNING task                  answered here (cache, RocksDB)
//   2. another instance's RUNNING task               forwarded over HTTP
//   3. this instance's STANDBY task                  answered here, with its lag
//   4. another instance's STANDBY task (least lag)   forwarded, with its lag
//   nothing: 503 with Retry-After
//
// A request that was forwarded to us already is answered here or not at all (1 and 3
// only): with a stale directory, two instances that each think the other owns a
// partition would otherwise bounce the request between them. At most one other
// instance is tried per kind, so a read waits for at most two forwards' timeouts.
import type { InstanceRecord } from './instance-record.js';

/** This instance's task of a partition as the HTTP thread knows it (TaskInfo's fields we use). */
export interface LocalTask {
  readonly thread: number;
  /** 'RUNNING' answers; 'STANDBY' answers with its lag; anything else (RESTORING, unknown) does not. */
  readonly state: string;
}

export type StoreRoute =
  | { readonly kind: 'local'; readonly thread: number }
  | { readonly kind: 'local-standby'; readonly thread: number }
  | { readonly kind: 'remote'; readonly instance: InstanceRecord }
  | { readonly kind: 'remote-standby'; readonly instance: InstanceRecord; readonly lag: number | undefined };

/** Engine states in which an instance's running and standby tasks answer queries. */
const SERVING_STATES: ReadonlySet<string> = new Set(['RUNNING', 'REBALANCING']);

export interface RoutingInput {
  readonly partition: number;
  readonly local: LocalTask | undefined;
  /** Live directory records; ours among them is ignored (our own tasks are `local`). */
  readonly peers: readonly InstanceRecord[];
  readonly selfId: string;
  /** The request came from another instance: answer here or not at all. */
  readonly forwarded: boolean;
}

export function storeRoutes({ partition, local, peers, selfId, forwarded }: RoutingInput): StoreRoute[] {
  const routes: StoreRoute[] = [];
  if (local?.state === 'RUNNING') return [{ kind: 'local', thread: local.thread }];
  const others = forwarded ? [] : peers.filter((p) => p.instanceId !== selfId && SERVING_STATES.has(p.state));

  // The newest claim wins: during a move the old owner's last record may still claim
  // the partition (a crashed instance's, until its TTL ends).
  const active = others.filter((p) => p.running.includes(partition)).sort((a, b) => b.timestamp - a.timestamp)[0];
  if (active !== undefined) routes.push({ kind: 'remote', instance: active });

  if (local?.state === 'STANDBY') routes.push({ kind: 'local-standby', thread: local.thread });

  let best: { instance: InstanceRecord; lag: number | undefined } | undefined;
  for (const instance of others) {
    const standby = instance.standby.find((s) => s.partition === partition);
    if (standby === undefined) continue;
    // Least lag first; an unknown lag after every known one.
    const lag = standby.lag;
    if (best === undefined || (lag ?? Infinity) < (best.lag ?? Infinity)) best = { instance, lag };
  }
  if (best !== undefined) routes.push({ kind: 'remote-standby', instance: best.instance, lag: best.lag });
  return routes;
}

/** Why nobody can answer for a partition, for the 503's detail. */
export function unservableReason({ partition, local, forwarded }: Pick<RoutingInput, 'partition' | 'local' | 'forwarded'>): string {
  if (local !== undefined) return `orders-store partition ${partition} is ${local.state} on this instance and no other instance serves it yet; retry shortly`;
  if (forwarded) return `orders-store partition ${partition} is not served by this instance (the forwarding instance's directory is stale); retry shortly`;
  return `no instance serves orders-store partition ${partition} yet (it is being assigned or restored); retry shortly`;
}
