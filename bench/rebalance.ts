// Which rebalance protocol the stream engine's group should use: librdkafka's classic
// protocol (range, eager; cooperative-sticky, incremental) against the consumer group
// protocol of KIP-848 (group.protocol=consumer, the broker's `range` or `uniform`
// assignor), each on a fresh group and fresh co-partitioned topics (3 × 6 partitions,
// named as the engine's source topics). Every member is its own process
// (bench/rebalance-member.ts) reporting its assignment changes; this process plays the
// scenario one step at a time and measures each step:
//
//   join m0 … join m5     the group grows 1 → 6, one member at a time
//   leave m2              SIGTERM: the member closes its consumer
//   crash m4              SIGKILL: the broker finds out by the session timeout
//   restart m4            the crashed member comes back (same group.instance.id)
//   rolling restart m1    static members only: SIGTERM, started again once it exited,
//                         as a rolling deployment does
//   crash+restart m0      static members only: SIGKILL and an immediate restart, as a
//                         crashed pod restarted by its orchestrator
//
// For each step: the time from the event (spawn, signal) to the group being stable
// again — every partition of every topic owned by exactly one live member, every
// member owning some, and no change for --quiet-ms afterwards — raw, including the
// member's process start; the partitions that changed owner against the fewest a
// balanced co-partitioned assignment needs; the partitions a member kept but had
// revoked in between (eager rebalancing stops every member); and the tasks split
// over two members (p of the three topics not on one member) at the stable point
// and at any instant in between.
//
// Candidates run two at a time (--parallel), each on its own group: the members idle,
// and the long waits are timeouts, so a full run stays near four minutes.
//
//   npm run build && KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 node dist/bench/rebalance.js [--only a,b] [--parallel 2] [--quiet-ms 2000]
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import { TOPIC_ORDERS, TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS } from '../src/kafka/topics.js';
import { printMachine, saveResults } from './machine.js';
import type { MemberReport, MemberSpec } from './rebalance-member.js';
import { analyzeStep, Ownership, type Layout, type OwnershipEvent, type StepAnalysis } from './rebalance-timeline.js';

interface Candidate {
  readonly key: string;
  readonly label: string;
  readonly protocol: MemberSpec['protocol'];
  readonly assignor: string;
  readonly static: boolean;
}

const CANDIDATES: readonly Candidate[] = [
  { key: 'classic-range', label: 'classic range, eager, static (today)', protocol: 'classic', assignor: 'range', static: true },
  { key: 'classic-coop', label: 'classic cooperative-sticky, static', protocol: 'classic', assignor: 'cooperative-sticky', static: true },
  { key: 'consumer-range-static', label: 'consumer protocol, range, static', protocol: 'consumer', assignor: 'range', static: true },
  { key: 'consumer-range', label: 'consumer protocol, range, dynamic', protocol: 'consumer', assignor: 'range', static: false },
  { key: 'consumer-uniform', label: 'consumer protocol, uniform, dynamic', protocol: 'consumer', assignor: 'uniform', static: false },
];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    parallel: { type: 'string', default: '2' },
    'quiet-ms': { type: 'string', default: '2000' },
    'step-timeout-ms': { type: 'string', default: '90000' },
    'session-timeout-ms': { type: 'string', default: '10000' },
  },
});
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const quietMs = Number(args['quiet-ms']);
const stepTimeoutMs = Number(args['step-timeout-ms']);
const classicSessionTimeoutMs = Number(args['session-timeout-ms']);
const parallel = Math.max(1, Number(args.parallel));
const only = args.only?.split(',');
const candidates = only === undefined ? CANDIDATES : CANDIDATES.filter((c) => only.includes(c.key));
if (candidates.length === 0) throw new Error(`--only matches none of ${CANDIDATES.map((c) => c.key).join(', ')}`);
const PARTITIONS = 6;
const SOURCE_TOPICS = [TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS, TOPIC_ORDERS];
const MEMBER_SCRIPT = new URL('./rebalance-member.js', import.meta.url).pathname;

