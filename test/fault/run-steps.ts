// The steps every fault run takes, whatever it runs on (one service and one broker in
// ./harness.ts, instances on a cluster in ./cluster-harness.ts): wait for the saga
// to keep up, drain it after the load, read `orders` from its beginning and audit it,
// count per second, stop children and bound each teardown step.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from '../support/child.js';
import type { OrderLoad } from '../support/order-load.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { type Answer, auditOrdersTopic, splitByWindow, statusOf } from '../support/saga-audit.js';
import { readCommitted } from '../support/topic-reader.js';
import type { DecisionClock } from './decision-clock.js';
import type { ScenarioResult } from './result.js';
import type { SettledViews } from './views.js';

/** Before a fault, the saga must decide every order within this... */
export const STEADY_LAG_MS = 5000;
/** ...and may take this long to get there. */
export const STEADY_WAIT_MS = 60_000;

export const round = (ms: number): number => Math.round(ms / 100) / 10;

/** Waits until `at` (performance.now()), taking in decisions meanwhile; throws once the run is stopping. */
export async function until(at: number, clock: DecisionClock | undefined, stopping: () => boolean): Promise<void> {
  while (performance.now() < at) {
    if (stopping()) throw new Error('stopped');
    clock?.update();
    await sleep(Math.min(250, Math.max(1, at - performance.now())));
  }
}

/** Orders still undecided this long are checked for answers further apart than the join window. */
const SPLIT_CHECK_AFTER_MS = 15_000;

/**
 * Orders the engine can never decide: their two answers arrived further apart than the
 * join window (a fault can hold one side back that long). Deciding them is the
 * stuck-order job's work; the audit counts them apart from lost orders. Every run
 * keeps one of these, so an order excused once is not waited for again.
 */
export interface SplitAnswers {
  readonly excused: Set<string>;
  /** Which of `ids` have both answers, further apart than the join window. */
  find(ids: readonly string[]): Promise<string[]>;
}

/** Every participant answer on the two answer topics, read_committed. */
async function readAnswers(brokers: string): Promise<(Answer & { readonly side: 'P' | 'S' })[]> {
  const answers = await Promise.all(
    (['payment-orders', 'stock-orders'] as const).map(async (topic) =>
      (await readCommitted(topic, brokers, 120_000)).map((rec) => ({ key: rec.key, timestamp: rec.timestamp, side: topic === 'payment-orders' ? ('P' as const) : ('S' as const) })),
    ),
  );
  return answers.flat();
}

export function splitAnswers(brokers: string, joinWindowMs: number): SplitAnswers {
  return {
    excused: new Set(),
    async find(ids) {
      return splitByWindow(ids, await readAnswers(brokers), joinWindowMs).split;
    },
  };
}

/**
 * Waits until the saga keeps up with the load: every order POSTed more than
 * STEADY_LAG_MS ago is decided, but for orders whose answers came further apart than
 * the join window (`split`). A fault injected while it is still warming up (the
 * first commits of a fresh engine take seconds on a busy machine) would time the
 * warm-up, not the recovery. Bounded: returns why not when it never keeps up.
 */
export async function untilSteady(load: OrderLoad, clock: DecisionClock, stopping: () => boolean, split?: SplitAnswers, waitMs = STEADY_WAIT_MS): Promise<string | undefined> {
  const deadline = performance.now() + waitMs;
  let checkSplitAt = performance.now() + SPLIT_CHECK_AFTER_MS;
  for (;;) {
    const behind = clock.undecidedIds(load.accepted, performance.now() - STEADY_LAG_MS).filter((id) => split?.excused.has(id) !== true);
    if ((behind.length === 0 && clock.decidedAt.size > 0) || stopping()) return undefined;
    if (split !== undefined && performance.now() > checkSplitAt) {
      for (const id of await split.find(behind)) split.excused.add(id);
      checkSplitAt = performance.now() + SPLIT_CHECK_AFTER_MS;
      continue;
    }
    if (performance.now() > deadline)
      return `the saga did not keep up: ${behind.length} orders POSTed over ${STEADY_LAG_MS / 1000} s earlier still undecided after ${waitMs / 1000} s`;
    await sleep(250);
  }
}

/** Waits, at most `ms`, until every accepted order has a decision on the clock's reader; returns how many have none. */
export async function drain(load: OrderLoad, clock: DecisionClock, ms: number, stopping: () => boolean): Promise<number> {
  const deadline = performance.now() + ms;
  let undecided: number;
  while ((undecided = clock.undecided(load.accepted)) > 0 && performance.now() < deadline && !stopping()) await sleep(250);
  return undecided;
}

