import { describe, expect, it } from 'vitest';
import { NativeCalls } from '../../src/kafka/native-calls.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('NativeCalls', () => {
  it('is idle at once for a client with no call running', async () => {
    const calls = new NativeCalls<object>();
    expect(calls.running({})).toBe(0);
    expect(await calls.idle({})).toBe(true);
  });

  it('counts calls per client until each settles, fulfilled or rejected, and wakes the waiters after the last', async () => {
    const calls = new NativeCalls<object>();
    const a = {};
    const b = {};
    const first = deferred();
    const second = deferred();
    const other = deferred();
    expect(calls.track(a, first.promise)).toBe(first.promise);
    void calls.track(a, second.promise).catch(() => undefined);
    void calls.track(b, other.promise);
    expect(calls.running(a)).toBe(2);
    expect(calls.running(b)).toBe(1);

    let idle = false;
    const waiting = calls.idle(a).then((v) => (idle = v));
    first.resolve();
    await first.promise;
    await Promise.resolve();
    expect(calls.running(a)).toBe(1);
    expect(idle).toBe(false);

    second.reject(new Error('failed in librdkafka'));
    await waiting;
    expect(idle).toBe(true);
    expect(calls.running(a)).toBe(0);
    expect(calls.running(b)).toBe(1);
  });

  it('gives up waiting after the timeout, with the call still counted', async () => {
    const calls = new NativeCalls<object>();
    const client = {};
    const stuck = deferred();
    void calls.track(client, stuck.promise);
    expect(await calls.idle(client, 20)).toBe(false);
    expect(calls.running(client)).toBe(1);
    // A later waiter is still woken when the call returns.
    const later = calls.idle(client, 5000);
    stuck.resolve();
    expect(await later).toBe(true);
  });
});
