// One fault scenario, end to end, with real processes only: the harness's own Kafka
// broker (which it kills), the private Postgres cluster (which it stops), the service
// and the simulators as child processes, an open-loop load of POST /api/orders from
// this process, and a read_committed reader of `orders` that timestamps every
// decision as it arrives. The fault is injected under load; after the load, the
// harness waits (bounded) for every accepted order to be decided, reads `orders`
// again from its beginning with a fresh consumer, and compares Postgres and the store
// with the decisions. It never throws: whatever went wrong is in `errors`, and
// everything it started is stopped, so a failing scenario still reports its figures.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaBroker } from '../support/broker.js';
import { OrderLoad } from '../support/order-load.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { recoveryFigures, type FaultWindow } from '../support/recovery-time.js';
import { serviceEntry, startService, freePort, type Service } from '../support/service.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { TopicReader } from '../support/topic-reader.js';
import type { Child } from '../support/child.js';
import { statusOf } from '../support/saga-audit.js';
import { DecisionClock } from './decision-clock.js';
import type { FaultParams } from './params.js';
import { emptyResult, type ScenarioResult } from './result.js';
import { auditOrders, boundedStep, drain, FaultRuns, keepLog, perSecond, reportCrash, round, splitAnswers, stopChild, takeViews, until, untilSteady, type FaultRun } from './run-steps.js';
import type { FaultContext, Scenario } from './scenarios.js';
import { settleViews } from './views.js';

const DATABASE = 'order_service_fault';
const INSTANCE_ID = 'fault-0';
/** The service's JOIN_WINDOW_MS (its default, set explicitly): the audit judges split answers by it. */
const JOIN_WINDOW_MS = 10_000;

const runs = new FaultRuns<ScenarioResult>();

/**
 * Stops the runs still in progress (the test runner gave up on them: its timeout)
 * and returns what they had measured, so their rows are printed too.
 */
export function stopAllRuns(): Promise<ScenarioResult[]> {
  return runs.stopAll();
}

export function runScenario(scenario: Scenario, params: FaultParams, runId: string): Promise<ScenarioResult> {
  return runs.run(new ScenarioRun(scenario, params, runId));
}

class ScenarioRun implements FaultRun<ScenarioResult> {
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

  note(event: string, at = performance.now()): void {
    this.#notes.push({ at, event });
    this.#notes.sort((a, b) => a.at - b.at);
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
    for (const entry of [serviceEntry(p.serviceDir), 'dist/src/sim/main.js'])
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
      const behind = await untilSteady(load, clock, () => this.#stopping, splitAnswers(this.#broker.bootstrapServers, JOIN_WINDOW_MS));
      if (behind !== undefined) this.fail('warm-up', new Error(`before the fault, ${behind}`));
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

    const undecided = await drain(load, clock, p.drainS * 1000, () => this.#stopping);
    this.note(undecided === 0 ? 'every accepted order decided' : `${undecided} accepted orders still undecided after ${p.drainS} s`);
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
    reportCrash(child, this.#ending, (err) => this.fail(what, err));
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
    await until(at, this.#clock, () => this.#stopping);
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
      // Where a recovery's time went after the restart: the outbox's first record of an
      // order POSTed since the fault began, and that order's decision.
      const since = new Set(load.accepted.filter((o) => o.sentAt >= window.start).map((o) => o.id));
      const firstNew = this.#reader?.records.find((rec) => rec.receivedAt >= window.end && since.has(rec.key) && statusOf(rec.value) === 'NEW');
      if (firstNew !== undefined) {
        this.note('first NEW record since the fault\'s end of an order POSTed since it began', firstNew.receivedAt);
        const decided = clock.decidedAt.get(firstNew.key);
        if (decided !== undefined) this.note('...that order decided', decided);
      }
      if (f.recoveryMs !== undefined) this.note('first decision since the fault\'s end of an order POSTed since it began', window.end + f.recoveryMs);
    }
    r.perSecond = perSecond(this.#t0, load, this.#clock!);
  }

  /** The verdict: `orders` read again from its beginning, then Postgres and the store. */
  async #audit(): Promise<void> {
    const p = this.#p;
    const r = this.result;
    const audit = await auditOrders(this.#load!.accepted.map((o) => o.id), this.#broker.bootstrapServers, p.numPartitions, JOIN_WINDOW_MS);
    Object.assign(r, audit.figures);
    Object.assign(r.samples, audit.samples);
    this.note(`orders read from its beginning: ${audit.records} records`);

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
    takeViews(r, views);
    if (views.pgError !== undefined) this.fail('read Postgres', views.pgError);
  }

  #saveBrokerLog(): void {
    keepLog(this.#broker.logFile, join(this.#logDir, `broker-${++this.#brokerLogs}.log`));
  }

  /** Stops everything this run started; each step bounded and on its own. */
  teardown(): Promise<void> {
    this.#tornDown ??= this.#teardown();
    return this.#tornDown;
  }

  async #teardown(): Promise<void> {
    this.#stopping = true;
    const step = (what: string, action: () => Promise<unknown>, ms: number): Promise<void> => boundedStep(what, action, ms, (w, err) => this.fail(`teardown: ${w}`, err));
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
