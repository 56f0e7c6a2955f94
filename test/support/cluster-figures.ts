// How a fault moved and stopped a group of instances, computed from what the
// multi-instance fault tests observed from outside: each instance's readiness and,
// per partition, how its store answered a probe (test/fault/cluster-watch.ts), and
// each order's decision arriving on `orders`. Pure; times are performance.now() ms.
//
// - owners: an instance *serves* partition p when its store answers for p (200 or
//   404: only a running owner can say an order is not there); 503 "not owned" or
//   "not ready" does not serve. Two instances serving one partition at once is
//   counted (a partitioned instance that still answers for tasks moved away).
// - decisions back: per partition, from the fault's start to the first decision of
//   an order on it POSTed since that start: the tasks work again.
// - store gap: per partition, the longest time in the fault's interval during which
//   no instance served it.
// - rebalance spans: per instance, each time its readiness said streams DOWN while it
//   answered (a rebalance or restore; an instance that does not answer is down, not
//   rebalancing).

export type StoreAnswer = 'serving' | 'not-owned' | 'not-ready' | 'unreachable' | 'other';

export interface WatchSample {
  readonly at: number;
  readonly instance: string;
  /** The readiness's streams component; 'unreachable' when the instance did not answer. */
  readonly streams: 'UP' | 'DOWN' | 'unreachable';
  /** One answer per partition, index = partition. */
  readonly store: readonly StoreAnswer[];
}

export interface Span {
  readonly instance: string;
  readonly start: number;
  readonly end: number;
}

/** Samples in time order, each instance's state replayed: calls `visit` after each sample with every instance's latest. */
function replay(samples: readonly WatchSample[], visit: (at: number, latest: ReadonlyMap<string, WatchSample>) => void): void {
  const latest = new Map<string, WatchSample>();
  for (const s of [...samples].sort((a, b) => a.at - b.at)) {
    latest.set(s.instance, s);
    visit(s.at, latest);
  }
}

/** Which instances serve each partition, by their latest sample at or before `at`. */
export function ownersAt(samples: readonly WatchSample[], at: number, numPartitions: number): Set<string>[] {
  const owners = Array.from({ length: numPartitions }, () => new Set<string>());
  const latest = new Map<string, WatchSample>();
  for (const s of samples) if (s.at <= at && (latest.get(s.instance)?.at ?? -Infinity) < s.at) latest.set(s.instance, s);
  for (const s of latest.values()) s.store.forEach((answer, p) => answer === 'serving' && owners[p]?.add(s.instance));
  return owners;
}

/** Per partition, the last instances that served it at or before `at` (empty: none ever did). */
export function lastOwners(samples: readonly WatchSample[], at: number, numPartitions: number): Set<string>[] {
  const owners = Array.from({ length: numPartitions }, () => new Set<string>());
  replay(
    samples.filter((s) => s.at <= at),
    (_, latest) => {
      for (let p = 0; p < numPartitions; p++) {
        const now = [...latest.values()].filter((s) => s.store[p] === 'serving').map((s) => s.instance);
        if (now.length > 0) owners[p] = new Set(now);
      }
    },
  );
  return owners;
}

/**
 * Partitions that moved in (from, to]: at some moment one was served by another set
 * of instances than the last that served it by `from` (not by none: a partition
 * nobody serves for a while, as in a rebalance, has not moved yet). A partition that
 * moved and came back counts.
 */
export function movedPartitions(samples: readonly WatchSample[], from: number, to: number, numPartitions: number): number[] {
  const before = lastOwners(samples, from, numPartitions);
  const moved = new Set<number>();
  replay(
    samples.filter((s) => s.at <= to),
    (at, latest) => {
      if (at <= from) return;
      for (let p = 0; p < numPartitions; p++) {
        const now = [...latest.values()].filter((s) => s.store[p] === 'serving').map((s) => s.instance);
        const was = before[p]!;
        if (now.length > 0 && (now.length !== was.size || now.some((i) => !was.has(i)))) moved.add(p);
      }
    },
  );
  return [...moved].sort((a, b) => a - b);
}

/**
 * Per partition: ms from `from` to the first moment in (from, to] at which an
 * instance that had not served it by `from` served it (its new owner took it);
 * undefined when none did. The decisions alone do not tell: an instance that was
 * SIGTERMed or partitioned may go on deciding its old tasks for a while.
 */
