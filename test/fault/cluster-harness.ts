// One multi-instance fault run, end to end, with real processes only: a 3-node
// cluster (test/support/kafka-cluster.ts), the private Postgres, N instances of the
// service in one group (same APPLICATION_ID, INSTANCE_ID i1.., their own port,
// STATE_DIR, node bits and Kafka slot), the simulators, an open-loop load spread over
// the instances' HTTP ports, a read_committed reader of `orders`, and a watch of every
// instance's readiness and store (./cluster-watch.ts). The faults are injected in
// turn under the one load; after it, every accepted order must be decided exactly
// once (./run-steps.ts auditOrders), Postgres must show the decisions, and the store
// of the instance that owns each order's partition too. Per fault, the figures of
// test/support/cluster-figures.ts over its interval. As ./harness.ts, it never
// throws: what went wrong is in `errors`, and everything it started is stopped.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionFor } from '../../src/kafka/partitioner.js';
import type { Child } from '../support/child.js';
import { KafkaCluster } from '../support/kafka-cluster.js';
import { OrderLoad } from '../support/order-load.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { serviceEntry } from '../support/service.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { TopicReader } from '../support/topic-reader.js';
import { fillFaultRows, type PostCounts } from './cluster-fault-rows.js';
import type { ClusterParams } from './cluster-params.js';
import { emptyFault, type ClusterFaultResult, type ClusterResult } from './cluster-result.js';
import type { ClusterFault, ClusterFaultContext, ClusterFaultOutcome } from './cluster-scenarios.js';
import { ClusterWatch } from './cluster-watch.js';
import { DecisionClock } from './decision-clock.js';
import { emptyResult } from './result.js';
import { auditOrders, boundedStep, traceOrders, drain, FaultRuns, keepLog, perSecond, reportCrash, round, splitAnswers, STEADY_WAIT_MS, stopChild, takeViews, until, untilSteady, type FaultRun } from './run-steps.js';
import { JOIN_WINDOW_MS, ServiceGroup, type Instance } from './service-group.js';
import { settleViews, storeStatuses } from './views.js';

const DATABASE = 'order_service_cluster_fault';
/** Orders read at every instance for the "any instance" figure. */
const ANY_INSTANCE_SAMPLE = 300;

const runs = new FaultRuns<ClusterResult>();

/** Stops a run still in progress (the test runner's timeout) and returns what it had measured. */
export function stopClusterRuns(): Promise<ClusterResult[]> {
  return runs.stopAll();
}

export function runClusterFaults(faults: readonly ClusterFault[], params: ClusterParams, runId: string): Promise<ClusterResult> {
  return runs.run(new ClusterRun(faults, params, runId));
}

class ClusterRun implements FaultRun<ClusterResult> {
  readonly result: ClusterResult;
  readonly #faults: readonly ClusterFault[];
  readonly #p: ClusterParams;
  readonly #runId: string;
  readonly #cluster: KafkaCluster;
  readonly #postgres: PrivatePostgres;
  readonly #databaseUrl: string;
  readonly #logDir: string;
  readonly #applicationId: string;
  readonly #group: ServiceGroup;
  readonly #watch: ClusterWatch;
  #sims: Simulators | undefined;
  #reader: TopicReader | undefined;
  #load: OrderLoad | undefined;
  #clock: DecisionClock | undefined;
  #t0 = performance.now();
  readonly #notes: { at: number; event: string }[] = [];
  #tornDown: Promise<void> | undefined;
  #stopping = false;
  readonly #inProgress = new Set<Promise<unknown>>();
  readonly #ending = new Set<Child>();
  /** The fault being injected, whose row takes errors. */
  #current: ClusterFaultResult | undefined;
  #brokerLogs = 0;

