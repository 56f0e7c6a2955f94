// The Postgres check of readiness: bounded in time (a hung Postgres must not hang the
// probe) and one check at a time (probes during a hung check share it, they do not
// pile up queries and connections).
import { describe, expect, it } from 'vitest';
import { DbHealth } from '../../src/http/db-health.js';

/** A probe the test settles by hand. */
function manualProbe(): { probe: () => Promise<unknown>; calls: number; settle: (err?: Error) => void } {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const p = {
    calls: 0,
    probe: () =>
      new Promise<unknown>((resolve, reject) => {
        p.calls++;
        pending.push({ resolve: () => resolve(undefined), reject });
      }),
    settle: (err?: Error) => {
      for (const x of pending.splice(0)) {
        if (err === undefined) x.resolve();
        else x.reject(err);
      }
    },
  };
  return p;
}

describe('DbHealth', () => {
  it('is UP with the response time when the query answers', async () => {
    const h = new DbHealth(async () => undefined, { timeoutMs: 1000 });
    const r = await h.check();
    expect(r.status).toBe('UP');
    expect(r.details).toMatchObject({ database: 'PostgreSQL', validationQuery: 'select 1' });
    expect(typeof r.details?.responseMs).toBe('number');
  });

  it('is DOWN with the error when the query fails', async () => {
    const h = new DbHealth(async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')), { timeoutMs: 1000 });
    expect(await h.check()).toMatchObject({ status: 'DOWN', details: { error: 'connect ECONNREFUSED 127.0.0.1:5432' } });
  });

  it('a hung query: each caller is told DOWN within the timeout, and they share one query', async () => {
    const p = manualProbe();
    const h = new DbHealth(p.probe, { timeoutMs: 50 });
    const started = Date.now();
    const results = await Promise.all([h.check(), h.check(), h.check()]);
    expect(Date.now() - started).toBeLessThan(1000);
    for (const r of results) expect(r).toMatchObject({ status: 'DOWN', details: { error: 'no answer within 50 ms' } });
    // Still hung: a later probe waits on the same query rather than starting another.
    expect((await h.check()).status).toBe('DOWN');
    expect(p.calls).toBe(1);
    // Once it settles, the next probe starts a fresh query.
    p.settle();
    await new Promise((r) => setImmediate(r));
    const next = h.check();
    p.settle();
    expect((await next).status).toBe('UP');
    expect(p.calls).toBe(2);
  });
});
