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
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionFor } from '../../src/kafka/partitioner.js';
import type { Child } from '../support/child.js';
import { decisionsBack, doubleServed, movedPartitions, newOwnerServing, ownersAt, storeGaps, streamsDownSpans, worst } from '../support/cluster-figures.js';
import { readInstanceLog } from '../support/instance-logs.js';
import { KafkaCluster } from '../support/kafka-cluster.js';
import { OrderLoad } from '../support/order-load.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { recoveryFigures } from '../support/recovery-time.js';
import { freePort, startService, type Service } from '../support/service.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { TopicReader } from '../support/topic-reader.js';
import type { ClusterParams } from './cluster-params.js';
import { emptyFault, type ClusterFaultResult, type ClusterResult, type Seconds } from './cluster-result.js';
import type { ClusterFault, ClusterFaultContext, ClusterFaultOutcome } from './cluster-scenarios.js';
import { ClusterWatch } from './cluster-watch.js';
import { DecisionClock } from './decision-clock.js';
import { emptyResult } from './result.js';
import { auditOrders, boundedStep, drain, FaultRuns, keepLog, STEADY_WAIT_MS, takeViews, until, lastWords, perSecond, round, stopChild, untilSteady, type FaultRun } from './run-steps.js';
import { settleViews, storeStatuses } from './views.js';

const DATABASE = 'order_service_cluster_fault';
/** The service's JOIN_WINDOW_MS (its default, set explicitly): the audit judges split answers by it. */
const JOIN_WINDOW_MS = 10_000;
/** Orders read at every instance for the "any instance" figure. */
const ANY_INSTANCE_SAMPLE = 300;

/** One service instance of the group: a name, a Kafka slot, a port and a state folder kept across its restarts. */
interface Instance {
  readonly id: string;
  readonly slot: number;
  readonly port: number;
  readonly stateDir: string;
  /** The process running now, if any. */
  service: Service | undefined;
  /** Every process it ran, for the logs. */
  readonly processes: Child[];
  /** POSTs go to it (it runs and is not being terminated). */
  inLoad: boolean;
}

