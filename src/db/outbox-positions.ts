// The offset arithmetic of the outbox relay, pure so tests call it without a broker.
//
// A relay instance's *confirmed position* on a partition is the offset after the last
// record of its last confirmed (marked) batch there. The relay produces a batch only
// once the previous one was acknowledged and marks batches in order, so every record it
// sent for a row that is not yet completed lies at or past its confirmed position: the
// tail from there to the partition's end is all a scan needs to read to tell which
// orphans already landed.
import type { Delivery } from '../kafka/producer.js';

/** The record header that carries the outbox row's id (decimal). */
export const OUTBOX_ID_HEADER = 'outbox-id';

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface Watermarks {
  readonly topic: string;
  readonly partition: number;
  /** The first offset still in the log. */
  readonly low: number;
  /** The offset the next record will get (what read_uncommitted reads up to). */
  readonly high: number;
}

export interface ScanRange {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly from: number;
  /** Offset to stop before. */
  readonly to: number;
}

const keyOf = (topic: string, partition: number): string => `${topic}:${partition}`;

/** Per topic-partition, the offset after the highest delivered one. */
export function nextOffsets(deliveries: readonly Delivery[]): PartitionOffset[] {
  const next = new Map<string, PartitionOffset>();
  for (const d of deliveries) {
    const k = keyOf(d.topic, d.partition);
    const seen = next.get(k);
    if (seen === undefined || d.offset + 1 > seen.offset) next.set(k, { topic: d.topic, partition: d.partition, offset: d.offset + 1 });
  }
  return [...next.values()];
}

/**
 * Positions to insert for partitions an instance has none for, before its first claim.
 * An instance with no position at all on the topic has sent nothing there yet: it
 * starts at the end. One that has positions on other partitions of the topic may have
 * sent to a partition added since: it starts at the beginning of that partition, so a
 * scan can never skip a record it sent.
 */
export function initialPositions(existing: readonly PartitionOffset[], watermarks: readonly Watermarks[]): PartitionOffset[] {
  const known = new Set(existing.map((p) => keyOf(p.topic, p.partition)));
  const topicsKnown = new Set(existing.map((p) => p.topic));
  return watermarks
    .filter((w) => !known.has(keyOf(w.topic, w.partition)))
    .map((w) => ({ topic: w.topic, partition: w.partition, offset: topicsKnown.has(w.topic) ? w.low : w.high }));
}

export interface TailPlan {
  /** Non-empty ranges to read, from the confirmed position to the end. */
  readonly ranges: ScanRange[];
  /** Partitions with no confirmed position: read from their beginning. */
  readonly unpositioned: string[];
  /** Partitions whose position is below the log start (deleted by retention): what was there cannot be checked. */
  readonly truncated: string[];
}

/** The tail of each partition past an instance's confirmed positions. */
export function tailRanges(positions: readonly PartitionOffset[], watermarks: readonly Watermarks[]): TailPlan {
  const at = new Map(positions.map((p) => [keyOf(p.topic, p.partition), p.offset]));
  const plan: TailPlan = { ranges: [], unpositioned: [], truncated: [] };
  for (const w of watermarks) {
    const k = keyOf(w.topic, w.partition);
    const position = at.get(k);
    if (position === undefined) plan.unpositioned.push(k);
    else if (position < w.low) plan.truncated.push(k);
    const from = Math.max(position ?? w.low, w.low);
    if (from < w.high) plan.ranges.push({ topic: w.topic, partition: w.partition, from, to: w.high });
  }
  return plan;
}

/** The outbox id a record carries, or undefined when it has none (a stream decision) or a malformed one. */
export function outboxIdOf(headers: readonly Readonly<Record<string, string | Buffer | Uint8Array>>[] | undefined): number | undefined {
  if (headers === undefined) return undefined;
  for (const header of headers) {
    const value = header[OUTBOX_ID_HEADER];
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
    if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
    const id = Number(text);
    return Number.isSafeInteger(id) ? id : undefined;
  }
  return undefined;
}
