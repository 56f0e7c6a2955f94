// Participants deliver at least once: after an outage one may answer an order again.
// Each order still gets exactly one decision, whether the repeat comes in the same
// batch, inside the join window, or after the decision went round through `orders`.
import { expect, it } from 'vitest';
import { http } from '../support/orders.js';
import { answerDto, answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const io = sagaIo('duplicate-answers-test');

// Without the record cache (CACHE_MAX_BYTES=0), every check of a creation against a
// decision reads RocksDB: the batch's one lookup (Task#readCreations) is what decides.
it.each([
  ['with the record cache', {}],
  ['without it', { CACHE_MAX_BYTES: '0' }],
])('decides an order once however often its participants answer it (%s)', { timeout: 120_000 }, async (_, env: Record<string, string>) => {
  const service = await startService({ APPLICATION_ID: `dup-answers-${Date.now()}`, INSTANCE_ID: 'dup-answers-0', COMMIT_INTERVAL_MS: '200', OUTBOX_RELAY_ENABLED: 'false', ...env });
  const base = Date.now() * 100;
  const sameBatch = base + 1;
  const inWindow = base + 2;
  const afterRoundTrip = base + 3;
  const ids = [sameBatch, inWindow, afterRoundTrip];
  const decisions = (id: number): number => io.orders.records.filter((r) => r.key === String(id) && /"status":"(CONFIRMED|REJECTED|ROLLBACK)"/.test(r.value.toString())).length;
  try {
    // Both answers twice in one send: the repeat is in the same transaction.
    await io.producer.sendAll([...answers(sameBatch), ...answers(sameBatch)]);
    // A repeated payment answer (a different one even) inside the window.
    await io.producer.sendAll(answers(inWindow));
    await waitFor('the first decisions', () => (decisions(sameBatch) > 0 && decisions(inWindow) > 0 ? true : undefined), 30_000, 100);
    await io.producer.sendAll([answers(inWindow, 'REJECT')[0]!]);
    // Answered, decided, the decision read back into the store; then answered again.
    await io.producer.sendAll(answers(afterRoundTrip));
    await waitFor('the decision in the store', async () => ((await http(service.baseUrl, 'GET', `/api/orders/store/${afterRoundTrip}`)).json?.status === 'CONFIRMED' ? true : undefined), 30_000, 100);
    await io.producer.sendAll(answers(afterRoundTrip, 'REJECT'));
    // And its creation delivered again (an at-least-once outbox upstream): the store keeps the decision.
    await io.producer.sendAll([{ topic: 'orders', key: String(afterRoundTrip), value: answerDto(afterRoundTrip, 'NEW', 'ORDER') }]);
    await new Promise((r) => setTimeout(r, 3000)); // room for a second decision to show
    for (const id of ids) expect(decisions(id), `decisions of ${id}`).toBe(1);
    for (const id of ids) expect((await http(service.baseUrl, 'GET', `/api/orders/store/${id}`)).json.status).toBe('CONFIRMED');
    const metrics = await (await fetch(`${service.baseUrl}/actuator/prometheus`)).text();
    expect(Number(/^kafka_streams_duplicate_decisions_suppressed_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${service.output().slice(-4000)}\n`);
    throw err;
  } finally {
    await service.kill('SIGTERM');
  }
});
