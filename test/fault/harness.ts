// One fault scenario, end to end, with real processes only: the harness's own Kafka
// broker (which it kills), the private Postgres cluster (which it stops), the service
// and the simulators as child processes, an open-loop load of POST /api/orders from
// this process, and a read_committed reader of `orders` that timestamps every
// decision as it arrives. The fault is injected under load; after the load, the
// harness waits (bounded) for every accepted order to be decided, reads `orders`
// again from its beginning with a fresh consumer, and compares Postgres and the store
// with the decisions. It never throws: whatever went wrong is in `errors`, and
// everything it started is stopped, so a failing scenario still reports its figures.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaBroker } from '../support/broker.js';
import { OrderLoad } from '../support/order-load.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { recoveryFigures, type FaultWindow } from '../support/recovery-time.js';
import { auditOrdersTopic, splitByWindow, statusOf } from '../support/saga-audit.js';
import { startService, freePort, type Service } from '../support/service.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { readCommitted, TopicReader } from '../support/topic-reader.js';
import type { Child } from '../support/child.js';
import { DecisionClock } from './decision-clock.js';
import type { FaultParams } from './params.js';
import { emptyResult, type ScenarioResult } from './result.js';
import type { FaultContext, Scenario } from './scenarios.js';
import { settleViews } from './views.js';

const DATABASE = 'order_service_fault';
/** Before the fault, the saga must decide every order within this... */
const STEADY_LAG_MS = 5000;
/** ...and may take this long after the planned fault time to get there. */
const STEADY_WAIT_MS = 60_000;
const INSTANCE_ID = 'fault-0';
/** The service's JOIN_WINDOW_MS (its default, set explicitly): the audit judges split answers by it. */
const JOIN_WINDOW_MS = 10_000;

const round = (ms: number): number => Math.round(ms / 100) / 10;

/** Everything started by runs still in progress, for a test runner that gives up on one. */
const live = new Set<ScenarioRun>();

/**
 * Stops the runs still in progress (the test runner gave up on them: its timeout)
 * and returns what they had measured, so their rows are printed too. Safe to call
 * any time; none in progress, none returned.
 */
export async function stopAllRuns(): Promise<ScenarioResult[]> {
  const runs = [...live];
  live.clear();
  for (const run of runs) run.fail('test runner', new Error('the scenario ran out of time and was stopped'));
  await Promise.allSettled(runs.map((run) => run.teardown()));
  return runs.map((run) => run.result);
}

// A test process that dies without its hooks (the runner killed it) still takes the
// children and the broker with it.
process.once('exit', () => {
  for (const run of live) run.killNow();
});

export async function runScenario(scenario: Scenario, params: FaultParams, runId: string): Promise<ScenarioResult> {
  const run = new ScenarioRun(scenario, params, runId);
  live.add(run);
  try {
    await run.execute();
  } catch (err) {
    run.fail('run', err);
  } finally {
    await run.teardown();
    live.delete(run);
  }
  return run.result;
}

class ScenarioRun {
  readonly result: ScenarioResult;
  readonly #scenario: Scenario;
  readonly #p: FaultParams;
  readonly #runId: string;
  readonly #broker: KafkaBroker;
  readonly #postgres: PrivatePostgres;
  readonly #databaseUrl: string;
  readonly #logDir: string;
  #stateDir: string | undefined;
  #port = 0;
  #service: Service | undefined;
  /** Every service process started, for their logs. */
  readonly #services: Child[] = [];
  #sims: Simulators | undefined;
  #reader: TopicReader | undefined;
  #load: OrderLoad | undefined;
  #t0 = performance.now();
  readonly #notes: { at: number; event: string }[] = [];
  #clock: DecisionClock | undefined;
  #brokerLogs = 0;
  #tornDown: Promise<void> | undefined;
  #stopping = false;
  #inProgress: Promise<unknown> | undefined;
  /** Children the harness itself is ending (a kill -9 or the teardown). */
  readonly #ending = new Set<Child>();

