// Task.restore (src/stream/task.ts): packed changelog records go straight into the
// right store, a tombstone deletes, and a finished restore leaves a checkpoint at the
// positions it was given, so a restart restores nothing again.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changelogTopic, JOIN_STORE, ORDERS_STORE } from '../../src/kafka/topics.js';
import { readCheckpoint } from '../../src/state/checkpoint.js';
import type { TaskConfig } from '../../src/stream/protocol.js';
import { encodeRestoreBatch } from '../../src/stream/restore-batch.js';
import { Task } from '../../src/stream/task.js';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(os.tmpdir(), 'order-engine-task-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

const config = (): TaskConfig => ({ partition: 3, applicationId: 'task-test', stateDir, joinWindowMs: 10_000, numPartitions: 6, dlqPartitions: 6, repartitionInputs: false });
const ORDERS = changelogTopic('task-test', ORDERS_STORE);
const JOIN = changelogTopic('task-test', JOIN_STORE);

describe('Task.restore', () => {
  it('writes each changelog into its store, deletes on a tombstone, and checkpoints when restored', async () => {
    const { task, restoreFrom } = await Task.open(config(), undefined);
    expect(restoreFrom.map((p) => p.offset)).toEqual([0, 0]);
    await task.restore(
      encodeRestoreBatch([
        { topic: ORDERS, key: Buffer.from('11'), value: Buffer.from('{"orderId":11,"status":"NEW"}') },
        { topic: ORDERS, key: Buffer.from('12'), value: Buffer.from('{"orderId":12,"status":"NEW"}') },
        { topic: JOIN, key: Buffer.from(`12|P|${String(Date.now()).padStart(15, '0')}|4`), value: Buffer.from('{"orderId":12,"status":"ACCEPT"}') },
      ]),
      [{ topic: ORDERS, partition: 3, offset: 2 }, { topic: JOIN, partition: 3, offset: 1 }],
    );
    await task.restore(
      encodeRestoreBatch([
        { topic: ORDERS, key: Buffer.from('11'), value: null },
        { topic: ORDERS, key: Buffer.from('12'), value: Buffer.from('{"orderId":12,"status":"CONFIRMED"}') },
      ]),
      [{ topic: ORDERS, partition: 3, offset: 4 }],
    );
    await task.markRestored();
    expect(task.state).toBe('RUNNING');
    expect(await task.get('11')).toBeUndefined();
    expect(Buffer.from((await task.get('12'))!).toString()).toBe('{"orderId":12,"status":"CONFIRMED"}');
    expect((await task.range(0, 10)).map((v) => Buffer.from(v).toString())).toEqual(['{"orderId":12,"status":"CONFIRMED"}']);
    const checkpoint = await readCheckpoint(task.dir);
    expect(Object.fromEntries(checkpoint)).toEqual({ [`${ORDERS}:3`]: 4, [`${JOIN}:3`]: 1 });
    await task.close(false);

    // Reopened: restore goes on from the checkpoint.
    const again = await Task.open(config(), undefined);
    expect(again.restoreFrom.map((p) => p.offset)).toEqual([4, 1]);
    await again.task.close(false);
  });

  it('refuses records once the task runs', async () => {
    const { task } = await Task.open(config(), undefined);
    await task.markRestored();
    await expect(task.restore(encodeRestoreBatch([]), [])).rejects.toMatchObject({ code: 'ORD_ERR_ILLEGAL_STATE' });
    await task.close(false);
  });
});