export function newOwnerServing(samples: readonly WatchSample[], from: number, to: number, numPartitions: number): (number | undefined)[] {
  const before = lastOwners(samples, from, numPartitions);
  const at: (number | undefined)[] = Array<number | undefined>(numPartitions).fill(undefined);
  replay(
    samples.filter((s) => s.at <= to),
    (t, latest) => {
      if (t <= from) return;
      for (let p = 0; p < numPartitions; p++)
        if (at[p] === undefined && [...latest.values()].some((s) => s.store[p] === 'serving' && !before[p]!.has(s.instance))) at[p] = t - from;
    },
  );
  return at;
}

/** Per partition, the longest time in [from, to] during which no instance served it (0: always served). */
export function storeGaps(samples: readonly WatchSample[], from: number, to: number, numPartitions: number): number[] {
  const gaps = Array<number>(numPartitions).fill(0);
  // Unserved at `from` (by the samples before it): the gap counts from `from`.
  const unservedSince = ownersAt(samples, from, numPartitions).map((owners) => (owners.size === 0 ? from : undefined));
  const served = (latest: ReadonlyMap<string, WatchSample>, p: number): boolean => [...latest.values()].some((s) => s.store[p] === 'serving');
  replay(
    samples.filter((s) => s.at <= to),
    (at, latest) => {
      if (at <= from) return;
      for (let p = 0; p < numPartitions; p++) {
        if (served(latest, p)) {
          const since = unservedSince[p];
          if (since !== undefined) gaps[p] = Math.max(gaps[p]!, at - since);
          unservedSince[p] = undefined;
        } else unservedSince[p] ??= at;
      }
    },
  );
  for (let p = 0; p < numPartitions; p++) {
    const since = unservedSince[p];
    if (since !== undefined) gaps[p] = Math.max(gaps[p]!, to - since);
  }
  return gaps;
}

/** How many sample moments in [from, to] had a partition served by two instances or more. */
export function doubleServed(samples: readonly WatchSample[], from: number, to: number, numPartitions: number): number {
  let n = 0;
  replay(
    samples.filter((s) => s.at <= to),
    (at, latest) => {
      if (at < from) return;
      for (let p = 0; p < numPartitions; p++) if ([...latest.values()].filter((s) => s.store[p] === 'serving').length > 1) n++;
    },
  );
  return n;
}

/** Each span, per instance, in which its readiness said streams DOWN while it answered, overlapping [from, to]. */
export function streamsDownSpans(samples: readonly WatchSample[], from: number, to: number): Span[] {
  const spans: Span[] = [];
  const open = new Map<string, number>();
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  for (const s of sorted) {
    const since = open.get(s.instance);
    if (s.streams === 'DOWN') {
      if (since === undefined) open.set(s.instance, s.at);
    } else if (since !== undefined) {
      open.delete(s.instance);
      spans.push({ instance: s.instance, start: since, end: s.at });
    }
  }
  const last = sorted.at(-1)?.at ?? to;
  for (const [instance, since] of open) spans.push({ instance, start: since, end: last });
  return spans.filter((sp) => sp.end >= from && sp.start <= to).sort((a, b) => a.start - b.start);
}

export interface DecidedOrder {
  readonly id: string;
  readonly sentAt: number;
}

/**
 * Per partition: ms from `start` to the first decision of an order on it POSTed at or
 * after `start` (and arriving before `until`); undefined when none came.
 */
export function decisionsBack(
  orders: readonly DecidedOrder[],
  decidedAt: ReadonlyMap<string, number>,
  partitionOf: (id: string) => number,
  start: number,
  until: number,
  numPartitions: number,
): (number | undefined)[] {
  const first: (number | undefined)[] = Array<number | undefined>(numPartitions).fill(undefined);
  for (const o of orders) {
    if (o.sentAt < start) continue;
    const at = decidedAt.get(o.id);
    if (at === undefined || at >= until) continue;
    const p = partitionOf(o.id);
    if (first[p] === undefined || at < first[p]) first[p] = at;
  }
  return first.map((at) => (at === undefined ? undefined : at - start));
}

/** The worst of `values` at `indexes` (all of them when none given): undefined if any is undefined ("never"), or none given. */
export function worst(values: readonly (number | undefined)[], indexes?: readonly number[]): number | undefined | 'never' {
  const picked = indexes === undefined ? values : indexes.map((i) => values[i]);
  if (picked.length === 0) return undefined;
  if (picked.some((v) => v === undefined)) return 'never';
  return Math.max(...(picked as number[]));
}