const m = printMachine('rebalance protocols: time to stable, moves, co-partitioning', {
  brokers,
  candidates: candidates.map((c) => c.key),
  topics: `${SOURCE_TOPICS.length} × ${PARTITIONS} partitions`,
  quietMs,
  classicSessionTimeoutMs,
  parallel,
});
console.log(
  `session timeout: classic ${classicSessionTimeoutMs} ms (client session.timeout.ms, heartbeat 3000 ms); consumer protocol: the broker's ` +
    'group.consumer.session.timeout.ms / group.consumer.heartbeat.interval.ms (Kafka defaults 45000 / 5000 ms)',
);

const now = (): number => performance.timeOrigin + performance.now();

interface Row extends Partial<StepAnalysis> {
  readonly candidate: string;
  readonly step: string;
  readonly stable: boolean;
  readonly notes: string;
  /** A join: from the spawn to the member's consumer connected and subscribed (process start, library load). */
  readonly startMs?: number;
}

function admin(fn: (client: Kafka.IAdminClient, done: (err: Kafka.LibrdKafkaError | undefined) => void) => void): Promise<void> {
  const client = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'rebalance-bench-admin' });
  return new Promise<void>((resolve, reject) => fn(client, (err) => (err ? reject(new Error(err.message)) : resolve()))).finally(() => client.disconnect());
}

async function createTopics(layout: Layout): Promise<void> {
  for (const topic of layout.topics) {
    await admin((c, done) => c.createTopic({ topic, num_partitions: layout.partitions, replication_factor: 1 }, 15_000, done));
  }
  // Wait until the broker's metadata shows them, so no member subscribes before they exist.
  const probe = new Kafka.Producer({ 'metadata.broker.list': brokers });
  await new Promise<void>((resolve, reject) => probe.connect({ timeout: 10_000 }, (err) => (err ? reject(new Error(err.message)) : resolve())));
  try {
    for (let i = 0; ; i++) {
      const md = await new Promise<Kafka.Metadata>((resolve, reject) => {
        probe.getMetadata({ timeout: 5000 }, (err, d: Kafka.Metadata) => {
          if (err) reject(new Error(err.message));
          else resolve(d);
        });
      });
      const ok = layout.topics.every((t) => md.topics.find((x) => x.name === t)?.partitions.length === layout.partitions);
      if (ok) return;
      if (i > 100) throw new Error(`topics ${layout.topics.join(', ')} not visible in metadata`);
      await sleep(100);
    }
  } finally {
    await new Promise<void>((resolve) => probe.disconnect(() => resolve()));
  }
}

async function deleteTopics(layout: Layout): Promise<void> {
  for (const topic of layout.topics) await admin((c, done) => c.deleteTopic(topic, 15_000, done)).catch(() => undefined);
}

/** One candidate's group: its member processes and the ownership they report. */
class GroupRun {
  readonly #candidate: Candidate;
  readonly #groupId: string;
  readonly layout: Layout;
  readonly #log: (line: string) => void;
  readonly #procs = new Map<string, ChildProcess>();
  readonly #live = new Ownership();
  #events: OwnershipEvent[] = [];
  #notes = new Map<string, number>();
  #lastChange = 0;
  #readyAt: number | undefined;

  constructor(candidate: Candidate, runId: string, log: (line: string) => void) {
    this.#candidate = candidate;
    this.#groupId = `rebalance-${candidate.key}-${runId}`;
    this.layout = { topics: SOURCE_TOPICS.map((t) => `${this.#groupId}-${t}`), partitions: PARTITIONS };
    this.#log = log;
  }

