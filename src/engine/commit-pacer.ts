// When the stream loop closes its transaction. Kafka Streams commits every
// commit.interval.ms, whatever the load: under exactly-once a record's outputs are
// invisible to read_committed readers until then, so every hop of the saga waits for
// half an interval on average (POST → NEW → participants → answers → decision: two
// hops, about one interval end to end at the default of 1 s).
//
//   fixed     commit once COMMIT_INTERVAL_MS has passed since the last commit.
//   adaptive  (the default) commit as soon as the loop has caught up with its input
//             (the last poll returned less than a full batch) and enough time has
//             passed since the last commit; COMMIT_INTERVAL_MS stays the upper bound.
//
// "Enough time" is the commit's cost scaled by how congested the commit path is, the
// way TCP Vegas reads congestion from round trips longer than the shortest seen:
//
//     r    = cost / base             (cost: moving average of commit durations;
//                                     base: the cheapest commits lately)
//     wait = cost × max(1, r² / 4)
//
// Light load: commits cost about their base (r below 2 is taken for noise), the wait
// is one commit's cost, so at most half of the loop's time goes to committing, and
// outputs are visible within milliseconds. Rising load: a commit carries more records
// and the broker, Postgres and this process compete for the cores, commits take
// longer than their base and the wait grows with the square of that, toward
// COMMIT_INTERVAL_MS. Saturation (r about 8 on 2 cores): the commits batch about as
// fully as the fixed mode's; a wait of one commit's cost alone had cost 7 to 20% of
// the fixed mode's throughput in a closed-loop saga on 2 cores (about 4 times as many
// transactions, each with its own round trips, markers and smaller changelog
// batches). A loop that never catches up commits at the interval.
//
// The cost is an exponentially weighted moving average of the whole two-phase commit
// (prepare, transaction, postCommit). The base follows the cost down at once and up
// slowly (BASE_DRIFT per commit), so it tracks the machine, not one quiet moment.

import type { CommitMode } from '../config.js';

/** Weight of the newest commit in the moving average of commit durations. */
const COST_WEIGHT = 0.2;
/** How fast the base may rise toward a lasting higher cost: 0.2% per commit. */
const BASE_DRIFT = 1.002;

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
  #baseMs = 0;

  constructor(options: CommitPacerOptions, now: number) {
    this.#options = options;
    this.#lastCommit = now;
  }

  /** The moving average of what a commit costs, in ms. */
  get costMs(): number {
    return this.#costMs;
  }

  /** What commits cost when nothing is congested (the cheapest lately), in ms. */
  get baseMs(): number {
    return this.#baseMs;
  }

  /** How long after a commit the next may start, in ms (fixed: the interval). */
  get waitMs(): number {
    if (this.#options.mode === 'fixed') return this.#options.intervalMs;
    const r = this.#baseMs > 0 ? this.#costMs / this.#baseMs : 1;
    return Math.min(this.#options.intervalMs, Math.max(this.#options.minIntervalMs, this.#costMs * Math.max(1, (r * r) / 4)));
  }

  /**
   * Whether to commit now. `caughtUp`: the last poll brought less than a full batch.
   * `pending`: something was processed since the last commit.
   */
  due(now: number, caughtUp: boolean, pending: boolean): boolean {
    if (!pending) return false;
    const elapsed = now - this.#lastCommit;
    if (elapsed >= this.#options.intervalMs) return true;
    return caughtUp && elapsed >= this.waitMs;
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
    this.#baseMs = this.#baseMs === 0 ? this.#costMs : Math.min(this.#costMs, this.#baseMs * BASE_DRIFT);
  }
}
