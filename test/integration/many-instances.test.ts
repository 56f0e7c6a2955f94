// Several instances in one group (one APPLICATION_ID): the broker's assignor shares
// the six tasks between them with co-partitions together, an instance joining takes
// only some, and when one is SIGKILLed its tasks move to the others and every order is
// still decided exactly once, the store agreeing.
import { expect, it } from 'vitest';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { http } from '../support/orders.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const PAIRS = 2000;
const io = sagaIo('many-instances-test');

/** An instance's tasks by state, from its Prometheus endpoint. */
async function tasksOf(service: Service): Promise<Map<number, string>> {
  const res = await fetch(`${service.baseUrl}/actuator/prometheus`).catch(() => undefined);
  const out = new Map<number, string>();
  if (res === undefined || res.status !== 200) return out;
  for (const m of (await res.text()).matchAll(/^kafka_streams_task\{partition="(\d+)",state="(\w+)"\} 1$/gm)) out.set(Number(m[1]), m[2]!);
  return out;
}

const running = (tasks: Map<number, string>): number[] => [...tasks].filter(([, s]) => s === 'RUNNING').map(([p]) => p).sort((a, b) => a - b);

/** Waits until the instances run every task between them, each task on exactly one. */
async function settled(services: Service[], timeoutMs: number): Promise<number[][]> {
  return waitFor(
    'every task running on exactly one instance',
    async () => {
      const each = await Promise.all(services.map(async (s) => running(await tasksOf(s))));
      const all = each.flat();
      const complete = all.length === NUM_PARTITIONS && new Set(all).size === NUM_PARTITIONS && each.every((t) => t.length > 0);
      return complete ? each : undefined;
    },
    timeoutMs,
    250,
  );
}

it('shares the tasks, moves a killed instance\'s tasks to the others, and decides every order exactly once', { timeout: 300_000 }, async () => {
  const env = { APPLICATION_ID: `many-${Date.now()}`, COMMIT_INTERVAL_MS: '300', OUTBOX_RELAY_ENABLED: 'false', NUM_STANDBY_REPLICAS: '1' };
  const a = await startService({ ...env, INSTANCE_ID: 'many-a' });
  let b: Service | undefined;
  let c: Service | undefined;
  try {
    b = await startService({ ...env, INSTANCE_ID: 'many-b' });
    const [ta, tb] = await settled([a, b], 60_000);
    // Co-partitions together: each instance's stream consumer got whole tasks (a split
    // task would never run, and settled() would time out).
    expect(ta!.length + tb!.length).toBe(NUM_PARTITIONS);

    const base = Date.now() * 100;
    const ids = Array.from({ length: PAIRS }, (_, i) => base + i * 7);
    const expected = new Map(ids.map((id, i) => [id, i % 3 === 0 ? 'ROLLBACK' : 'CONFIRMED']));
    const mine = (): typeof io.orders.records => io.orders.records.filter((r) => expected.has(Number(r.key)));
    const batches = [];
    for (let i = 0; i < PAIRS; i += 100) batches.push(ids.slice(i, i + 100).flatMap((id, j) => answers(id, (i + j) % 3 === 0 ? 'REJECT' : 'ACCEPT')));

    let movedAfterMs = 0;
    for (let n = 0; n < batches.length; n++) {
      await io.producer.sendAll(batches[n]!);
      if (n === Math.floor(batches.length / 2)) {
        await waitFor('some decisions', () => (mine().length > 0 ? true : undefined));
        // b dies with a transaction open: its tasks move to a, which restores them
        // (from its standby copies: only their tail) and replays what b did not commit.
        const killedAt = Date.now();
        expect(await b!.kill('SIGKILL')).toBeNull();
        b = undefined;
        // Until the group moves b's tasks (its session has to end first), a answers for
        // them from its standby copies, saying how far behind they are.
        const decided = mine().map((r) => Number(r.key)).find((id) => tb!.includes(partitionFor(String(id), NUM_PARTITIONS)));
        if (decided !== undefined) {
          // The standby copy trails b's commits by its changelog fetch: an order decided a
          // moment ago may not be in it yet (404), never for long.
          const res = await waitFor(
            'the standby copy answers',
            async () => {
              const r = await fetch(`${a.baseUrl}/api/orders/store/${decided}`);
              return r.status === 404 ? undefined : r;
            },
            3000,
            100,
          );
          expect(res.status).toBe(200);
          expect(res.headers.get('x-store-lag')).toMatch(/^(\d+|unknown)$/);
          expect(res.headers.get('x-served-by')).toBe('many-a');
        }
        await waitFor('a runs every task', async () => (running(await tasksOf(a)).length === NUM_PARTITIONS ? true : undefined), 60_000, 250);
        movedAfterMs = Date.now() - killedAt;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // The seed's recovery target, with the broker's session timeout (6 s here) in it.
    expect(movedAfterMs).toBeLessThan(60_000);
    process.stdout.write(`tasks of the killed instance running again on the other after ${movedAfterMs} ms\n`);

    await waitFor(`${PAIRS} decisions`, () => (new Set(mine().map((r) => r.key)).size >= PAIRS ? true : undefined), 120_000, 200);
    await new Promise((r) => setTimeout(r, 2000)); // room for a duplicate to surface
    const counts = new Map<string, number>();
    for (const r of mine()) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    for (const r of mine()) expect(JSON.parse(r.value.toString()).status).toBe(expected.get(Number(r.key)));
    for (const id of ids.filter((_, i) => i % 40 === 0)) {
      const res = await http(a.baseUrl, 'GET', `/api/orders/store/${id}`);
      expect(res.status).toBe(200);
      expect(res.json.status).toBe(expected.get(id));
    }

    // A new instance joins: it takes some tasks, the others stay where they run.
    const before = running(await tasksOf(a));
    c = await startService({ ...env, INSTANCE_ID: 'many-c' });
    const [after, taken] = await settled([a, c], 60_000);
    expect(taken!.length).toBeGreaterThan(0);
    expect(after!.every((p) => before.includes(p))).toBe(true);
    // a kept standby copies of b's tasks (NUM_STANDBY_REPLICAS 1): the moved tasks restored only their tail.
    expect(a.output()).toContain('standby tasks made active');
  } catch (err) {
    process.stderr.write(`--- a (tail) ---\n${a.output().slice(-5000)}\n`);
    if (b !== undefined) process.stderr.write(`--- b (tail) ---\n${b.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await Promise.all([a.kill('SIGTERM'), b?.kill('SIGTERM'), c?.kill('SIGTERM')]);
  }
});
