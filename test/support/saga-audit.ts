// What a saga run must end with, checked from the outside: every accepted order has
// exactly one NEW record and exactly one decision on `orders`, both on the partition
// Kafka's default partitioner gives its key, and every other view of the order (the
// Postgres row, the orders-store) shows that decision. Pure: the fault tests feed it
// what they read from the broker, Postgres and the HTTP API.
import { partitionFor } from '../../src/kafka/partitioner.js';

/** The saga's decisions: what the join writes to `orders` (spec "The saga decision"). */
export const DECISIONS: ReadonlySet<string> = new Set(['CONFIRMED', 'REJECTED', 'ROLLBACK']);

export interface OrdersRecord {
  readonly key: string;
  readonly partition: number;
  /** The OrderDto's status; undefined when the value is not an OrderDto. */
  readonly status: string | undefined;
}

export interface TopicAudit {
  readonly accepted: number;
  /** Each decided order's decision (its first, when there are several). */
  readonly decided: ReadonlyMap<string, string>;
  /** Accepted orders without a decision. */
  readonly lost: readonly string[];
  /** Accepted orders without a NEW record. */
  readonly missingNew: readonly string[];
  /** Orders with more than one decision record. */
  readonly duplicatedDecisions: readonly string[];
  /** Orders whose decision records disagree (a subset of duplicatedDecisions). */
  readonly conflictingDecisions: readonly string[];
  /** Orders with more than one NEW record. */
  readonly duplicatedNew: readonly string[];
  /** Orders with a record (NEW or decision) on another partition than their key's. */
  readonly offPartition: readonly string[];
  /** Orders with a record that is neither NEW nor a decision. */
  readonly unexpected: readonly string[];
}

/** The status of an `orders` value, or undefined if it is not a JSON object with one. */
export function statusOf(value: Buffer): string | undefined {
  try {
    const status = (JSON.parse(value.toString()) as { status?: unknown }).status;
    return typeof status === 'string' ? status : undefined;
  } catch {
    return undefined;
  }
}

/** Audits the accepted orders against everything read from `orders`. */
export function auditOrdersTopic(accepted: Iterable<string>, records: Iterable<OrdersRecord>, numPartitions: number): TopicAudit {
  const ids = new Set(accepted);
  const news = new Map<string, number>();
  const decisions = new Map<string, string[]>();
  const offPartition = new Set<string>();
  const unexpected = new Set<string>();
  for (const r of records) {
    if (!ids.has(r.key)) continue;
    if (r.partition !== partitionFor(r.key, numPartitions)) offPartition.add(r.key);
    if (r.status === 'NEW') news.set(r.key, (news.get(r.key) ?? 0) + 1);
    else if (r.status !== undefined && DECISIONS.has(r.status)) decisions.set(r.key, [...(decisions.get(r.key) ?? []), r.status]);
    else unexpected.add(r.key);
  }
  const decided = new Map<string, string>();
  const lost: string[] = [];
  const missingNew: string[] = [];
  const duplicatedDecisions: string[] = [];
  const conflictingDecisions: string[] = [];
  const duplicatedNew: string[] = [];
  for (const id of ids) {
    const d = decisions.get(id);
    if (d === undefined) lost.push(id);
    else {
      decided.set(id, d[0]!);
      if (d.length > 1) duplicatedDecisions.push(id);
      if (new Set(d).size > 1) conflictingDecisions.push(id);
    }
    const n = news.get(id) ?? 0;
    if (n === 0) missingNew.push(id);
    if (n > 1) duplicatedNew.push(id);
  }
  return {
    accepted: ids.size,
    decided,
    lost,
    missingNew,
    duplicatedDecisions,
    conflictingDecisions,
    duplicatedNew,
    offPartition: [...offPartition],
    unexpected: [...unexpected],
  };
}

export interface Answer {
  readonly key: string;
  /** When the participant produced it (the record's Kafka timestamp). */
  readonly timestamp: number;
}

/**
 * Splits undecided orders into those whose answers the saga's rule does not join,
 * a payment and a stock answer produced further apart than the join window (spec:
 * "records within 10 s of each other"): an outage can split them, one answered just
 * before the broker went away, the other after it came back, and the engine joined
 * that pair neither by timestamp nor by processing time. No decision is due for them
 * (the stuck-order job's work); every other undecided order is lost.
 */
export function splitByWindow(undecided: readonly string[], answers: Iterable<Answer & { readonly side: 'P' | 'S' }>, windowMs: number): { split: string[]; lost: string[] } {
  const wanted = new Set(undecided);
  const times = new Map<string, { P: number[]; S: number[] }>();
  for (const a of answers) {
    if (!wanted.has(a.key)) continue;
    let t = times.get(a.key);
    if (t === undefined) times.set(a.key, (t = { P: [], S: [] }));
    t[a.side].push(a.timestamp);
  }
  const split: string[] = [];
  const lost: string[] = [];
  for (const id of undecided) {
    const t = times.get(id);
    const apart = t !== undefined && t.P.length > 0 && t.S.length > 0 && t.P.every((p) => t.S.every((s) => Math.abs(p - s) > windowMs));
    (apart ? split : lost).push(id);
  }
  return { split, lost };
}

/** The decided orders another view shows differently (or not at all: undefined). */
export function disagreeing(decided: ReadonlyMap<string, string>, seen: ReadonlyMap<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [id, status] of decided) if (seen.get(id) !== status) out.push(id);
  return out;
}
