// What one fault scenario measured: the row of the table, and the details a
// failing run is looked into with. Plain data, saved as JSON.
import type { Scenario } from './scenarios.js';

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  accepted: number;
  /** Accepted orders without a decision that one was due for (their answers were within the join window of each other, or missing). */
  lost: number;
  /** Accepted orders without a decision whose answers were produced further apart than the join window (see saga-audit.ts splitByWindow). */
  splitAnswers: number;
  duplicatedDecisions: number;
  conflictingDecisions: number;
  duplicatedNew: number;
  missingNew: number;
  offPartition: number;
  unexpectedRecords: number;
  pgMismatches: number;
  storeMismatches: number;
  /** Seconds from the fault's end (see scenarios.ts) to the first decision of an order POSTed since the fault began; null: none came. */
  recoveryS: number | null;
  /** Worst POST → decision of the orders POSTed in the 5 s before the fault; 'never' if one was not decided. */
  worstInFlightS: number | 'never' | null;
  longestStallS: number | null;
  acceptedAfterFault: number;
  /** POSTs sent, and the answers other than 201 (by status) and the failures (by code). */
  posts: { sent: number; refused: Record<string, number>; failed: Record<string, number> };
  /** Seconds after the load started. */
  fault: { startS: number; endS: number } | null;
  loadS: number;
  /** Seconds each restarted service took to be ready. */
  restartReadyS: number[];
  /**
   * Broker faults: seconds from the kill until the service's readiness said kafka
   * DOWN, and from the broker's return until it said UP again; null: not seen.
   */
  kafkaReadiness: { downAfterS: number | null; upAfterS: number | null } | null;
  /** Seconds, after every decision was on `orders`, until Postgres (the store) showed them all; null: not within the settle time. */
  pgAgreedAfterS: number | null;
  storeAgreedAfterS: number | null;
  storeAnswers: Record<string, number>;
  timeline: { atS: number; event: string }[];
  /** Accepted (by POST time) and decided (by arrival) orders per second of the run. */
  perSecond: { accepted: number[]; decided: number[] };
  /** A few ids of each kind of failure, to look into. */
  samples: Record<string, unknown[]>;
  errors: string[];
  logDir: string;
}

/** A result with nothing measured yet: a run that fails early reports zeros, nulls and its errors. */
export function emptyResult(scenario: Pick<Scenario, 'title'> & { readonly name: string }, logDir: string): ScenarioResult {
  return {
    scenario: scenario.name,
    title: scenario.title,
    accepted: 0,
    lost: 0,
    splitAnswers: 0,
    duplicatedDecisions: 0,
    conflictingDecisions: 0,
    duplicatedNew: 0,
    missingNew: 0,
    offPartition: 0,
    unexpectedRecords: 0,
    pgMismatches: 0,
    storeMismatches: 0,
    recoveryS: null,
    worstInFlightS: null,
    longestStallS: null,
    acceptedAfterFault: 0,
    posts: { sent: 0, refused: {}, failed: {} },
    fault: null,
    loadS: 0,
    restartReadyS: [],
    kafkaReadiness: null,
    pgAgreedAfterS: null,
    storeAgreedAfterS: null,
    storeAnswers: {},
    timeline: [],
    perSecond: { accepted: [], decided: [] },
    samples: {},
    errors: [],
    logDir,
  };
}
