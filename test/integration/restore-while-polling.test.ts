// A restore longer than max.poll.interval.ms keeps the member in its group: the
// changelog reader feeds the stores between polls of the group consumer (which go on,
// the restoring tasks' partitions paused), so the member is never evicted, no
// rebalance starts, and every task runs once its stores are caught up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { http } from '../support/orders.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const PAIRS = 5000;
const MAX_POLL_INTERVAL_MS = 1000;
const io = sagaIo('restore-polling-test');

it('restores for longer than max.poll.interval.ms without leaving the group, then runs every task', { timeout: 300_000 }, async () => {
  const env = { APPLICATION_ID: `restore-poll-${Date.now()}`, INSTANCE_ID: 'restore-poll-0', COMMIT_INTERVAL_MS: '200', OUTBOX_RELAY_ENABLED: 'false' };
  const first = await startService({ ...env, STATE_DIR: mkdtempSync(join(tmpdir(), 'restore-poll-a-')) });
  const base = Date.now() * 100;
  const ids = Array.from({ length: PAIRS }, (_, i) => base + i * 7);
  const mine = new Set(ids.map(String));
  try {
    for (let i = 0; i < PAIRS; i += 250) {
      await io.producer.sendAll(ids.slice(i, i + 250).flatMap((id) => answers(id)));
    }
    await waitFor(`${PAIRS} decisions`, () => (new Set(io.orders.records.filter((r) => mine.has(r.key)).map((r) => r.key)).size >= PAIRS ? true : undefined), 120_000, 200);
  } finally {
    expect(await first.kill('SIGTERM')).toBe(0);
  }

  // The same instance on an empty state directory restores everything, one changelog
  // record per step, which takes several times max.poll.interval.ms.
  const started = Date.now();
  const second = await startService(
    { ...env, STATE_DIR: mkdtempSync(join(tmpdir(), 'restore-poll-b-')), RESTORE_MAX_POLL_RECORDS: '1', MAX_POLL_INTERVAL_MS: String(MAX_POLL_INTERVAL_MS) },
    { readyTimeoutMs: 240_000 },
  );
  try {
    const readyMs = Date.now() - started;
    const lines = second.output().split('\n');
    const done = lines.filter((l) => l.includes('"msg":"restore: done"')).map((l) => JSON.parse(l) as { restored: number; seconds: number });
    const restored = done.reduce((n, d) => n + d.restored, 0);
    const longest = Math.max(...done.map((d) => d.seconds));
    process.stdout.write(`restored ${restored} changelog records in ${done.length} tasks, the longest in ${longest} s; ready after ${readyMs} ms (max.poll.interval.ms ${MAX_POLL_INTERVAL_MS})\n`);
    expect(restored).toBeGreaterThanOrEqual(PAIRS);
    expect(longest * 1000).toBeGreaterThan(2 * MAX_POLL_INTERVAL_MS); // the restore really did outlast the poll interval
    // Never evicted: no partition was taken away during the restore.
    expect(lines.filter((l) => l.includes('rebalance: tasks revoked'))).toEqual([]);
    for (const id of ids.filter((_, i) => i % 100 === 0)) {
      const res = await http(second.baseUrl, 'GET', `/api/orders/store/${id}`);
      expect(res.status).toBe(200);
      expect(res.json.status).toBe('CONFIRMED');
    }
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${second.output().slice(-6000)}\n`);
    throw err;
  } finally {
    await second.kill('SIGTERM');
  }
});
