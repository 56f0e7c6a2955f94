// Each fault's row of the multi-instance fault run, computed after the load from what
// the run observed: the windows of the faults, the POST counts at each fault's start,
// the decisions' arrivals, the watch's samples of every instance (readiness, store
// per partition) and the instances' logs (restores). A fault's figures are taken over
// its interval: from its start to the next fault's start, or the end of the load.
import { partitionFor } from '../../src/kafka/partitioner.js';
import { decisionsBack, doubleServed, movedPartitions, newOwnerServing, ownersAt, storeGaps, streamsDownSpans, worst, type WatchSample } from '../support/cluster-figures.js';
import { readInstanceLog } from '../support/instance-logs.js';
import type { AcceptedOrder } from '../support/order-load.js';
import { recoveryFigures } from '../support/recovery-time.js';
import type { ClusterFaultResult, Seconds } from './cluster-result.js';
import type { ClusterFaultOutcome } from './cluster-scenarios.js';
import { round } from './run-steps.js';

/** The load's counts at one moment. */
export interface PostCounts {
  accepted: number;
  refused: Record<string, number>;
  failed: Record<string, number>;
}

export interface RunObservations {
  /** When the load started (performance.now()): rows say seconds after it. */
  readonly t0: number;
  readonly loadEnd: number;
  readonly numPartitions: number;
  readonly accepted: readonly AcceptedOrder[];
  readonly decidedAt: ReadonlyMap<string, number>;
  readonly samples: readonly WatchSample[];
  /** Every process each instance ran, its whole output. */
  readonly logs: readonly { readonly instance: string; readonly output: string }[];
}

const seconds = (ms: number | undefined | 'never'): Seconds => (ms === undefined ? null : ms === 'never' ? 'never' : round(ms));

/** The POSTs between two counts: accepted, and the others by status or error. */
function postsBetween(a: PostCounts, b: PostCounts): ClusterFaultResult['posts'] {
  const delta = (x: Record<string, number>, y: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(y).map(([key, n]) => [key, n - (x[key] ?? 0)]).filter(([, n]) => (n as number) > 0));
  return { accepted: b.accepted - a.accepted, refused: delta(a.refused, b.refused), failed: delta(a.failed, b.failed) };
}

/** Fills rows[k] from windows[k]; `counts` has one entry per fault's start and one at the load's end. */
export function fillFaultRows(rows: ClusterFaultResult[], windows: readonly ClusterFaultOutcome[], counts: readonly PostCounts[], o: RunObservations): void {
  const n = o.numPartitions;
  const partitionOf = (id: string): number => partitionFor(id, n);
  // Log times are epoch ms; the rest is performance.now().
  const logs = o.logs.map(({ instance, output }) => ({ instance, log: readInstanceLog(output) }));
  const toNow = (epochMs: number): number => epochMs - performance.timeOrigin;
  windows.forEach((w, k) => {
    const row = rows[k]!;
    const until = windows[k + 1]?.start ?? o.loadEnd;
    row.startS = round(w.start - o.t0);
    row.endS = round(w.end - o.t0);
    row.untilS = round(until - o.t0);
    row.moved = movedPartitions(o.samples, w.start, until, n);
    const back = decisionsBack(o.accepted, o.decidedAt, partitionOf, w.start, until, n);
    row.decisionsBackS = back.map((ms) => (ms === undefined ? null : round(ms)));
    const owner = newOwnerServing(o.samples, w.start, until, n);
    row.newOwnerS = owner.map((ms, partition) => (ms === undefined || !row.moved.includes(partition) ? null : round(ms)));
    const served = back.map((ms, partition) => (ms === undefined || owner[partition] === undefined ? undefined : Math.max(ms, owner[partition])));
    row.movedBackS = row.moved.length === 0 ? null : seconds(worst(served, row.moved));
    row.allBackS = seconds(worst(back));
    row.storeGapS = storeGaps(o.samples, w.start, until, n).map(round);
    const rec = recoveryFigures(o.accepted, o.decidedAt, w, until);
    row.recoveryS = rec.recoveryMs === undefined ? null : round(rec.recoveryMs);
    row.rebalances = streamsDownSpans(o.samples, w.start, until).map((sp) => ({ instance: sp.instance, startS: round(sp.start - o.t0), s: round(sp.end - sp.start) }));
    for (const { instance, log } of logs)
      for (const a of log.assignments) {
        const at = toNow(a.time);
        if (at >= w.start && at < until) row.assignments.push({ instance, atS: round(at - o.t0), partitions: [...a.partitions] });
      }
    row.assignments.sort((a, b) => a.atS - b.atS);
    let records = 0;
    let took = 0;
    for (const { instance, log } of logs)
      for (const r of log.restores) {
        const at = toNow(r.startedAt);
        if (at < w.start || at >= until) continue;
        const s = r.doneAt === undefined ? null : (r.doneAt - r.startedAt) / 1000;
        row.restores.push({ instance, records: r.records, s });
        if (s !== null) {
          records += r.records;
          took += s;
        }
      }
    row.restoreRatePerS = took > 0 ? Math.round(records / took) : null;
    row.doubleServed = doubleServed(o.samples, w.start, until, n);
    row.targetServing = ownersAt(o.samples, until, n).flatMap((owners, partition) => (owners.has(w.target) ? [partition] : []));
    row.posts = postsBetween(counts[k]!, counts[k + 1]!);
  });
}