  constructor(scenario: Scenario, params: FaultParams, runId: string) {
    this.#scenario = scenario;
    this.#p = params;
    this.#runId = runId;
    this.#broker = new KafkaBroker({ infraDir: params.infraDir, port: params.kafkaPort, controllerPort: params.kafkaControllerPort });
    this.#postgres = new PrivatePostgres({ port: params.pgPort, dataDir: params.pgDir });
    this.#databaseUrl = this.#postgres.url(DATABASE);
    this.#logDir = join(params.infraDir, 'runs', runId, scenario.name);
    this.result = emptyResult(scenario, this.#logDir);
  }

  note(event: string): void {
    this.#notes.push({ at: performance.now(), event });
    // Relative to the load's start, once there is one (setup steps come out negative).
    this.result.timeline = this.#notes.map((n) => ({ atS: round(n.at - this.#t0), event: n.event }));
  }

  fail(step: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.result.errors.push(`${step}: ${message.split('\n')[0]}`);
    this.note(`error in ${step}: ${message.split('\n')[0]}`);
  }

  async execute(): Promise<void> {
    const p = this.#p;
    for (const entry of ['dist/src/main.js', 'dist/src/sim/main.js'])
      if (!existsSync(join(p.serviceDir, entry))) throw new Error(`${join(p.serviceDir, entry)} is missing: build that checkout first (npm run build)`);
    mkdirSync(this.#logDir, { recursive: true });
    this.#stateDir = mkdtempSync(join(tmpdir(), `order-engine-fault-${this.#scenario.name}-`));

    await this.#starting(this.#broker.start());
    await this.#starting(this.#postgres.start());
    await this.#postgres.recreateDatabase(DATABASE);
    this.#port = await freePort();
    // The first start creates the topics; the simulators start from the end of
    // `orders`, so they are up before the first order is sent.
    await this.#startService();
    await this.#starting(
      startSimulators(
        { KAFKA_BOOTSTRAP_SERVERS: this.#broker.bootstrapServers, NUM_PARTITIONS: String(p.numPartitions), SIM_APPLICATION_ID: `fault-sim-${this.#scenario.name}-${this.#runId}` },
        { dir: p.serviceDir },
      ).then((sims) => {
        this.#sims = sims;
        this.#watch('simulators', sims);
      }),
    );
    this.#reader = await this.#starting(TopicReader.open('orders', { brokers: this.#broker.bootstrapServers, from: 'beginning' }));
    const clock = (this.#clock = new DecisionClock(this.#reader));

    const load = new OrderLoad({ baseUrl: `http://127.0.0.1:${this.#port}`, ratePerS: p.ratePerS, seed: p.seed });
    this.#load = load;
    load.start();
    this.#t0 = load.startedAt;
    this.note(`load started: ${p.ratePerS} orders/s`);
    // Whatever happens under load, the orders accepted so far are audited.
    let window: FaultWindow | undefined;
    try {
      await this.#until(this.#t0 + p.faultAtS * 1000);
      await this.#steady(load, clock);
      this.note('fault begins');
      window = await this.#scenario.inject(this.#context());
      this.result.fault = { startS: round(window.start - this.#t0), endS: round(window.end - this.#t0) };
      const back = performance.now();
      await this.#until(Math.max(this.#t0 + p.durationS * 1000, back + p.afterS * 1000));
    } catch (err) {
      this.fail('under load', err);
    }
    await load.stop();
    const loadEnd = performance.now();
    this.result.loadS = round(loadEnd - this.#t0);
    this.note(`load stopped: ${load.sent} sent, ${load.accepted.length} accepted`);

    await this.#drain(load, clock, p.drainS * 1000);
    this.#figures(clock, window, loadEnd);
    await this.#audit();
  }

  /**
   * Runs a step that starts something, so a teardown that comes meanwhile (the test
   * runner's timeout) waits for it and stops what it started; and once the teardown
   * has begun, nothing new is started.
   */
  async #starting<T>(step: Promise<T>): Promise<T> {
    this.#inProgress = step;
    try {
      return await step;
    } finally {
      this.#inProgress = undefined;
      if (this.#stopping) throw new Error('stopped');
    }
  }

  /** Starts the service (again); it is this.#service once ready. */
  async #startService(): Promise<Service> {
    const p = this.#p;
    const started = performance.now();
    if (this.#stopping) throw new Error('stopped');
    try {
      const service = await this.#starting(startService(
        {
          KAFKA_BOOTSTRAP_SERVERS: this.#broker.bootstrapServers,
          DATABASE_URL: this.#databaseUrl,
          // The same pod after a restart: same instance (static membership, transactional
          // id) and the same state folder; a new application per run.
          INSTANCE_ID,
          APPLICATION_ID: `fault-${this.#scenario.name}-${this.#runId}`,
          STATE_DIR: this.#stateDir!,
          NUM_PARTITIONS: String(p.numPartitions),
          JOIN_WINDOW_MS: String(JOIN_WINDOW_MS),
          OUTBOX_POLL_MS: process.env.OUTBOX_POLL_MS ?? '1000',
        },
        { port: this.#port, dir: p.serviceDir, readyTimeoutMs: p.readyS * 1000 },
      ).then((service) => {
        this.#service = service;
        this.#services.push(service);
        return service;
      }));
      this.#watch('service', service);
      this.note(`service ready (pid ${service.process.pid}) after ${round(performance.now() - started)} s`);
      return service;
    } catch (err) {
      const output = (err as { childOutput?: string }).childOutput;
      if (output !== undefined) writeFileSync(join(this.#logDir, `service-${this.#services.length + 1}-failed-start.log`), output);
      throw err;
    }
  }

  /** A child that ends without the harness ending it is an error of the code under test (a crash). */
  #watch(what: string, child: Child): void {
    child.process.once('exit', (code, signal) => {
      if (this.#ending.has(child)) return;
      const last = child.output().trim().split('\n').slice(-3).join(' / ').slice(0, 500);
      this.fail(what, new Error(`pid ${child.process.pid} exited by itself (${code ?? signal}); its last words: ${last}`));
    });
  }

  #context(): FaultContext {
    return {
      killService: async () => {
        const service = this.#service;
        this.#service = undefined;
        if (service === undefined) throw new Error('no service to kill');
        this.#ending.add(service);
        await service.kill('SIGKILL');
        this.note(`service killed (kill -9, pid ${service.process.pid})`);
      },
      restartService: async () => {
        const started = performance.now();
        this.note('service restart issued');
        try {
          await this.#startService();
          this.result.restartReadyS.push(round(performance.now() - started));
        } catch (err) {
          this.fail('service restart', err);
        }
      },
      killBroker: async () => {
        await this.#broker.kill();
        this.note('broker killed (kill -9)');
      },
      restartBroker: async () => {
        this.#saveBrokerLog();
        this.note('broker restart issued');
        try {
          await this.#starting(this.#broker.restart());
          this.note('broker port open');
        } catch (err) {
          this.fail('broker restart', err);
        }
      },
      stopPostgres: async () => {
        await this.#postgres.stop();
        this.note('postgres stopped');
      },
      startPostgres: async () => {
        this.note('postgres start issued');
        try {
          await this.#starting(this.#postgres.start());
          this.note('postgres up');
        } catch (err) {
          this.fail('postgres start', err);
        }
      },
      // The outage is the fault itself, not a wait for something to happen.
      outage: () => sleep(this.#p.outageS * 1000),
      untilReadiness: async (component, status, timeoutMs) => {
        const started = performance.now();
        while (performance.now() - started < timeoutMs && !this.#stopping) {
          const res = await fetch(`http://127.0.0.1:${this.#port}/actuator/health/readiness`).catch(() => undefined);
          const body = (await res?.json().catch(() => undefined)) as { components?: Record<string, { status?: string }> } | undefined;
          if (body?.components?.[component]?.status === status) {
            const seconds = round(performance.now() - started);
            this.note(`readiness: ${component} ${status} after ${seconds} s`);
            return seconds;
          }
          await sleep(250);
        }
        return null;
      },
      kafkaReadiness: (seen) => {
        this.result.kafkaReadiness = seen;
      },
      note: (event) => this.note(event),
    };
  }

  /** Waits until `at` (performance.now()), taking in decisions meanwhile. */
  async #until(at: number): Promise<void> {
    while (performance.now() < at) {
      if (this.#stopping) throw new Error('stopped');
      this.#clock?.update();
      await sleep(Math.min(250, Math.max(1, at - performance.now())));
    }
  }

  /**
   * Waits until the saga keeps up with the load: every order POSTed more than
   * STEADY_LAG_MS ago is decided. A fault injected while it is still warming up (the
   * first commits of a fresh engine take seconds on a busy machine) would time the
   * warm-up, not the recovery. Bounded: a saga that never keeps up is an error.
   */
  async #steady(load: OrderLoad, clock: DecisionClock): Promise<void> {
    const deadline = performance.now() + STEADY_WAIT_MS;
    for (;;) {
      const behind = clock.undecided(load.accepted, performance.now() - STEADY_LAG_MS);
      if ((behind === 0 && clock.decidedAt.size > 0) || this.#stopping) return;
      if (performance.now() > deadline) {
        this.fail('warm-up', new Error(`the saga did not keep up before the fault: ${behind} orders POSTed over ${STEADY_LAG_MS / 1000} s earlier still undecided after ${STEADY_WAIT_MS / 1000} s`));
        return;
      }
      await sleep(250);
    }
  }

  /** Waits, at most `ms`, until every accepted order has a decision on the reader. */
  async #drain(load: OrderLoad, clock: DecisionClock, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    let undecided: number;
    while ((undecided = clock.undecided(load.accepted)) > 0 && performance.now() < deadline && !this.#stopping) await sleep(250);
    this.note(undecided === 0 ? 'every accepted order decided' : `${undecided} accepted orders still undecided after ${ms / 1000} s`);
  }

  /** Recovery figures (when the fault was injected) and the run's orders per second. */
  #figures(clock: DecisionClock, window: FaultWindow | undefined, loadEnd: number): void {
    const load = this.#load!;
    const r = this.result;
    if (window !== undefined) {
      const f = recoveryFigures(load.accepted, clock.decidedAt, window, loadEnd);
      r.recoveryS = f.recoveryMs === undefined ? null : round(f.recoveryMs);
      r.worstInFlightS = f.worstInFlightMs === undefined ? null : Number.isFinite(f.worstInFlightMs) ? round(f.worstInFlightMs) : 'never';
      r.longestStallS = round(f.longestStallMs);
      r.acceptedAfterFault = f.acceptedAfterFault;
    }
    const perSecond = (times: Iterable<number>): number[] => {
      const counts: number[] = [];
      for (const t of times) {
        const s = Math.floor((t - this.#t0) / 1000);
        if (s < 0) continue;
        while (counts.length <= s) counts.push(0);
        counts[s]!++;
      }
      return counts;
    };
    const ids = new Set(load.accepted.map((o) => o.id));
    r.perSecond = {
      accepted: perSecond(load.accepted.map((o) => o.sentAt)),
      decided: perSecond([...clock.decidedAt].filter(([id]) => ids.has(id)).map(([, t]) => t)),
    };
  }

  /** The verdict: `orders` read again from its beginning, then Postgres and the store. */
  async #audit(): Promise<void> {
    const p = this.#p;
    const r = this.result;
    const accepted = this.#load!.accepted.map((o) => o.id);
    const records = await readCommitted('orders', this.#broker.bootstrapServers, 120_000);
    const audit = auditOrdersTopic(
      accepted,
      records.map((rec) => ({ key: rec.key, partition: rec.partition, status: statusOf(rec.value) })),
      p.numPartitions,
    );
    // Undecided orders whose two answers the participants produced further apart than
    // the window owe no decision (saga-audit.ts splitByWindow); the rest are lost.
    let { split, lost } = { split: [] as string[], lost: audit.lost };
    if (audit.lost.length > 0) {
      const answers = await Promise.all(
        (['payment-orders', 'stock-orders'] as const).map(async (topic) =>
          (await readCommitted(topic, this.#broker.bootstrapServers, 120_000)).map((rec) => ({ key: rec.key, timestamp: rec.timestamp, side: topic === 'payment-orders' ? ('P' as const) : ('S' as const) })),
        ),
      );
      ({ split, lost } = splitByWindow(audit.lost, answers.flat(), JOIN_WINDOW_MS));
    }
    Object.assign(r, {
      accepted: audit.accepted,
      lost: lost.length,
      splitAnswers: split.length,
      duplicatedDecisions: audit.duplicatedDecisions.length,
      conflictingDecisions: audit.conflictingDecisions.length,
      duplicatedNew: audit.duplicatedNew.length,
      missingNew: audit.missingNew.length,
      offPartition: audit.offPartition.length,
      unexpectedRecords: audit.unexpected.length,
    });
    const sample = (ids: readonly string[]): string[] => ids.slice(0, 5);
    Object.assign(r.samples, {
      lost: sample(lost),
      splitAnswers: sample(split),
      duplicatedDecisions: sample(audit.duplicatedDecisions),
      duplicatedNew: sample(audit.duplicatedNew),
      offPartition: sample(audit.offPartition),
    });
    this.note(`orders read from its beginning: ${records.length} records`);

    await this.#compareViews(audit.decided);
  }

  /** Postgres and the store against the decisions, given time to catch up. */
  async #compareViews(decided: ReadonlyMap<string, string>): Promise<void> {
    const r = this.result;
    const views = await settleViews(decided, {
      databaseUrl: this.#databaseUrl,
      storeUrl: () => this.#service?.baseUrl,
      // A service that is no longer running will not catch up: one reading is the answer.
      worthWaiting: () => !this.#stopping && this.#service !== undefined && this.#service.process.exitCode === null && this.#service.process.signalCode === null,
      settleMs: this.#p.settleS * 1000,
    });
    r.pgMismatches = views.pgMismatches.length;
    r.storeMismatches = views.storeMismatches.length;
    r.pgAgreedAfterS = views.pgAgreedAfterMs === undefined ? null : round(views.pgAgreedAfterMs);
    r.storeAgreedAfterS = views.storeAgreedAfterMs === undefined ? null : round(views.storeAgreedAfterMs);
    r.storeAnswers = views.storeAnswers;
    r.samples.pgMismatches = views.pgMismatches.slice(0, 5);
    r.samples.storeMismatches = views.storeMismatches.slice(0, 5);
    if (views.pgError !== undefined) this.fail('read Postgres', views.pgError);
  }

  #saveBrokerLog(): void {
    try {
      if (existsSync(this.#broker.logFile)) copyFileSync(this.#broker.logFile, join(this.#logDir, `broker-${++this.#brokerLogs}.log`));
    } catch {
      // a log we could not keep is no reason to fail the run
    }
  }

  /** Stops everything this run started; each step bounded and on its own. */
  teardown(): Promise<void> {
    this.#tornDown ??= this.#teardown();
    return this.#tornDown;
  }

  async #teardown(): Promise<void> {
    this.#stopping = true;
    const step = async (what: string, action: () => Promise<unknown>, ms: number): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([action(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`took over ${ms / 1000} s`)), ms)))]);
      } catch (err) {
        this.fail(`teardown: ${what}`, err);
      } finally {
        clearTimeout(timer);
      }
    };
    const inProgress = this.#inProgress;
    if (inProgress !== undefined) await step('wait for a start in progress', () => inProgress.catch(() => undefined), (this.#p.readyS + 120) * 1000);
    const load = this.#load;
    if (load !== undefined) {
      await step('stop the load', () => load.stop(), 30_000);
      this.result.posts = { sent: load.sent, refused: load.refused, failed: load.failed };
    }
    await step('close the reader', async () => this.#reader?.close(), 15_000);
    const sims = this.#sims;
    for (const child of [sims, ...this.#services]) if (child !== undefined) this.#ending.add(child);
    await step('stop the simulators', () => stopChild(sims), 20_000);
    await step('stop the service', () => stopChild(this.#service), 20_000);
    try {
      this.#services.forEach((s, i) => writeFileSync(join(this.#logDir, `service-${i + 1}.log`), s.output()));
      if (sims !== undefined) writeFileSync(join(this.#logDir, 'simulators.log'), sims.output());
    } catch {
      // logs are a help, not a result
    }
    this.#saveBrokerLog();
    await step('kill the broker', () => this.#broker.kill(), 40_000);
    await step('stop postgres', () => this.#postgres.stop(), 70_000);
    if (this.#stateDir !== undefined) rmSync(this.#stateDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the process exits: SIGKILL the children and the broker. */
  killNow(): void {
    for (const child of [...this.#services, this.#sims]) if (child?.process.exitCode === null) child.process.kill('SIGKILL');
    try {
      const pid = this.#broker.pid;
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, and SIGKILL if it has not exited 10 s later. */
async function stopChild(child: Child | undefined): Promise<void> {
  if (child === undefined) return;
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  try {
    await child.kill('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}
