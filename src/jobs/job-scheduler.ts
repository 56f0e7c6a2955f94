// Runs each scheduled job once per period across all instances, on pg-boss (Postgres;
// its own schema `pgboss`). The original uses JobRunr for the same.
//
// How "once" holds: every instance offers a run of each job several times per period
// with pg-boss' throttled send: a job row keyed by (queue, slot), where the slot is the
// period's multiple since the epoch by Postgres' clock, and a unique index lets only
// the first offer of a slot in. Whichever instance's worker fetches that row runs it;
// the queue's `singleton` policy keeps a second run from starting while one is active
// (a run longer than its period delays the next instead of overlapping it). A run that
// fails is not retried: the next slot is the retry. An instance that dies mid-run
// leaves an active job that pg-boss expires after `expireSeconds`.
//
// Why pg-boss over a bare advisory lock: a lock says "one at a time", not "once per
// period" (two instances with drifting timers each take it in turn); the slot row
// does, and pg-boss also expires runs of dead instances and keeps a history.
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { recordRun } from './job-status.js';
import { handlePgBossCompletions } from './pg-boss-completions.js';
import type { JobResult, ScheduledJob } from './scheduled-job.js';

export interface JobSchedulerOptions {
  /** Prefix of the queue names (APPLICATION_ID): services sharing a database keep their own jobs. */
  readonly queuePrefix: string;
  readonly instanceId: string;
}

/** What this instance knows of a job: its own runs, and the last gauges it measured. */
export interface JobStats {
  readonly name: string;
  readonly periodMs: number;
  /** Runs this instance made. */
  readonly runs: number;
  readonly failures: number;
  /** Counts summed over this instance's runs. */
  readonly totals: JobResult;
  readonly lastRunAt: string | undefined;
  readonly lastError: string | undefined;
  /** Start of the next slot: the earliest time the next run (on any instance) begins. */
  readonly nextRunAt: string;
  /** The job's gauges as this instance measured them last (observe()). */
  readonly observed: JobResult | undefined;
}

// A run on a dead instance holds its slot this long at most.
const EXPIRE_SECONDS = 15 * 60;
const DEADLOCK_DETECTED = '40P01';

interface Entry {
  readonly job: ScheduledJob;
  readonly queue: string;
  runs: number;
  failures: number;
  totals: Record<string, number>;
  lastRunAt: string | undefined;
  lastError: string | undefined;
  observed: JobResult | undefined;
  /** The slot (start, ms) of the last observe(). */
  observedSlot: number;
  timer: NodeJS.Timeout | undefined;
}

const slotOf = (now: number, periodMs: number): number => Math.floor(now / periodMs) * periodMs;

export class JobScheduler {
  readonly #boss: PgBoss;
  readonly #pool: pg.Pool;
  readonly #options: JobSchedulerOptions;
  readonly #log: Logger;
  readonly #entries: Entry[];
  #stopping = false;