interface PostCounts {
  accepted: number;
  refused: Record<string, number>;
  failed: Record<string, number>;
}

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
  readonly #instances: Instance[] = [];
  readonly #watch: ClusterWatch;
  #sims: Simulators | undefined;
  #reader: TopicReader | undefined;
  #load: OrderLoad | undefined;
  #clock: DecisionClock | undefined;
  #t0 = performance.now();
  #next = 0;
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
    for (const entry of ['dist/src/main.js', 'dist/src/sim/main.js'])
      if (!existsSync(join(p.serviceDir, entry))) throw new Error(`${join(p.serviceDir, entry)} is missing: build that checkout first (npm run build)`);
    mkdirSync(this.#logDir, { recursive: true });

    await Promise.all([
      this.#starting(this.#cluster.start().then(() => this.#cluster.waitHealthy())),
      this.#starting(this.#postgres.start().then(() => this.#postgres.recreateDatabase(DATABASE))),
    ]);
    this.note('cluster and postgres up');
    // The first instance creates the topics; the others join its group together.
    const first = await this.#newInstance();
    await this.#start(first);
    const others: Instance[] = [];
    for (let i = 1; i < p.instances; i++) others.push(await this.#newInstance());
    await Promise.all(others.map((inst) => this.#start(inst)));
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

    const load = (this.#load = new OrderLoad({ baseUrl: () => this.#target(), ratePerS: p.ratePerS, seed: p.seed }));
    load.start();
    this.#t0 = load.startedAt;
    this.note(`load started: ${p.ratePerS} orders/s over the instances`);
    const windows: ClusterFaultOutcome[] = [];
    const counts: PostCounts[] = [];
    try {
      await this.#until(this.#t0 + p.warmS * 1000);
      const behind = await untilSteady(load, clock, () => this.#stopping);
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
        const lagging = await untilSteady(load, clock, () => this.#stopping);
        if (lagging !== undefined) this.fail(`after ${fault.name}`, new Error(lagging));
        // The next fault finds the group settled (no rebalance or restore still going), or the run says why not.
        if (!(await this.#settled(STEADY_WAIT_MS))) this.fail(`after ${fault.name}`, new Error(`the group did not settle: streams not UP on every instance within ${STEADY_WAIT_MS / 1000} s`));
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
    this.#faultFigures(windows, counts, loadEnd);
    await this.#audit();
  }

  /** Round robin over the instances in the load. */
  #target(): string | undefined {
    const targets = this.#instances.filter((i) => i.inLoad && i.service !== undefined);
    if (targets.length === 0) return undefined;
    return targets[this.#next++ % targets.length]!.service!.baseUrl;
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

  async #newInstance(): Promise<Instance> {
    const n = this.#instances.length + 1;
    const inst: Instance = {
      id: `i${n}`,
      slot: n,
      port: await freePort(),
      stateDir: mkdtempSync(join(tmpdir(), `order-engine-cluster-i${n}-`)),
      service: undefined,
      processes: [],
      inLoad: false,
    };
    this.#instances.push(inst);
    return inst;
  }

  /** Starts (or restarts) an instance; in the load and watched once ready. */
  async #start(inst: Instance): Promise<void> {
    const p = this.#p;
    if (this.#stopping) throw new Error('stopped');
    const started = performance.now();
    this.#watch.watch(inst.id, `http://127.0.0.1:${inst.port}`);
    try {
      const service = await this.#starting(
        startService(
          {
            KAFKA_BOOTSTRAP_SERVERS: p.proxies ? this.#cluster.clientBootstrap(inst.slot) : this.#cluster.bootstrapServers,
            DATABASE_URL: this.#databaseUrl,
            APPLICATION_ID: this.#applicationId,
            INSTANCE_ID: inst.id,
            // Distinct id bits per instance: two instances with the same node bits may
            // hand out the same order id in the same millisecond.
            NODE_ID: String(inst.slot),
            STATE_DIR: inst.stateDir,
            NUM_PARTITIONS: String(p.numPartitions),
            REPLICATION_FACTOR: '3',
            NUM_STREAM_THREADS: String(p.streamThreads),
            JOIN_WINDOW_MS: String(JOIN_WINDOW_MS),
            OUTBOX_POLL_MS: process.env.OUTBOX_POLL_MS ?? '1000',
          },
          { port: inst.port, dir: p.serviceDir, readyTimeoutMs: p.readyS * 1000 },
        ),
      );
      inst.service = service;
      inst.processes.push(service);
      inst.inLoad = true;
      this.#watchExit(inst.id, service);
      this.note(`${inst.id} ready (pid ${service.process.pid}) after ${round(performance.now() - started)} s`);
    } catch (err) {
      const output = (err as { childOutput?: string }).childOutput;
      if (output !== undefined) writeFileSync(join(this.#logDir, `${inst.id}-${inst.processes.length + 1}-failed-start.log`), output);
      throw err;
    }
  }

  #watchExit(what: string, child: Child): void {
    child.process.once('exit', (code, signal) => {
      if (this.#ending.has(child)) return;
      this.fail(what, new Error(`pid ${child.process.pid} exited by itself (${code ?? signal}); its last words: ${lastWords(child)}`));
    });
  }

  #instance(id: string): Instance {
    const inst = this.#instances.find((i) => i.id === id);
    if (inst === undefined) throw new Error(`no instance ${id}`);
    return inst;
  }

  #context(): ClusterFaultContext {
    return {
      running: () => this.#instances.filter((i) => i.service !== undefined).map((i) => i.id),
      killInstance: async (id) => {
        const inst = this.#instance(id);
        const service = inst.service;
        if (service === undefined) throw new Error(`${id} is not running`);
        inst.inLoad = false;
        inst.service = undefined;
        this.#ending.add(service);
        await service.kill('SIGKILL');
        this.note(`${id} killed (kill -9, pid ${service.process.pid})`);
      },
      restartInstance: async (id) => {
        this.note(`${id} restart issued`);
        try {
          await this.#start(this.#instance(id));
        } catch (err) {
          this.fail(`${id} restart`, err);
        }
      },
      addInstance: async () => {
        const inst = await this.#newInstance();
        this.note(`${inst.id} start issued (slot ${inst.slot})`);
        try {
          await this.#start(inst);
        } catch (err) {
          this.fail(`${inst.id} start`, err);
        }
        return inst.id;
      },
      sigtermInstance: async (id) => {
        const inst = this.#instance(id);
        const service = inst.service;
        if (service === undefined) throw new Error(`${id} is not running`);
        inst.inLoad = false;
        this.#ending.add(service);
        const sent = performance.now();
        const bound = (this.#p.sigtermBoundS + 5) * 1000;
        let timer: NodeJS.Timeout | undefined;
        const exitCode = await Promise.race([
          service.kill('SIGTERM'),
          new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), bound))),
        ]);
        clearTimeout(timer);
        const exitMs = performance.now() - sent;
        if (exitCode === 'late') {
          await service.kill('SIGKILL');
          this.note(`${id} had not exited ${bound / 1000} s after SIGTERM: killed`);
        } else this.note(`${id} exited ${round(exitMs)} s after SIGTERM with code ${exitCode}`);
        inst.service = undefined;
        return { exitCode: exitCode === 'late' ? null : exitCode, exitMs };
      },
      partitionInstance: (id) => {
        this.#cluster.partition(this.#instance(id).slot);
        this.note(`${id} partitioned from every broker`);
      },
      healInstance: (id) => {
        this.#cluster.heal(this.#instance(id).slot);
        this.note(`${id} partition healed`);
      },
      brokerToKill: async () => (this.#p.brokerNode > 0 ? this.#p.brokerNode : this.#cluster.coordinatorOf(this.#applicationId)),
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

  /** Waits (at most `ms`) until every running instance's readiness says streams UP. */
  async #settled(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    const running = (): string[] => this.#instances.filter((i) => i.service !== undefined).map((i) => i.id);
    while (!this.#watch.allUp(running())) {
      if (performance.now() > deadline || this.#stopping) return false;
      await sleep(250);
    }
    return true;
  }

  async #until(at: number): Promise<void> {
    await until(at, this.#clock, () => this.#stopping);
  }

  /** Each fault's figures over its interval (its start to the next one's). */
  #faultFigures(windows: readonly ClusterFaultOutcome[], counts: readonly PostCounts[], loadEnd: number): void {
    const p = this.#p;
    const load = this.#load!;
    const clock = this.#clock!;
    const samples = this.#watch.samples;
    const partitionOf = (id: string): number => partitionFor(id, p.numPartitions);
    const s = (ms: number | undefined | 'never'): Seconds => (ms === undefined ? null : ms === 'never' ? 'never' : round(ms));
    // Log times are epoch ms; the rest is performance.now().
    const logs = this.#instances.flatMap((inst) => inst.processes.map((proc) => ({ instance: inst.id, log: readInstanceLog(proc.output()) })));
    const toNow = (epochMs: number): number => epochMs - performance.timeOrigin;
    windows.forEach((w, k) => {
      const row = this.result.faults[k]!;
      const until = windows[k + 1]?.start ?? loadEnd;
      row.startS = round(w.start - this.#t0);
      row.endS = round(w.end - this.#t0);
      row.untilS = round(until - this.#t0);
      row.moved = movedPartitions(samples, w.start, until, p.numPartitions);
      const back = decisionsBack(load.accepted, clock.decidedAt, partitionOf, w.start, until, p.numPartitions);
      row.decisionsBackS = back.map((ms) => (ms === undefined ? null : round(ms)));
      const owner = newOwnerServing(samples, w.start, until, p.numPartitions);
      row.newOwnerS = owner.map((ms, partition) => (ms === undefined || !row.moved.includes(partition) ? null : round(ms)));
      const served = back.map((ms, partition) => (ms === undefined || owner[partition] === undefined ? undefined : Math.max(ms, owner[partition])));
      row.movedBackS = row.moved.length === 0 ? null : s(worst(served, row.moved));
      row.allBackS = s(worst(back));
      row.storeGapS = storeGaps(samples, w.start, until, p.numPartitions).map(round);
      const rec = recoveryFigures(load.accepted, clock.decidedAt, w, until);
      row.recoveryS = rec.recoveryMs === undefined ? null : round(rec.recoveryMs);
      row.rebalances = streamsDownSpans(samples, w.start, until).map((sp) => ({ instance: sp.instance, startS: round(sp.start - this.#t0), s: round(sp.end - sp.start) }));
      let records = 0;
      let seconds = 0;
      for (const { instance, log } of logs)
        for (const r of log.restores) {
          const at = toNow(r.startedAt);
          if (at < w.start || at >= until) continue;
          const took = r.doneAt === undefined ? null : (r.doneAt - r.startedAt) / 1000;
          row.restores.push({ instance, records: r.records, s: took });
          if (took !== null) {
            records += r.records;
            seconds += took;
          }
        }
      row.restoreRatePerS = seconds > 0 ? Math.round(records / seconds) : null;
      row.doubleServed = doubleServed(samples, w.start, until, p.numPartitions);
      row.targetServing = ownersAt(samples, until, p.numPartitions).flatMap((owners, partition) => (owners.has(w.target) ? [partition] : []));
      const [a, b] = [counts[k]!, counts[k + 1]!];
      const delta = (x: Record<string, number>, y: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(y).map(([key, n]) => [key, n - (x[key] ?? 0)]).filter(([, n]) => (n as number) > 0));
      row.posts = { accepted: b.accepted - a.accepted, refused: delta(a.refused, b.refused), failed: delta(a.failed, b.failed) };
    });
  }

  /** The verdict: `orders` from its beginning, then Postgres and each order's owner's store, then every instance's store for a sample. */
  async #audit(): Promise<void> {
    const p = this.#p;
    const r = this.result;
    const audit = await auditOrders(this.#load!.accepted.map((o) => o.id), this.#cluster.bootstrapServers, p.numPartitions, JOIN_WINDOW_MS);
    Object.assign(r, audit.figures);
    Object.assign(r.samples, audit.samples);
    this.note(`orders read from its beginning: ${audit.records} records`);

    const urls = (): string[] => this.#instances.flatMap((i) => (i.service === undefined ? [] : [i.service.baseUrl]));
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
    const processes = this.#instances.flatMap((i) => i.processes);
    for (const child of [sims, ...processes]) if (child !== undefined) this.#ending.add(child);
    await step('stop the simulators', () => stopChild(sims), 20_000);
    await step('stop the instances', () => Promise.all(this.#instances.map((i) => stopChild(i.service))), 30_000);
    try {
      for (const inst of this.#instances) inst.processes.forEach((proc, k) => writeFileSync(join(this.#logDir, `${inst.id}-${k + 1}.log`), proc.output()));
      if (sims !== undefined) writeFileSync(join(this.#logDir, 'simulators.log'), sims.output());
    } catch {
      // logs are a help, not a result
    }
    for (let n = 1; n <= this.#cluster.nodeCount; n++) this.#saveBrokerLog(n);
    await step('stop the cluster', () => this.#cluster.stop(), 60_000);
    await step('stop postgres', () => this.#postgres.stop(), 70_000);
    for (const inst of this.#instances) rmSync(inst.stateDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the process exits: SIGKILL the children and the nodes. */
  killNow(): void {
    for (const child of [...this.#instances.flatMap((i) => i.processes), this.#sims]) if (child?.process.exitCode === null) child.process.kill('SIGKILL');
    for (const pid of this.#cluster.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
