// The stream threads' piscina boundary, with the real stream-thread.js (built by
// `npm test`): errors keep their class across it, and a thread that dies is replaced
// on the same index with a working query port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import type { OpenResult, QueryResponse, TaskConfig } from '../../src/stream/protocol.js';
import { StreamThreads } from '../../src/engine/stream-threads.js';
import { waitFor } from '../support/wait.js';

const THREAD_FILE = new URL('../../dist/src/stream/stream-thread.js', import.meta.url).href;

let threads: StreamThreads;
let lost: { thread: number; err: Error }[];
let stateDir: string;

beforeEach(() => {
  lost = [];
  stateDir = mkdtempSync(join(tmpdir(), 'stream-threads-'));
  threads = new StreamThreads(2, undefined, { onThreadLost: (thread, err) => lost.push({ thread, err }) }, THREAD_FILE);
});

afterEach(async () => {
  await threads.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const task = (partition: number): TaskConfig => ({
  partition,
  applicationId: 'threads-test',
  stateDir,
  joinWindowMs: 10_000,
  joinMaxWaitMs: 60_000,
  numPartitions: 6,
  dlqPartitions: 6,
  repartitionInputs: false,
});

function ask(port: import('node:worker_threads').MessagePort, partition: number): Promise<QueryResponse> {
  return new Promise((resolve) => {
    port.once('message', resolve);
    port.postMessage({ id: 1, type: 'get', partition, key: '42' });
  });
}

describe('errors across the stream threads\' boundary', () => {
  // Regression: structured clone dropped code and recovery, so an illegal state in a
  // stream thread arrived as a plain Error, was taken for retriable, and the engine
  // reinitialized its tasks every second forever.
  it('an illegal task state in a thread arrives as ORD_ERR_ILLEGAL_STATE, recovery fatal', async () => {
    const err: unknown = await threads.run(3, { type: 'rollback', partition: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ORD_ERR_ILLEGAL_STATE', recovery: 'fatal' });
    expect((err as Error).message).toMatch(/task 0_3 is not open/);
  });

  it('a corrupt checkpoint arrives as ORD_ERR_STATE_CORRUPTED, recovery wipe; after a wipe the task opens from offset 0', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const dir = join(stateDir, 'threads-test', '0_2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.checkpoint'), 'not a checkpoint\n');
    const err: unknown = await threads.run(2, { type: 'open', task: task(2) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ORD_ERR_STATE_CORRUPTED', recovery: 'wipe' });
    await threads.run(2, { type: 'wipe', task: task(2) });
    const opened = await threads.run<OpenResult>(2, { type: 'open', task: task(2) });
    expect(opened.restoreFrom.map((p) => p.offset)).toEqual([0, 0]);
    await threads.run(2, { type: 'close', partition: 2, dirty: true });
  });
});

describe('several tasks\' requests in one message per thread (runEach)', () => {
  it('answers each request in the order asked, across threads', async () => {
    for (const partition of [0, 1, 2, 3]) await threads.run(partition, { type: 'open', task: task(partition) });
    expect(new Set([0, 1, 2, 3].map((p) => threads.ownerOf(p))).size).toBe(2);
    const prepared = await threads.runEach<{ changelog: unknown[] }>([3, 0, 2, 1].map((partition) => ({ type: 'prepareCommit', partition })));
    expect(prepared).toEqual([3, 0, 2, 1].map(() => ({ changelog: [] })));
    for (const partition of [0, 1, 2, 3]) await threads.run(partition, { type: 'close', partition, dirty: true });
  });

  it('rejects with the first failure in the order asked, its class kept; the others answer for themselves', async () => {
    for (const partition of [0, 1]) await threads.run(partition, { type: 'open', task: task(partition) });
    // 4 and 5 are not open: each fails on its own; 0 and 1, on the same threads, still run.
    const err: unknown = await threads
      .runEach([0, 5, 1, 4].map((partition) => ({ type: 'postCommit', partition, changelogEnd: [] })))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ORD_ERR_ILLEGAL_STATE', recovery: 'fatal' });
    expect((err as Error).message).toMatch(/task 0_5 is not open/);
    // The failures were 5's and 4's alone: 0 and 1, asked in the same messages, are open and answer.
    const stats = (await Promise.all([0, 1].map((t) => threads.runOnThread<{ partition: number }[]>(t, { type: 'stats' })))).flat();
    expect(stats.map((t) => t.partition).sort()).toEqual([0, 1]);
    for (const partition of [0, 1]) await threads.run(partition, { type: 'close', partition, dirty: true });
  });
});

describe('a stream thread that dies', () => {
  it('is replaced on the same index: reported lost, the other thread untouched, a new query port answers', async () => {
    const ports = await threads.queryPorts();
    const before = [threads.worker(0)!.threadId, threads.worker(1)!.threadId];
    expect(await ask(ports[0]!, 0)).toMatchObject({ ok: false, code: 'not-owned' });

    await threads.worker(0)!.terminate();
    await waitFor('the lost thread to be reported', () => (lost.length > 0 ? true : undefined));
    expect(lost.map((l) => l.thread)).toEqual([0]);

    // The replacement takes index 0: requests pinned to 0 run, and on a new worker.
    const stats = await threads.runOnThread<unknown[]>(0, { type: 'stats' });
    expect(stats).toEqual([]);
    expect(threads.worker(0)!.threadId).not.toBe(before[0]);
    expect(threads.worker(1)!.threadId).toBe(before[1]);

    const port = await threads.queryPort(0);
    expect(await ask(port, 0)).toMatchObject({ ok: false, code: 'not-owned' });
    port.close();
    for (const p of ports) p.close();
  });
});
