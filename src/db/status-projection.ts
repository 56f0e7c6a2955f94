// What the status projector takes from a batch of `orders` records (pure, no I/O):
// the last final decision per order.
//
// `orders` carries more than decisions: the outbox's NEW records, tombstones, and
// whatever a foreign producer wrote. Only a final status (the saga's decisions, and
// FAILED) changes the row; the rest is passed over, and still committed, because
// nothing about it can ever change Postgres.
import type { Id64 } from '../domain/id64.js';

/** The statuses the stream decides (spec "The saga decision"), plus FAILED. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['CONFIRMED', 'REJECTED', 'ROLLBACK', 'FAILED']);

export interface ProjectableRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value?: Buffer | null | undefined;
}

export interface Decision {
  readonly orderId: Id64;
  readonly status: string;
  readonly source: string | null;
  /** Where the decision was read, for a log line naming a record Postgres refused. */
  readonly partition: number;
  readonly offset: number;
}

export interface Projection {
  /** The last final decision per order, in the order the records came. */
  readonly decisions: ReadonlyMap<Id64, Decision>;
  /** Records that are no OrderDto (tombstones, foreign bytes): the stream dead-letters them. */
  readonly notOrderDtos: number;
  /** OrderDtos with a status that is not final (NEW, ...). */
  readonly notFinal: number;
}

/** The parts of an OrderDto the projection reads; the parser throws on anything else. */
export type ParseDecision = (value: Buffer) => { orderId: Id64; status: string; source: string | null };

export function projectDecisions(records: readonly ProjectableRecord[], parse: ParseDecision): Projection {
  const decisions = new Map<Id64, Decision>();
  let notOrderDtos = 0;
  let notFinal = 0;
  for (const r of records) {
    if (r.value === null || r.value === undefined) {
      notOrderDtos++;
      continue;
    }
    let dto: ReturnType<ParseDecision>;
    try {
      dto = parse(r.value);
    } catch {
      notOrderDtos++;
      continue;
    }
    if (!FINAL_STATUSES.has(dto.status)) {
      notFinal++;
      continue;
    }
    // A later decision for the same order replaces the earlier one, as applying them
    // one by one would.
    decisions.delete(dto.orderId);
    decisions.set(dto.orderId, { orderId: dto.orderId, status: dto.status, source: dto.source, partition: r.partition, offset: r.offset });
  }
  return { decisions, notOrderDtos, notFinal };
}

export interface NextOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read: one past the last record of the batch on that partition. */
  readonly offset: number;
}