  private constructor(boss: PgBoss, pool: pg.Pool, jobs: readonly ScheduledJob[], options: JobSchedulerOptions, log: Logger) {
    this.#boss = boss;
    this.#pool = pool;
    this.#options = options;
    this.#log = log;
    this.#entries = jobs.map((job) => ({
      job,
      queue: `${options.queuePrefix}.${job.name}`,
      runs: 0,
      failures: 0,
      totals: {},
      lastRunAt: undefined,
      lastError: undefined,
      observed: undefined,
      observedSlot: -1,
      timer: undefined,
    }));
  }

  /**
   * Starts pg-boss (creating or migrating its schema), the queues, the workers and the
   * offers. pg-boss works through `pool` (the jobs' own, 3 connections do: a run's
   * transaction, pg-boss' polls, a status write); the caller closes it after stop().
   */
  static async start(jobs: readonly ScheduledJob[], pool: pg.Pool, options: JobSchedulerOptions, log: Logger): Promise<JobScheduler> {
    for (const job of jobs) {
      if (job.periodMs < 1000 || job.periodMs % 1000 !== 0) throw new RangeError(`job ${job.name}: period ${job.periodMs} ms is not a whole number of seconds`);
    }
    handlePgBossCompletions((method, err, attempt) => {
      if (attempt === 1) log.warn({ err, method }, 'job scheduler: pg-boss could not record a finished job (the database is away); writing it again every 2 s');
    });
    const boss = new PgBoss({
      db: { executeSql: (text, values) => pool.query(text, values) },
      schema: 'pgboss',
      // No cron: offers are throttled sends (any period in seconds, not only minutes).
      schedule: false,
      supervise: true,
    });
    // pg-boss reports its own failures (a maintenance query while Postgres is away) here.
    boss.on('error', (err) => log.warn({ err }, 'job scheduler (pg-boss) error'));
    await boss.start();
    const scheduler = new JobScheduler(boss, pool, jobs, options, log);
    try {
      for (const entry of scheduler.#entries) await scheduler.#startEntry(entry);
    } catch (err) {
      await scheduler.stop();
      throw err;
    }
    return scheduler;
  }

  async #startEntry(entry: Entry): Promise<void> {
    const { job, queue } = entry;
    await this.#createQueue(queue);
    // Polling a few times per period: a run starts soon after its slot opens.
    const pollingIntervalSeconds = Math.min(2, Math.max(0.5, job.periodMs / 1000 / 10));
    await this.#boss.work(queue, { batchSize: 1, pollingIntervalSeconds }, async () => this.#run(entry));
    // Several offers per period (at most every 15 s): one of the instances' offers
    // lands in every slot even though timers drift.
    const everyMs = Math.min(15_000, Math.max(250, job.periodMs / 4));
    const offer = (): void => {
      if (this.#stopping) return;
      this.#offer(entry).catch((err: unknown) => this.#log.warn({ err, job: job.name }, 'could not offer a job run; offering again shortly'));
    };
    entry.timer = setInterval(offer, everyMs);
    offer();
  }

  /**
   * Creates the queue if it does not exist. pg-boss creates a queue's partition table
   * and attaches it to its job table in one function: two instances starting together
   * deadlock there (seen in the two-instance test), and Postgres aborts one of them.
   * That one tries again and finds the queue made.
   */
  async #createQueue(queue: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#boss.createQueue(queue, { name: queue, policy: 'singleton', retryLimit: 0, expireInSeconds: EXPIRE_SECONDS });
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== DEADLOCK_DETECTED || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      }
    }
  }

  async #offer(entry: Entry): Promise<void> {
    const { job, queue } = entry;
    await this.#boss.sendThrottled(queue, {}, {}, job.periodMs / 1000);
    const slot = slotOf(Date.now(), job.periodMs);
    if (job.observe !== undefined && slot !== entry.observedSlot) {
      entry.observedSlot = slot;
      entry.observed = await job.observe();
    }
  }

  async #run(entry: Entry): Promise<JobResult> {
    const { job } = entry;
    const startedAt = new Date();
    let result: JobResult | undefined;
    let error: Error | undefined;
    try {
      result = await job.run();
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    entry.runs++;
    entry.lastRunAt = startedAt.toISOString();
    entry.lastError = error?.message;
    if (error !== undefined) entry.failures++;
    for (const [k, v] of Object.entries(result ?? {})) entry.totals[k] = (entry.totals[k] ?? 0) + v;
    const ms = Date.now() - startedAt.getTime();
    if (error !== undefined) this.#log.warn({ err: error, job: job.name, ms }, 'scheduled job failed; the next period runs it again');
    else this.#log.info({ job: job.name, ms, ...result }, 'scheduled job done');
    await recordRun(this.#pool, { name: job.name, instanceId: this.#options.instanceId, startedAt, result, error: error?.message }).catch((err: unknown) =>
      this.#log.warn({ err, job: job.name }, 'could not record the job run in job_status'),
    );
    if (error !== undefined) throw error; // pg-boss marks the job failed
    return result ?? {};
  }

  get stats(): JobStats[] {
    const now = Date.now();
    return this.#entries.map((e) => ({
      name: e.job.name,
      periodMs: e.job.periodMs,
      runs: e.runs,
      failures: e.failures,
      totals: { ...e.totals },
      lastRunAt: e.lastRunAt,
      lastError: e.lastError,
      nextRunAt: new Date(slotOf(now, e.job.periodMs) + e.job.periodMs).toISOString(),
      observed: e.observed,
    }));
  }

  /** Stops offering and lets a run in progress finish (up to 10 s). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const e of this.#entries) clearInterval(e.timer);
    await this.#boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  }
}