  #record(e: OwnershipEvent): void {
    const prev = this.#live.ownedBy(e.member);
    const wasLive = this.#live.members.includes(e.member);
    this.#live.apply(e);
    this.#events.push(e);
    const changed = e.owned === null ? wasLive : !wasLive || e.owned.length !== prev.size || e.owned.some((p) => !prev.has(p));
    if (changed) this.#lastChange = now();
  }

  #note(what: string): void {
    this.#notes.set(what, (this.#notes.get(what) ?? 0) + 1);
  }

  spawn(name: string): void {
    const spec: MemberSpec = {
      brokers,
      groupId: this.#groupId,
      topics: this.layout.topics,
      protocol: this.#candidate.protocol,
      assignor: this.#candidate.assignor,
      ...(this.#candidate.static ? { instanceId: name } : {}),
      ...(this.#candidate.protocol === 'classic' ? { sessionTimeoutMs: classicSessionTimeoutMs } : {}),
    };
    const child = spawn(process.execPath, [MEMBER_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#procs.set(name, child);
    this.#record({ t: now(), member: name, owned: [] });
    const stderr: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 20) stderr.shift();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (this.#procs.get(name) !== child) return; // a killed process's last words
      let r: MemberReport;
      try {
        r = JSON.parse(line) as MemberReport;
      } catch {
        return;
      }
      if (r.ev === 'assign' || r.ev === 'revoke') this.#record({ t: r.t, member: name, owned: r.owned });
      else if (r.ev === 'error' && r.fatal) this.#note(`fatal: ${shortError(r.message)}`);
      else if (r.ev === 'replaced') this.#note('consumer replaced');
      else if (r.ev === 'ready') this.#readyAt ??= r.t;
    });
    child.once('exit', (code, signal) => {
      if (this.#procs.get(name) !== child) return;
      this.#procs.delete(name);
      this.#record({ t: now(), member: name, owned: null });
      if (code !== 0) this.#log(`  ${name} exited (${signal ?? code}): ${stderr.join(' | ')}`);
    });
  }

  /** SIGKILL: the member is gone from now on, whatever its process still had in its pipe. */
  kill(name: string): void {
    const child = this.#procs.get(name);
    if (child === undefined) return;
    this.#procs.delete(name);
    child.kill('SIGKILL');
    this.#record({ t: now(), member: name, owned: null });
  }

  /** SIGTERM: the member closes its consumer and exits; gone when it has exited. */
  terminate(name: string): Promise<void> {
    const child = this.#procs.get(name);
    if (child === undefined || child.exitCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    return exited;
  }

  async step(label: string, action: () => void): Promise<Row> {
    const before = Ownership.copy(this.#live);
    this.#events = [];
    this.#notes = new Map();
    this.#readyAt = undefined;
    const t0 = now();
    action();
    let stable = false;
    while (now() - t0 < stepTimeoutMs) {
      await sleep(50);
      // The event must have shown (a SIGTERMed member revokes a moment later), then the group settle.
      if (this.#lastChange >= t0 && this.#live.complete(this.layout) && now() - this.#lastChange >= quietMs) {
        stable = true;
        break;
      }
    }
    const a = analyzeStep(before, this.#events, t0, this.layout);
    const notes = [...this.#notes].map(([what, n]) => (n > 1 ? `${what} ×${n}` : what)).join('; ');
    const startMs = this.#readyAt === undefined ? undefined : Math.round(this.#readyAt - t0);
    const row: Row = { candidate: this.#candidate.key, step: label, stable, notes, ...(startMs === undefined ? {} : { startMs }), ...a };
    this.#log(`[${this.#candidate.key}] ${label}: ${describe(row)}`);
    return row;
  }

  async stopAll(): Promise<void> {
    const names = [...this.#procs.keys()];
    await Promise.all(names.map((n) => Promise.race([this.terminate(n), sleep(15_000).then(() => this.kill(n))])));
  }
}

function shortError(message: string): string {
  if (/instance id is still used/i.test(message)) return 'UNRELEASED_INSTANCE_ID';
  if (/fenced/i.test(message)) return 'FENCED_INSTANCE_ID';
  return message.slice(0, 80);
}

function describe(r: Row): string {
  const time =
    (r.stable ? `stable after ${Math.round(r.stableMs ?? 0)} ms` : `NOT stable within ${stepTimeoutMs} ms`) +
    (r.startMs === undefined ? '' : ` (subscribed after ${r.startMs} ms)`);
  return (
    `${time}, ${r.live} live, moved ${r.moved} (min ${r.minMoves}), kept-but-revoked ${r.keptRevoked}` +
    `${r.keptRevoked ? ` (paused ≤ ${Math.round(r.maxPauseMs ?? 0)} ms)` : ''}, split tasks ${r.splitStable} stable / ${r.splitMax} max` +
    `${r.doubleOwnedMax ? `, DOUBLE-OWNED ${r.doubleOwnedMax}` : ''}${r.notes ? `; ${r.notes}` : ''}`
  );
}

async function runCandidate(c: Candidate, runId: string): Promise<Row[]> {
  const log = (line: string): void => console.log(line);
  const run = new GroupRun(c, runId, log);
  log(`[${c.key}] ${c.label}: group and topics ${run.layout.topics[0]!.replace(/-[^-]+-[^-]+$/, '')}-*`);
  await createTopics(run.layout);
  const rows: Row[] = [];
  try {
    for (let k = 0; k < 6; k++) rows.push(await run.step(`join m${k} (${k}→${k + 1})`, () => run.spawn(`m${k}`)));
    rows.push(await run.step('leave m2, SIGTERM (6→5)', () => void run.terminate('m2')));
    rows.push(await run.step('crash m4, SIGKILL (5→4)', () => run.kill('m4')));
    rows.push(await run.step('restart m4 (4→5)', () => run.spawn('m4')));
    if (c.static) {
      rows.push(await run.step('rolling restart m1: SIGTERM, start again (5→5)', () => void run.terminate('m1').then(() => run.spawn('m1'))));
      rows.push(
        await run.step('crash+restart m0 at once (5→5)', () => {
          run.kill('m0');
          run.spawn('m0');
        }),
      );
    }
  } finally {
    await run.stopAll();
    await deleteTopics(run.layout);
  }
  return rows;
}

const runId = Date.now().toString(36);
const started = now();
// Longest first (the consumer protocol waits out its 45 s session timeout up to three times with static members).
const weight = (c: Candidate): number => (c.protocol === 'consumer' ? 2 : 0) + (c.static ? 1 : 0);
const queue = [...candidates].sort((a, b) => weight(b) - weight(a));
const results = new Map<string, Row[]>();
await Promise.all(
  Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) results.set(c.key, await runCandidate(c, runId));
  }),
);
const rows = candidates.flatMap((c) => results.get(c.key) ?? []);

const cell = (r: Row): string[] => [
  r.candidate,
  r.step,
  String(r.live),
  r.stable ? String(Math.round(r.stableMs ?? 0)) : `>${stepTimeoutMs}`,
  `${r.moved}/${r.minMoves}`,
  r.keptRevoked ? `${r.keptRevoked} (${Math.round(r.maxPauseMs ?? 0)} ms)` : '0',
  `${r.splitStable}/${r.splitMax}`,
  r.notes,
];
const header = ['candidate', 'step', 'live', 'stable ms', 'moved/min', 'kept but revoked', 'split stable/max', 'notes'];
const table = [header, ...rows.map(cell)];
const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
console.log('');
for (const [i, r] of table.entries()) {
  console.log(`| ${r.map((v, j) => v.padEnd(widths[j]!)).join(' | ')} |`);
  if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
}
console.log(`\nwall time ${Math.round((now() - started) / 1000)} s`);
console.log(`saved: ${saveResults('rebalance', { machine: m, params: { brokers, quietMs, stepTimeoutMs, classicSessionTimeoutMs, parallel }, rows })}`);
