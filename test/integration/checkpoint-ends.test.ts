// Checkpoints under exactly once. There the transactional producer has no delivery
// reports: the changelog ends a checkpoint records are the changelogs' high
// watermarks, read after a commit and handed to the tasks with the next one
// (commit-cycle.ts, #askEnds). While saga answers stream in for longer than a few
// checkpoint intervals, every task's checkpoint comes to name both of its changelogs,
// never past their end. After a SIGKILL (no checkpoint at close), the restarted
// instance restores from those checkpoints: it replays less than the changelogs hold,
// and its store answers every order as decided.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readCheckpoint, checkpointKey } from '../../src/state/checkpoint.js';
import { JOIN_STORE, ORDERS_STORE, changelogTopic } from '../../src/kafka/topics.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { http } from '../support/orders.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { endOffsets } from '../support/topic-range.js';
import { waitFor } from '../support/wait.js';

const io = sagaIo('checkpoint-ends-test');
const stateDir = mkdtempSync(join(tmpdir(), 'checkpoint-ends-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** Batches of answer pairs, one a second for this long: past three checkpoint intervals (5 s). */
const SECONDS = 17;
const PAIRS_PER_SECOND = 60;

async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await fetch(`${baseUrl}/actuator/prometheus`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

it('writes checkpoints from the changelogs\' high watermarks while running, and restores from them after a SIGKILL', { timeout: 300_000 }, async () => {
  const applicationId = `ckpt-${Date.now()}`;
  const env = { APPLICATION_ID: applicationId, INSTANCE_ID: 'ckpt-pod', STATE_DIR: stateDir, COMMIT_INTERVAL_MS: '200', OUTBOX_RELAY_ENABLED: 'false' };
  const changelogs = [changelogTopic(applicationId, ORDERS_STORE), changelogTopic(applicationId, JOIN_STORE)];
  let service = await startService(env);
  const base = Date.now() * 100;
  const ids = Array.from({ length: SECONDS * PAIRS_PER_SECOND }, (_, i) => base + i * 7);
  const expected = new Map(ids.map((id, i) => [id, i % 4 === 0 ? 'ROLLBACK' : 'CONFIRMED']));
  const decided = (): Set<string> => new Set(io.orders.records.filter((r) => expected.has(Number(r.key))).map((r) => r.key));
  try {
    for (let s = 0; s < SECONDS; s++) {
      const batch = ids.slice(s * PAIRS_PER_SECOND, (s + 1) * PAIRS_PER_SECOND);
      await io.producer.sendAll(batch.flatMap((id) => answers(id, 'ACCEPT', expected.get(id) === 'ROLLBACK' ? 'REJECT' : 'ACCEPT')));
      await new Promise((r) => setTimeout(r, 1000));
    }
    await waitFor(`${ids.length} decisions`, () => (decided().size >= ids.length ? true : undefined), 120_000, 200);

    // Each task's checkpoint names both changelogs, at or below their high watermarks.
    const ends = await Promise.all(changelogs.map((topic) => endOffsets(topic)));
    let changelogRecords = 0;
    for (const e of ends) for (const offset of e.values()) changelogRecords += offset;
    for (let partition = 0; partition < NUM_PARTITIONS; partition++) {
      const checkpoint = await readCheckpoint(join(stateDir, applicationId, `0_${partition}`));
      changelogs.forEach((topic, i) => {
        const offset = checkpoint.get(checkpointKey(topic, partition));
        expect(offset, `0_${partition} ${topic}`).toBeGreaterThan(0);
        expect(offset, `0_${partition} ${topic}`).toBeLessThanOrEqual(ends[i]!.get(partition)!);
      });
    }

    expect(await service.kill('SIGKILL')).toBeNull();
    service = await startService(env);
    // Replayed from the checkpoints, not from the changelogs' starts.
    const restored = await metric(service.baseUrl, 'kafka_streams_restore_records_total');
    expect(restored).toBeLessThan(changelogRecords);
    for (const id of ids.filter((_, i) => i % 10 === 0)) {
      const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
      expect(res.status, `order ${id}`).toBe(200);
      expect(res.json.status, `order ${id}`).toBe(expected.get(id));
    }
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${service.output().slice(-6000)}\n`);
    throw err;
  } finally {
    await service.kill('SIGTERM');
  }
});