/** Accepted (by POST time) and decided (by arrival) orders per second since `t0`. */
export function perSecond(t0: number, load: OrderLoad, clock: DecisionClock): ScenarioResult['perSecond'] {
  const count = (times: Iterable<number>): number[] => {
    const counts: number[] = [];
    for (const t of times) {
      const s = Math.floor((t - t0) / 1000);
      if (s < 0) continue;
      while (counts.length <= s) counts.push(0);
      counts[s]!++;
    }
    return counts;
  };
  const ids = new Set(load.accepted.map((o) => o.id));
  return {
    accepted: count(load.accepted.map((o) => o.sentAt)),
    decided: count([...clock.decidedAt].filter(([id]) => ids.has(id)).map(([, t]) => t)),
  };
}

export interface OrdersAudit {
  /** The audit's figures, to assign to the result. */
  readonly figures: Pick<
    ScenarioResult,
    'accepted' | 'lost' | 'splitAnswers' | 'duplicatedDecisions' | 'conflictingDecisions' | 'duplicatedNew' | 'missingNew' | 'offPartition' | 'unexpectedRecords'
  >;
  readonly samples: Record<string, string[]>;
  /** Every lost order (samples.lost holds the first few). */
  readonly lostIds: readonly string[];
  /** Each decided order's decision. */
  readonly decided: ReadonlyMap<string, string>;
  readonly records: number;
}

/**
 * The verdict on `orders`, read from its beginning (read_committed) with a fresh
 * consumer: every accepted order has exactly one NEW and one decision on its key's
 * partition. Undecided orders whose two answers the participants produced further
 * apart than the join window owe no decision (saga-audit.ts splitByWindow); the rest
 * are lost.
 */
export async function auditOrders(accepted: readonly string[], brokers: string, numPartitions: number, joinWindowMs: number): Promise<OrdersAudit> {
  const records = await readCommitted('orders', brokers, 120_000);
  const audit = auditOrdersTopic(
    accepted,
    records.map((rec) => ({ key: rec.key, partition: rec.partition, status: statusOf(rec.value) })),
    numPartitions,
  );
  let { split, lost } = { split: [] as string[], lost: audit.lost };
  const lostBy: string[] = [];
  if (audit.lost.length > 0) {
    const answers = await readAnswers(brokers);
    const splitIds = new Set(splitByWindow(audit.lost, answers, joinWindowMs).split);
    split = audit.lost.filter((id) => splitIds.has(id));
    lost = audit.lost.filter((id) => !splitIds.has(id));
    // Where a lost order was lost: before the participants (no answer), by one of
    // them (one answer), or by the join (both answers within the window); and on
    // which partition, to find the instance that owned it in the logs.
    const lostIds = new Set(lost);
    const sides = new Map<string, Set<string>>();
    for (const a of answers) if (lostIds.has(a.key)) (sides.get(a.key) ?? sides.set(a.key, new Set()).get(a.key)!).add(a.side);
    const tally = new Map<string, number>();
    for (const id of lost) {
      const s = sides.get(id);
      const kind = `${s?.has('P') ? 'P' : '-'}${s?.has('S') ? 'S' : '-'} p${partitionFor(id, numPartitions)}`;
      tally.set(kind, (tally.get(kind) ?? 0) + 1);
    }
    for (const [kind, n] of tally) lostBy.push(`${kind}: ${n}`);
  }
  const sample = (ids: readonly string[]): string[] => ids.slice(0, 5);
  return {
    figures: {
      accepted: audit.accepted,
      lost: lost.length,
      splitAnswers: split.length,
      duplicatedDecisions: audit.duplicatedDecisions.length,
      conflictingDecisions: audit.conflictingDecisions.length,
      duplicatedNew: audit.duplicatedNew.length,
      missingNew: audit.missingNew.length,
      offPartition: audit.offPartition.length,
      unexpectedRecords: audit.unexpected.length,
    },
    samples: {
      lost: sample(lost),
      // answers seen (P payment, S stock) and partition, per lost order
      lostBy,
      splitAnswers: sample(split),
      duplicatedDecisions: sample(audit.duplicatedDecisions),
      duplicatedNew: sample(audit.duplicatedNew),
      offPartition: sample(audit.offPartition),
    },
    lostIds: lost,
    decided: audit.decided,
    records: records.length,
  };
}

/**
 * Writes every record of the given orders (up to `max`) on `topics` to `file`, one
 * JSON line each in (topic, partition, offset) order: the NEW, the answers, the
 * decisions and the stores' changelog records (the join store's keys start with the
 * order id), so a lost order can be followed through the run afterwards.
 */
