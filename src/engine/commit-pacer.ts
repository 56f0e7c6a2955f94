// When the stream loop closes its transaction. Kafka Streams commits every
// commit.interval.ms, whatever the load: under exactly-once a record's outputs are
// invisible to read_committed readers until then, so every hop of the saga waits for
// half an interval on average (POST → NEW → participants → answers → decision: two
// hops, about one interval end to end at the default of 1 s).
//
//   fixed     commit once COMMIT_INTERVAL_MS has passed since the last commit.
//   adaptive  (the default) commit as soon as the loop has caught up with its input
//             (the last poll returned less than a full batch), the open transaction
//             has outputs, and enough time has passed since the last commit;
//             COMMIT_INTERVAL_MS stays the upper bound.
//
// Outputs (decisions, dead letters, repartitioned records) are what a commit makes
// visible to somebody waiting: the participants and readers of `orders`, this
// engine's own repartitioned inputs. A transaction of state changes only (changelog
// records and consumed offsets: NEW orders taken into the store, a first answer
// joined) hides nothing anyone waits for. The store is read from the cache as records
// are processed, and the outbox relay's NEW records are not behind it, since outputs
// are sent at the commit (commit-cycle.ts). Such a transaction waits for the interval,
// as in the fixed mode. Under intake without participants, committing each one as
// soon as the loop caught up made 18 transactions a second against 1, and the broker
// spent half as much CPU again per order (docs/performance.md).
//
// "Enough time" is one commit's cost (a moving average), so committing takes at most
// about half of the loop's time: at light load a commit costs milliseconds and outputs
// are visible within milliseconds; as load rises each commit carries more records and
// the broker, Postgres and this process compete for the cores, so commits cost more
// and the wait lengthens with them, toward COMMIT_INTERVAL_MS. A loop that never
// catches up commits at the interval.
//
// The wait is linear in the cost on purpose. The cost depends on the wait (a longer
// wait makes a bigger transaction), so with wait = k × cost a commit settles at
// a / (1 − (k + 1)·b·λ) (a: its fixed part, b: its cost per record, λ: records per ms)
// as long as (k + 1)·b·λ < 1, and k = 1 leaves the widest margin that still bounds
// the time spent committing. An earlier rule stretched the wait with the square of the
// cost over the cheapest commits lately, to batch like the fixed mode at saturation.
// But the cheapest commits are those of the lightest load, so that ratio measured the
// load, not congestion, and fed back on itself: after a step from 200 to 2,000 orders/s
// on 2 cores, commits went from 8 ms to 45, the wait to 400 ms, bigger transactions
// cost 150 ms, and the wait stayed at COMMIT_INTERVAL_MS for the rest of the run
// (POST → decision p95 1.25 s, where commits at their cost kept it at 0.27 s).
// COMMIT_MODE=fixed is the setting for a pod run at its capacity (docs/performance.md).

import type { CommitMode } from '../config.js';

/** Weight of the newest commit in the moving average of commit durations. */
const COST_WEIGHT = 0.2;

export interface CommitPacerOptions {
  readonly mode: CommitMode;
  /** COMMIT_INTERVAL_MS: the longest a transaction stays open (fixed: always this long). */
  readonly intervalMs: number;
  /** Adaptive: the shortest gap between commits, whatever they cost. */
  readonly minIntervalMs: number;
}

export class CommitPacer {
  readonly #options: CommitPacerOptions;
  #lastCommit: number;
  #costMs = 0;

  constructor(options: CommitPacerOptions, now: number) {
    this.#options = options;
    this.#lastCommit = now;
  }

  /** The moving average of what a commit costs, in ms. */
  get costMs(): number {
    return this.#costMs;
  }

  /** How long after a commit the next may start, in ms (fixed: the interval). */
  get waitMs(): number {
    if (this.#options.mode === 'fixed') return this.#options.intervalMs;
    return Math.min(this.#options.intervalMs, Math.max(this.#options.minIntervalMs, this.#costMs));
  }

  /**
   * Whether to commit now. `caughtUp`: the last poll brought less than a full batch.
   * `pending`: something was processed since the last commit. `outputs`: what was
   * processed since then made outputs, which the commit makes visible.
   */
  due(now: number, caughtUp: boolean, pending: boolean, outputs: boolean): boolean {
    if (!pending) return false;
    const elapsed = now - this.#lastCommit;
    if (elapsed >= this.#options.intervalMs) return true;
    return caughtUp && outputs && elapsed >= this.waitMs;
  }

  /**
   * A commit started at `startedAt` and ended at `now`; `committed` false when nothing
   * was committed (nothing to commit, or it failed). Only a commit moves the clock: the
   * first batch after an idle spell, a restore or a failure is committed as soon as it
   * is processed, not up to an interval later (after a restart's restore, that interval
   * was most of the last second before decisions flowed again).
   */
  committed(startedAt: number, now: number, committed: boolean): void {
    if (!committed) return;
    this.#lastCommit = now;
    const took = now - startedAt;
    this.#costMs = this.#costMs === 0 ? took : this.#costMs + COST_WEIGHT * (took - this.#costMs);
  }
}
