import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nameThread } from '../../src/native/thread-name.js';

// The OS name of a worker thread, read back from /proc by the thread itself.
const onLinux = process.platform === 'linux';

describe('nameThread', () => {
  it.runIf(onLinux)('names the calling worker thread, keeping 15 bytes, and leaves the process name alone', async () => {
    const addon = new URL('../../src/native/thread-name.ts', import.meta.url).href;
    // The worker loads the built module: vitest's transform does not reach into a Worker.
    const built = addon.replace('/src/native/thread-name.ts', '/dist/src/native/thread-name.js');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      import(${JSON.stringify(built)}).then(({ nameThread }) => {
        const ok = nameThread('stream-12345678901234');
        parentPort.postMessage({ ok, comm: readFileSync('/proc/thread-self/comm', 'utf8').trim() });
      });`;
    const worker = new Worker(code, { eval: true });
    const reply = await new Promise<{ ok: boolean; comm: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(reply).toEqual({ ok: true, comm: 'stream-12345678' });
    expect(readFileSync('/proc/self/comm', 'utf8').trim()).not.toBe('stream-12345678');
  });

  it('refuses an empty name', () => {
    expect(() => nameThread('')).toThrow(RangeError);
  });
});
