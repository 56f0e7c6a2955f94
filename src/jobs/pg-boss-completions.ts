// pg-boss 10 finishes a worker's job with `this.complete(...)` or `this.fail(...)` and
// does not await either (src/manager.js, work() → onFetch; 12.x awaits them). When the
// database goes away during a run, that write is rejected with nobody to handle it, and
// Node ends the process on an unhandled rejection: a Postgres crash while the stuck-order
// job ran stopped the whole service (seen in the Postgres-outage integration test).
//
// This gives both calls a handler, once, before any PgBoss is made, which writes the
// outcome again every few seconds until the database takes it. Lost, the job would stay
// active until pg-boss expires it (15 min here), and its queue's singleton policy would
// hold every later run back until then. Callers that await complete()/fail() still get
// the rejection.
import { createRequire } from 'node:module';

type Completion = (this: unknown, ...args: unknown[]) => Promise<unknown>;

interface ManagerPrototype {
  complete: Completion;
  fail: Completion;
}

export type LostCompletion = (method: 'complete' | 'fail', err: unknown, attempt: number) => void;

/** Between two writes of one outcome. */
const RETRY_MS = 2000;
/** After this many, the outcome is left to pg-boss' expiry (a database away for good). */
const MAX_ATTEMPTS = 150;

let onLost: LostCompletion = () => undefined;
let installed = false;

/** Installs the handler (once per process); `lost` hears of each completion the database refused. */
export function handlePgBossCompletions(lost: LostCompletion): void {
  onLost = lost;
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const prototype = (require('pg-boss/src/manager.js') as { prototype: ManagerPrototype }).prototype;
  for (const method of ['complete', 'fail'] as const) {
    const original = prototype[method];
    prototype[method] = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const write = (attempt: number): Promise<unknown> => {
        const written = original.apply(this, args);
        written.catch((err: unknown) => {
          onLost(method, err, attempt);
          if (attempt < MAX_ATTEMPTS) setTimeout(() => void write(attempt + 1), RETRY_MS).unref();
        });
        return written;
      };
      return write(1);
    };
  }
}
