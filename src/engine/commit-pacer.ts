// When the stream loop closes its transaction. Kafka Streams commits every
// commit.interval.ms, whatever the load: under exactly-once a record's outputs are
// invisible to read_committed readers until then, so every hop of the saga waits for
// half an interval on average (POST → NEW → participants → answers → decision: two
// hops, about one interval end to end at the default of 1 s).
//
//   fixed     commit once COMMIT_INTERVAL_MS has passed since the last commit.
//   adaptive  (the default) commit as soon as the loop has caught up with its input
//             (the last poll returned less than a full batch) and at least as long
//             as a commit costs has passed since the last one, so no more than
//             about half of the loop's time goes to committing. COMMIT_INTERVAL_MS
//             stays the upper bound. Light load: a commit right after each small
//             batch, outputs visible within milliseconds. Rising load: commits take
//             longer and batches grow with them, which is Nagle's or a group
//             commit's self-clocking. Saturation: the loop never catches up, commits
//             fall back to the interval and batch as fully as the fixed mode does.
//
// The cost of a commit is tracked as an exponentially weighted moving average of the
// whole two-phase commit (prepare, flush, transaction, postCommit).

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

  /**
   * Whether to commit now. `caughtUp`: the last poll brought less than a full batch.
   * `pending`: something was processed since the last commit.
   */
  due(now: number, caughtUp: boolean, pending: boolean): boolean {
    const elapsed = now - this.#lastCommit;
    if (elapsed >= this.#options.intervalMs) return true;
    if (this.#options.mode === 'fixed' || !pending || !caughtUp) return false;
    return elapsed >= Math.max(this.#options.minIntervalMs, this.#costMs);
  }

  /** A commit started at `startedAt` and ended at `now`; `committed` false when there was nothing to commit. */
  committed(startedAt: number, now: number, committed: boolean): void {
    this.#lastCommit = now;
    if (!committed) return;
    const took = now - startedAt;
    this.#costMs = this.#costMs === 0 ? took : this.#costMs + COST_WEIGHT * (took - this.#costMs);
  }
}
