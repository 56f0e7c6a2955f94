// Exactly-once across a crash: several thousand saga pairs stream in while the
// instance is SIGKILLed and restarted; afterwards every order has exactly one
// decision in `orders` read committed, and orders-store agrees with the topic.
import { expect, it } from 'vitest';
import { http } from '../support/orders.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const PAIRS = 3000;
const io = sagaIo('eos-test');

it('decides every order exactly once although the instance is SIGKILLed mid-stream', { timeout: 300_000 }, async () => {
  const env = { APPLICATION_ID: `eos-${Date.now()}`, INSTANCE_ID: 'eos-pod-0', COMMIT_INTERVAL_MS: '300', OUTBOX_RELAY_ENABLED: 'false' };
  let service = await startService(env);

  const base = Date.now() * 100;
  const ids = Array.from({ length: PAIRS }, (_, i) => base + i * 7);
  // Every third order rolls back, so the decisions differ by order.
  const expected = new Map(ids.map((id, i) => [id, i % 3 === 0 ? 'ROLLBACK' : 'CONFIRMED']));
  // Only this test's orders: other tests' records share the topic.
  const mine = (): typeof io.orders.records => io.orders.records.filter((r) => expected.has(Number(r.key)));
  const batches = [];
  for (let i = 0; i < PAIRS; i += 100) batches.push(ids.slice(i, i + 100).flatMap((id, j) => answers(id, (i + j) % 3 === 0 ? 'REJECT' : 'ACCEPT')));

  let killed = false;
  for (let b = 0; b < batches.length; b++) {
    await io.producer.sendAll(batches[b]!);
    if (b === Math.floor(batches.length / 2)) {
      // Half the pairs are in: some decided and committed, some in the open transaction.
      await waitFor('some decisions', () => (mine().length > 0 ? true : undefined));
      expect(await service.kill('SIGKILL')).toBeNull();
      killed = true;
      service = await startService(env);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(killed).toBe(true);
  try {
    await waitFor(
      `${PAIRS} decisions`,
      () => (new Set(mine().map((r) => r.key)).size >= PAIRS ? true : undefined),
      120_000,
      200,
    );
    // Give a duplicate from a replayed, uncommitted transaction time to surface.
    await new Promise((r) => setTimeout(r, 2000));
    const counts = new Map<string, number>();
    for (const r of mine()) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n !== 1);
    expect(duplicated).toEqual([]);
    for (const r of mine()) expect(JSON.parse(r.value.toString()).status).toBe(expected.get(Number(r.key)));

    // The store agrees with the topic (a sample across every partition).
    for (const id of ids.filter((_, i) => i % 50 === 0)) {
      const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
      expect(res.status).toBe(200);
      expect(res.json.status).toBe(expected.get(id));
    }
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${service.output().slice(-6000)}\n`);
    throw err;
  } finally {
    await service.kill('SIGTERM');
  }
});