  constructor(faults: readonly ClusterFault[], params: ClusterParams, runId: string) {
    this.#faults = faults;
    this.#p = params;
    this.#runId = runId;
    this.#cluster = new KafkaCluster({ infraDir: params.infraDir, basePort: params.kafkaBasePort, slots: 4 });
    this.#postgres = new PrivatePostgres({ port: params.pgPort, dataDir: params.pgDir });
    this.#databaseUrl = this.#postgres.url(DATABASE);
    this.#logDir = join(params.infraDir, 'runs', runId);
    this.#applicationId = `cluster-fault-${runId}`;
    this.#watch = new ClusterWatch(params.numPartitions);
    this.#group = new ServiceGroup({
      params,
      cluster: this.#cluster,
      databaseUrl: this.#databaseUrl,
      applicationId: this.#applicationId,
      logDir: this.#logDir,
      watch: this.#watch,
      starting: (step) => this.#starting(step),
      note: (event) => this.note(event),
      crashed: (what, err) => this.fail(what, err),
    });
    const base = emptyResult({ name: 'cluster', title: `${params.instances} instances, 3 brokers: ${faults.map((f) => f.name).join(', ')}` }, this.#logDir);
    this.result = { ...base, faults: [], storeAnyInstance: {}, ordersReplication: null };
  }

  note(event: string): void {
    this.#notes.push({ at: performance.now(), event });
    if (this.#p.progress) process.stderr.write(`[cluster ${round(performance.now() - this.#t0)}s] ${event}\n`);
    this.result.timeline = this.#notes.map((n) => ({ atS: round(n.at - this.#t0), event: n.event }));
  }

  fail(step: string, err: unknown): void {
    const message = `${step}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    this.result.errors.push(message);
    this.#current?.errors.push(message);
    this.note(`error in ${message}`);
  }

  async execute(): Promise<void> {
    const p = this.#p;
    for (const entry of [serviceEntry(p.serviceDir), 'dist/src/sim/main.js'])
      if (!existsSync(join(p.serviceDir, entry))) throw new Error(`${join(p.serviceDir, entry)} is missing: build that checkout first (npm run build)`);
    mkdirSync(this.#logDir, { recursive: true });

    await Promise.all([
      this.#starting(this.#cluster.start().then(() => this.#cluster.waitHealthy())),
      this.#starting(this.#postgres.start().then(() => this.#postgres.recreateDatabase(DATABASE))),
    ]);
    this.note('cluster and postgres up');
    // The first instance creates the topics; the others join its group together.
    const group = this.#group;
    await group.start(await group.add());
    const others: Instance[] = [];
    for (let i = 1; i < p.instances; i++) others.push(await group.add());
    await Promise.all(others.map((inst) => group.start(inst)));
    await this.#starting(this.#cluster.waitHealthy());
    this.result.ordersReplication = await this.#cluster.replicationOf('orders').catch(() => null);
    this.note(`${p.instances} instances ready; orders replicated ${this.result.ordersReplication ?? '?'}×`);
    await this.#starting(
      startSimulators(
        { KAFKA_BOOTSTRAP_SERVERS: this.#cluster.bootstrapServers, NUM_PARTITIONS: String(p.numPartitions), SIM_APPLICATION_ID: `cluster-sim-${this.#runId}` },
        { dir: p.serviceDir },
      ).then((sims) => {
        this.#sims = sims;
        this.#watchExit('simulators', sims);
      }),
    );
    this.#reader = await this.#starting(TopicReader.open('orders', { brokers: this.#cluster.bootstrapServers, from: 'beginning' }));
    const clock = (this.#clock = new DecisionClock(this.#reader));

    const load = (this.#load = new OrderLoad({ baseUrl: () => group.target(), ratePerS: p.ratePerS, seed: p.seed }));
    load.start();
    this.#t0 = load.startedAt;
    this.note(`load started: ${p.ratePerS} orders/s over the instances`);
    const windows: ClusterFaultOutcome[] = [];
    const counts: PostCounts[] = [];
    try {
      await this.#until(this.#t0 + p.warmS * 1000);
      const split = splitAnswers(this.#cluster.bootstrapServers, JOIN_WINDOW_MS);
      const behind = await untilSteady(load, clock, () => this.#stopping, split);
      if (behind !== undefined) this.fail('warm-up', new Error(behind));
      for (const fault of this.#faults) {
        const row = emptyFault(fault.name, fault.title);
        this.result.faults.push(row);
        this.#current = row;
        counts.push(this.#postCounts());
        this.note(`fault ${fault.name} begins`);
        try {
          const outcome = await fault.inject(this.#context());
          windows.push(outcome);
          row.target = outcome.target;
          if (outcome.sigterm !== undefined) row.sigterm = { exitCode: outcome.sigterm.exitCode, exitS: round(outcome.sigterm.exitMs) };
          this.note(`fault ${fault.name} ends (${outcome.target})`);
        } catch (err) {
          this.fail(`fault ${fault.name}`, err);
          windows.push({ target: row.target || '?', start: performance.now(), end: performance.now() });
        }
        await this.#until(windows.at(-1)!.end + p.gapS * 1000);
        const lagging = await untilSteady(load, clock, () => this.#stopping, split);
        if (lagging !== undefined) this.fail(`after ${fault.name}`, new Error(lagging));
        // The next fault finds the group settled (no rebalance or restore still going), or the run says why not.
        if (!(await this.#settled(STEADY_WAIT_MS))) this.fail(`after ${fault.name}`, new Error(`the group did not settle: streams not UP, an instance serving no partition, or a partition served by none, within ${STEADY_WAIT_MS / 1000} s`));
        this.#current = undefined;
      }
      await this.#until(performance.now() + p.afterS * 1000);
    } catch (err) {
      this.fail('under load', err);
    }
    counts.push(this.#postCounts());
    await load.stop();
    const loadEnd = performance.now();
    this.result.loadS = round(loadEnd - this.#t0);
    this.note(`load stopped: ${load.sent} sent, ${load.accepted.length} accepted`);

    const undecided = await drain(load, clock, p.drainS * 1000, () => this.#stopping);
    this.note(undecided === 0 ? 'every accepted order decided' : `${undecided} accepted orders still undecided after ${p.drainS} s`);
    this.result.perSecond = perSecond(this.#t0, load, clock);
    const logs = group.instances.flatMap((inst) => inst.processes.map((proc) => ({ instance: inst.id, output: proc.output() })));
    fillFaultRows(this.result.faults, windows, counts, {
      t0: this.#t0,
      loadEnd,
      numPartitions: p.numPartitions,
      accepted: load.accepted,
      decidedAt: clock.decidedAt,
      samples: this.#watch.samples,
      logs,
    });
    await this.#audit();
  }

  #postCounts(): PostCounts {
    const load = this.#load!;
    return { accepted: load.accepted.length, refused: { ...load.refused }, failed: { ...load.failed } };
  }

  async #starting<T>(step: Promise<T>): Promise<T> {
    this.#inProgress.add(step);
    try {
      return await step;
    } finally {
      this.#inProgress.delete(step);
      if (this.#stopping) throw new Error('stopped');
    }
  }

  #watchExit(what: string, child: Child): void {
    reportCrash(child, this.#ending, (err) => this.fail(what, err));
  }

  #context(): ClusterFaultContext {
    return {
      running: () => this.#group.running(),
      killInstance: (id) => this.#group.kill(id),
      restartInstance: async (id) => {
        this.note(`${id} restart issued`);
        await this.#group.start(this.#group.get(id)).catch((err: unknown) => this.fail(`${id} restart`, err));
      },
      addInstance: async () => {
        const inst = await this.#group.add();
        this.note(`${inst.id} start issued (slot ${inst.slot})`);
        await this.#group.start(inst).catch((err: unknown) => this.fail(`${inst.id} start`, err));
        return inst.id;
      },
      sigtermInstance: (id) => this.#group.sigterm(id, (this.#p.sigtermBoundS + 5) * 1000),
      partitionInstance: (id) => {
        this.#cluster.partition(this.#group.get(id).slot);
        this.note(`${id} partitioned from every broker`);
      },
      healInstance: (id) => {
        this.#cluster.heal(this.#group.get(id).slot);
        this.note(`${id} partition healed`);
      },
      brokerToKill: async () => {
        const coordinator = await this.#cluster.coordinatorOf(this.#applicationId).catch(() => undefined);
        this.note(`the group's coordinator is node-${coordinator ?? '?'}`);
        if (this.#p.brokerNode > 0) return this.#p.brokerNode;
        if (coordinator === undefined) throw new Error('the group has no coordinator to kill');
        return coordinator;
      },
      killBroker: async (node) => {
        await this.#cluster.kill(node);
        this.note(`node-${node} killed (kill -9)`);
      },
      restartBroker: async (node) => {
        this.#saveBrokerLog(node);
        this.note(`node-${node} restart issued`);
        await this.#starting(this.#cluster.restart(node));
        this.note(`node-${node} port open`);
        try {
          const ms = await this.#starting(this.#cluster.waitHealthy(120_000));
          this.note(`every replica in sync again after ${round(ms)} s`);
        } catch (err) {
          this.fail(`node-${node} back in sync`, err);
        }
      },
      stopPostgres: async () => {
        await this.#postgres.stop();
        this.note('postgres stopped');
      },
      startPostgres: async () => {
        await this.#starting(this.#postgres.start());
        this.note('postgres up');
      },
      outage: () => sleep(this.#p.outageS * 1000),
      note: (event) => this.note(event),
    };
  }

  /**
   * Waits (at most `ms`) until every running instance's readiness says streams UP, it
   * serves a partition, and every partition is served: a fault injected while a
   * partition is between owners (revoked, not yet taken) tests two faults at once.
   */
  async #settled(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    const settled = (): boolean => {
      const running = this.#group.running();
      return this.#watch.allUp(running) && (running.length > this.#p.numPartitions || this.#watch.allServing(running)) && this.#watch.everyPartitionServed(running);
    };
    while (!settled()) {
      if (performance.now() > deadline || this.#stopping) return false;
      await sleep(250);
    }
    return true;
  }

  async #until(at: number): Promise<void> {
    await until(at, this.#clock, () => this.#stopping);
  }

  /** The verdict: `orders` from its beginning, then Postgres and each order's owner's store, then every instance's store for a sample. */
  async #audit(): Promise<void> {
    const p = this.#p;
    const r = this.result;
    const audit = await auditOrders(this.#load!.accepted.map((o) => o.id), this.#cluster.bootstrapServers, p.numPartitions, JOIN_WINDOW_MS);
    Object.assign(r, audit.figures);
    Object.assign(r.samples, audit.samples);
    this.note(`orders read from its beginning: ${audit.records} records`);
    if (audit.samples.lost !== undefined && audit.samples.lost.length > 0) {
      const file = join(this.#logDir, 'lost-orders.jsonl');
      const changelogs = ['orders-store', 'saga-join-store'].map((store) => `${this.#applicationId}-${store}-changelog`);
      await traceOrders(audit.lostIds, this.#cluster.bootstrapServers, ['orders', 'payment-orders', 'stock-orders', ...changelogs], file).catch((err: unknown) => this.note(`tracing lost orders failed: ${String(err)}`));
      this.note(`lost orders traced: ${file}`);
    }

    const urls = (): string[] => this.#group.urls();
    const partitionOf = (id: string): number => partitionFor(id, p.numPartitions);
    const views = await settleViews(audit.decided, {
      databaseUrl: this.#databaseUrl,
      storeUrl: () => ({ urls: urls(), partitionOf }),
      worthWaiting: () => !this.#stopping && urls().length > 0,
      settleMs: p.settleS * 1000,
    });
    takeViews(r, views);
    if (views.pgError !== undefined) this.fail('read Postgres', views.pgError);

    // Every instance, asked for the same orders: today only the owner answers (503
    // "not owned" elsewhere); once queries are answered from any instance, all agree.
    const sample = [...audit.decided.keys()].filter((_, i, all) => i % Math.max(1, Math.floor(all.length / ANY_INSTANCE_SAMPLE)) === 0).slice(0, ANY_INSTANCE_SAMPLE);
    const deadline = performance.now() + 60_000;
    for (const url of urls()) {
      const reading = await storeStatuses(url, sample, deadline);
      for (const id of sample) {
        const seen = reading.seen.get(id);
        const key = seen === undefined ? 'no answer' : seen === audit.decided.get(id) ? 'agrees' : 'disagrees';
        r.storeAnyInstance[key] = (r.storeAnyInstance[key] ?? 0) + 1;
      }
      for (const [answer, n] of Object.entries(reading.answers)) if (answer !== '200') r.storeAnyInstance[answer] = (r.storeAnyInstance[answer] ?? 0) + n;
    }
  }

  #saveBrokerLog(node: number): void {
    keepLog(this.#cluster.logFile(node), join(this.#logDir, `node-${node}-${++this.#brokerLogs}.log`));
  }

  teardown(): Promise<void> {
    this.#tornDown ??= this.#teardown();
    return this.#tornDown;
  }

  async #teardown(): Promise<void> {
    this.#stopping = true;
    const step = (what: string, action: () => Promise<unknown>, ms: number): Promise<void> => boundedStep(what, action, ms, (w, err) => this.fail(`teardown: ${w}`, err));
    const inProgress = [...this.#inProgress];
    if (inProgress.length > 0) await step('wait for starts in progress', () => Promise.allSettled(inProgress), (this.#p.readyS + 120) * 1000);
    const load = this.#load;
    if (load !== undefined) {
      await step('stop the load', () => load.stop(), 30_000);
      this.result.posts = { sent: load.sent, refused: load.refused, failed: load.failed };
    }
    await step('stop the watch', () => this.#watch.stop(), 10_000);
    await step('close the reader', async () => this.#reader?.close(), 15_000);
    const sims = this.#sims;
    if (sims !== undefined) this.#ending.add(sims);
    await step('stop the simulators', () => stopChild(sims), 20_000);
    await step('stop the instances', () => this.#group.stopAll(), 30_000);
    try {
      this.#group.writeLogs();
      if (sims !== undefined) writeFileSync(join(this.#logDir, 'simulators.log'), sims.output());
    } catch {
      // logs are a help, not a result
    }
    for (let n = 1; n <= this.#cluster.nodeCount; n++) this.#saveBrokerLog(n);
    await step('stop the cluster', () => this.#cluster.stop(), 60_000);
    await step('stop postgres', () => this.#postgres.stop(), 70_000);
    this.#group.removeStateDirs();
  }

  /** Synchronous last resort when the process exits: SIGKILL the children and the nodes. */
  killNow(): void {
    this.#group.killNow();
    if (this.#sims?.process.exitCode === null) this.#sims.process.kill('SIGKILL');
    for (const pid of this.#cluster.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
