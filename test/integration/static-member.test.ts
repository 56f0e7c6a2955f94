// A crashed instance's KIP-848 static membership against the real broker: it refuses
// the restarted instance (same group.instance.id) until it is removed, the removal
// (src/kafka/static-member.ts) takes it away at once, and the engine's group consumer
// does that by itself when its first join is refused. The crashed incarnation is a
// child process with a plain consumer, killed with SIGKILL after its assignment.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import Kafka from 'node-rdkafka';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConsumerLostError, GroupConsumer, type Rebalance } from '../../src/engine/group-consumer.js';
import { removeStaticMember } from '../../src/kafka/static-member.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';
import { waitFor } from '../support/wait.js';

const TOPIC = 'orders';
/** group.consumer.session.timeout.ms of the test broker (infra/kafka/server.properties). */
const SESSION_TIMEOUT_MS = 6000;

const memberScript = `
const Kafka = require('node-rdkafka');
const [groupId, instanceId, brokers, topic] = process.argv.slice(1);
const c = new Kafka.KafkaConsumer({
  'metadata.broker.list': brokers, 'group.id': groupId, 'group.protocol': 'consumer', 'group.instance.id': instanceId,
  rebalance_cb: (err, a) => {
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) { c.incrementalAssign(a); console.log('assigned ' + a.length); }
    else c.incrementalUnassign(a);
  },
}, {});
c.connect({}, (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  c.subscribe([topic]);
  setInterval(() => c.consume(10, () => {}), 100);
});
`;

/** Starts a member in a child process, waits for its assignment, then kills it (kill -9); returns when it died. */
async function crashedMember(groupId: string, instanceId: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', memberScript, groupId, instanceId, KAFKA_BOOTSTRAP_SERVERS, TOPIC], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  try {
    await waitFor('the first incarnation\'s assignment', () => (output.includes('assigned') ? true : undefined), 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its output: ${output}`);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return Date.now();
}

/** A plain consumer with the instance id: resolves 'assigned', or 'fatal' when the broker refuses it. */
async function join(groupId: string, instanceId: string): Promise<'assigned' | 'fatal'> {
  let outcome: 'assigned' | 'fatal' | undefined;
  const c: Kafka.KafkaConsumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS,
      'group.id': groupId,
      'group.protocol': 'consumer',
      'group.instance.id': instanceId,
      rebalance_cb: (err: Kafka.LibrdKafkaError, a: Kafka.Assignment[]) => {
        if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
          c.incrementalAssign(a);
          outcome ??= 'assigned';
        } else c.incrementalUnassign(a);
      },
    },
    {},
  );
  await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  c.subscribe([TOPIC]);
  try {
    return await waitFor(
      'an assignment or a refusal',
      () =>
        new Promise<'assigned' | 'fatal' | undefined>((resolve) =>
          c.consume(10, (err) => {
            if (err !== null && err !== undefined && ((err).isFatal === true || err.code === Kafka.CODES.ERRORS.ERR__FATAL)) outcome ??= 'fatal';
            resolve(outcome);
          }),
        ),
      20_000,
    );
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

describe('a crashed instance\'s static membership (KIP-848)', () => {
  it('refuses the restarted instance until it is removed by instance id, and is removed at once', async () => {
    const groupId = `static-member-${process.pid}-${Date.now()}`;
    const instanceId = 'i-crashed';
    await crashedMember(groupId, instanceId);
    // The premise: while the dead membership's session lives, the same instance id is refused.
    expect(await join(groupId, instanceId)).toBe('fatal');
    expect(await removeStaticMember({ brokers: KAFKA_BOOTSTRAP_SERVERS, groupId, instanceId, clientId: 'static-member-test', timeoutMs: 5000 })).toBe('removed');
    expect(await join(groupId, instanceId)).toBe('assigned');
    // Nothing left to remove, and a group that does not exist has no such member either.
    expect(await removeStaticMember({ brokers: KAFKA_BOOTSTRAP_SERVERS, groupId, instanceId: 'i-never', clientId: 'static-member-test', timeoutMs: 5000 })).toBe('not a member');
    expect(await removeStaticMember({ brokers: KAFKA_BOOTSTRAP_SERVERS, groupId: `${groupId}-none`, instanceId, clientId: 'static-member-test', timeoutMs: 5000 })).toBe('not a member');
  });

  it('the engine\'s group consumer releases it when its join is refused, and is assigned before that session could have ended', async () => {
    const groupId = `static-member-engine-${process.pid}-${Date.now()}`;
    const instanceId = 'i-engine';
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const killedAt = await crashedMember(groupId, instanceId);
    const consumer = await GroupConsumer.connect({
      brokers: KAFKA_BOOTSTRAP_SERVERS,
      groupId,
      clientId: 'static-member-engine-test',
      instanceId,
      topics: [TOPIC],
      readCommitted: true,
      protocol: 'consumer',
      maxPollIntervalMs: 300_000,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      log,
    });
    try {
      let replaced = 0;
      const assigned = await waitFor(
        'an assignment',
        async (): Promise<Rebalance | undefined> => {
          try {
            await consumer.poll(10, 50);
          } catch (err) {
            if (!(err instanceof ConsumerLostError)) throw err;
            replaced++;
            await consumer.replace();
          }
          const r = consumer.takeRebalance();
          if (r?.assign === true) consumer.assign(r);
          return r?.assign === true ? r : undefined;
        },
        20_000,
      );
      expect(assigned.assignment.length).toBeGreaterThan(0);
      expect(replaced).toBe(1);
      expect(lines.some((l) => l.includes('released the membership') && l.includes('"result":"removed"'))).toBe(true);
      expect(Date.now() - killedAt).toBeLessThan(SESSION_TIMEOUT_MS);
    } finally {
      await consumer.close();
    }
  });
});
