// One member of the rebalance benchmark's group (bench/rebalance.ts), alone in its
// process: node-rdkafka is used from one thread per process, as in the engine. It joins
// the group with the protocol and assignor it is given, answers the rebalance callback
// as that protocol requires, and writes every change of its assignment to stdout as a
// JSON line stamped with the wall clock (sub-millisecond; every member runs on the same
// machine, so the parent can order the lines of all members on one time line).
//
// Eager (classic range): an assign callback carries the whole new assignment and a
// revoke callback takes everything away, answered with assign() / unassign().
// Incremental (classic cooperative-sticky, and every assignor of the consumer protocol
// of KIP-848): the callbacks carry only the partitions added or taken away, answered
// with incrementalAssign() / incrementalUnassign(); librdkafka rejects assign() there.
//
// SIGTERM closes the consumer (a clean leave; with group.instance.id librdkafka sends
// no LeaveGroup under the classic protocol, and a "temporary" leave, member epoch -2,
// under the consumer protocol). A fatal client error (UNRELEASED_INSTANCE_ID when a
// static member comes back before the broker let its old membership go) ends a
// librdkafka consumer for good; it is replaced by a new one after a second, as the
// engine's GroupConsumer.replace() would, and every attempt is reported.
//
//   node dist/bench/rebalance-member.js '<MemberSpec as JSON>'
import Kafka from 'node-rdkafka';

export interface MemberSpec {
  readonly brokers: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly protocol: 'classic' | 'consumer';
  /** classic: partition.assignment.strategy; consumer: group.remote.assignor. */
  readonly assignor: string;
  readonly instanceId?: string;
  /** classic only (the consumer protocol takes it from the broker). */
  readonly sessionTimeoutMs?: number;
}

/** A JSON line on stdout. `t` is the wall clock in ms; partitions are `topic:partition`. */
export type MemberReport =
  | { readonly t: number; readonly ev: 'ready'; readonly protocol: string }
  | { readonly t: number; readonly ev: 'assign' | 'revoke'; readonly partitions: string[]; readonly owned: string[]; readonly lost?: boolean }
  | { readonly t: number; readonly ev: 'error'; readonly code: number; readonly message: string; readonly fatal: boolean }
  | { readonly t: number; readonly ev: 'replaced'; readonly attempt: number }
  | { readonly t: number; readonly ev: 'closed' };

const ERR_ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS;
const ERR_FATAL = Kafka.CODES.ERRORS.ERR__FATAL;

const now = (): number => performance.timeOrigin + performance.now();
const report = (r: MemberReport): void => {
  process.stdout.write(`${JSON.stringify(r)}\n`);
};
const key = (a: Kafka.Assignment): string => `${a.topic}:${a.partition}`;

const spec = JSON.parse(process.argv[2] ?? '') as MemberSpec;
const owned = new Set<string>();
let consumer: Kafka.KafkaConsumer;
let closing = false;
let replacing = false;
let attempts = 0;

function create(): Kafka.KafkaConsumer {
  const classic = spec.protocol === 'classic';
  const c: Kafka.KafkaConsumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': spec.brokers,
      'group.id': spec.groupId,
      'client.id': `rebalance-${spec.instanceId ?? process.pid}`,
      'enable.auto.commit': false,
      'group.protocol': spec.protocol,
      ...(classic
        ? { 'partition.assignment.strategy': spec.assignor, 'session.timeout.ms': spec.sessionTimeoutMs ?? 10_000, 'heartbeat.interval.ms': 3000 }
        : { 'group.remote.assignor': spec.assignor }),
      ...(spec.instanceId === undefined ? {} : { 'group.instance.id': spec.instanceId }),
      'reconnect.backoff.max.ms': 1000,
      rebalance_cb: (err: Kafka.LibrdKafkaError | undefined, assignment: Kafka.Assignment[]) => onRebalance(c, err?.code === ERR_ASSIGN, assignment),
    },
    { 'auto.offset.reset': 'latest' },
  );
  c.on('event.error', (err) => report({ t: now(), ev: 'error', code: err.code, message: err.message, fatal: err.isFatal === true }));
  // The reason of a fatal error reaches only the log (consume() answers a bare ERR__FATAL).
  c.on('event.log', (log: { fac: string; message: string }) => {
    if (log.fac === 'FATAL') report({ t: now(), ev: 'error', code: ERR_FATAL, message: log.message.replace(/^\[thrd:[^\]]*\]: /, ''), fatal: true });
  });
  return c;
}

function onRebalance(c: Kafka.KafkaConsumer, assign: boolean, assignment: Kafka.Assignment[]): void {
  const t = now();
  // A replaced consumer's callbacks (its close revokes everything) are answered and not reported.
  const current = c === consumer;
  const incremental = c.rebalanceProtocol() === 'COOPERATIVE';
  try {
    if (assign) {
      if (incremental) c.incrementalAssign(assignment);
      else c.assign(assignment);
    } else if (incremental) c.incrementalUnassign(assignment);
    else c.unassign();
  } catch (err) {
    if (current && !closing) report({ t: now(), ev: 'error', code: -1, message: `answering the rebalance: ${(err as Error).message}`, fatal: false });
  }
  if (!current) return;
  const changed = assignment.map(key);
  if (assign) {
    if (!incremental) owned.clear();
    for (const p of changed) owned.add(p);
  } else if (incremental) {
    for (const p of changed) owned.delete(p);
  } else {
    owned.clear();
  }
  report({ t, ev: assign ? 'assign' : 'revoke', partitions: changed, owned: [...owned].sort() });
}

function connect(c: Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(new Error(err.message)) : resolve())));
}

function disconnect(c: Kafka.KafkaConsumer, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    c.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function start(): Promise<void> {
  consumer = create();
  await connect(consumer);
  consumer.subscribe([...spec.topics]);
  report({ t: now(), ev: 'ready', protocol: consumer.rebalanceProtocol() });
}

/** The fatal error ended this consumer: every partition is lost; join again with a new one. */
async function replace(): Promise<void> {
  replacing = true;
  const old = consumer;
  if (owned.size > 0) {
    owned.clear();
    report({ t: now(), ev: 'revoke', partitions: [], owned: [], lost: true });
  }
  await new Promise((r) => setTimeout(r, 1000));
  await disconnect(old, 5000);
  attempts += 1;
  report({ t: now(), ev: 'replaced', attempt: attempts });
  await start();
  replacing = false;
}

function poll(): void {
  if (closing || replacing) return;
  consumer.setDefaultConsumeTimeout(100);
  consumer.consume(100, (err) => {
    if (err && (err.code === ERR_FATAL || err.isFatal === true) && !closing && !replacing) {
      void replace().then(poll, (e: unknown) => {
        report({ t: now(), ev: 'error', code: -1, message: `replace failed: ${(e as Error).message}`, fatal: true });
        process.exit(1);
      });
      return;
    }
    setImmediate(poll);
  });
}

process.once('SIGTERM', () => {
  closing = true;
  void disconnect(consumer).then(() => {
    report({ t: now(), ev: 'closed' });
    process.exit(0);
  });
});

await start();
poll();