export async function traceOrders(ids: readonly string[], brokers: string, topics: readonly string[], file: string, max = 20): Promise<void> {
  const wanted = new Set(ids.slice(0, max));
  const idOf = (key: string): string => key.split('|')[0]!;
  const lines: string[] = [];
  for (const topic of topics) {
    const records = await readCommitted(topic, brokers, 120_000).catch((err: unknown) => {
      lines.push(JSON.stringify({ topic, error: String(err) }));
      return [];
    });
    for (const r of records) {
      if (!wanted.has(idOf(r.key))) continue;
      lines.push(JSON.stringify({ topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, status: r.value === null ? null : statusOf(r.value) }));
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** What Postgres and the store showed (views.ts settleViews), into the result. */
export function takeViews(r: ScenarioResult, views: SettledViews): void {
  r.pgMismatches = views.pgMismatches.length;
  r.storeMismatches = views.storeMismatches.length;
  r.pgAgreedAfterS = views.pgAgreedAfterMs === undefined ? null : round(views.pgAgreedAfterMs);
  r.storeAgreedAfterS = views.storeAgreedAfterMs === undefined ? null : round(views.storeAgreedAfterMs);
  r.storeAnswers = views.storeAnswers;
  r.samples.pgMismatches = views.pgMismatches.slice(0, 5);
  r.samples.storeMismatches = views.storeMismatches.slice(0, 5);
}

/** Runs a teardown step bounded by `ms`; a failure or timeout goes to `onError`, never further. */
export async function boundedStep(what: string, action: () => Promise<unknown>, ms: number, onError: (what: string, err: unknown) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([action(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`took over ${ms / 1000} s`)), ms)))]);
  } catch (err) {
    onError(what, err);
  } finally {
    clearTimeout(timer);
  }
}

/** A fault run: it records what went wrong instead of throwing, and stops everything it started. */
export interface FaultRun<R> {
  readonly result: R;
  execute(): Promise<void>;
  fail(step: string, err: unknown): void;
  teardown(): Promise<void>;
  /** Synchronous last resort when the process exits: SIGKILL whatever it started. */
  killNow(): void;
}

/**
 * The runs in progress in this process: each run is executed, its failure recorded
 * and its teardown done whatever happens; a test runner that gives up (its timeout)
 * stops the ones left with `stopAll`; a process that dies without its hooks (the
 * runner killed it) still takes their children and brokers with it.
 */
export class FaultRuns<R> {
  readonly #live = new Set<FaultRun<R>>();

  constructor() {
    process.once('exit', () => {
      for (const run of this.#live) run.killNow();
    });
  }

  async run(run: FaultRun<R>): Promise<R> {
    this.#live.add(run);
    try {
      await run.execute();
    } catch (err) {
      run.fail('run', err);
    } finally {
      await run.teardown();
      this.#live.delete(run);
    }
    return run.result;
  }

  /** Stops the runs still in progress and returns what they had measured, so their rows are printed too; none in progress, none returned. */
  async stopAll(): Promise<R[]> {
    const runs = [...this.#live];
    this.#live.clear();
    for (const run of runs) run.fail('test runner', new Error('the run ran out of time and was stopped'));
    await Promise.allSettled(runs.map((run) => run.teardown()));
    return runs.map((run) => run.result);
  }
}

/** SIGTERM, and SIGKILL if it has not exited 10 s later. */
export async function stopChild(child: Child | undefined): Promise<void> {
  if (child === undefined) return;
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  try {
    await child.kill('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}

/** Copies a log beside the run's others; a log that cannot be kept is no reason to fail the run. */
export function keepLog(file: string, dest: string): void {
  try {
    if (existsSync(file)) copyFileSync(file, dest);
  } catch {
    // logs are a help, not a result
  }
}

/**
 * Reports a child that exits without the harness ending it (those in `ending`): a
 * crash of the code under test, with the last lines it printed.
 */
export function reportCrash(child: Child, ending: ReadonlySet<Child>, report: (err: Error) => void): void {
  child.process.once('exit', (code, signal) => {
    if (ending.has(child)) return;
    report(new Error(`pid ${child.process.pid} exited by itself (${code ?? signal}); its last words: ${lastWords(child.output())}`));
  });
}

/**
 * What a dead child said last: its native crash report whole when it wrote one
 * (src/native/crash-report.ts), with the two lines before it; else its last 3 lines.
 */
export function lastWords(output: string): string {
  const lines = output.trim().split('\n');
  const crash = lines.findIndex((l) => l.startsWith('=== fatal signal '));
  if (crash >= 0) return lines.slice(Math.max(0, crash - 2)).join('\n').slice(0, 6000);
  return lines.slice(-3).join(' / ').slice(0, 500);
}
