// Runs the real service (node dist/src/main.cjs, built by `npm test`) as a child
// process, so tests talk to it over HTTP and can SIGKILL it like a crashed pod.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceEntry } from '../../bench/children.js';
import { startChild, type Child } from './child.js';
import { KAFKA_BOOTSTRAP_SERVERS, TEST_DATABASE_URL } from './env.js';

export { serviceEntry };

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface Service extends Child {
  readonly baseUrl: string;
  readonly port: number;
}

export interface ServiceOptions {
  /** Listen here instead of a free port: a restarted pod keeps its address. */
  readonly port?: number;
  /** The checkout whose service entry (dist/src/main.cjs) runs (default: this one), to measure other code with the same test. */
  readonly dir?: string;
  /** How long the service may take to be ready (default 30 s). */
  readonly readyTimeoutMs?: number;
  /** Return once it is ready (readiness 200, the default), or once it is live (liveness 200: to watch it become ready). */
  readonly until?: 'ready' | 'live';
}

/** Starts the service on a free port; ready when its readiness (db, kafka, streams) answers 200 (or its liveness, `until: 'live'`). */
export async function startService(env: Record<string, string> = {}, options: ServiceOptions = {}): Promise<Service> {
  const port = options.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = await startChild(
    'the service to be ready',
    join(options.dir ?? process.cwd(), serviceEntry(options.dir)),
    {
      ...process.env,
      HOST: '127.0.0.1',
      KAFKA_BOOTSTRAP_SERVERS,
      DATABASE_URL: TEST_DATABASE_URL,
      LOG_LEVEL: 'info',
      OUTBOX_POLL_MS: '200',
      // One state directory per test process and instance, kept across a test's
      // restarts (a restart with the same INSTANCE_ID finds its stores) and never
      // shared with other runs or instances (as pods each have their own volume).
      STATE_DIR: join(tmpdir(), `order-engine-test-${process.pid}`, env.INSTANCE_ID ?? 'default'),
      ...env,
      PORT: String(port),
    },
    async () => (await fetch(`${baseUrl}/actuator/health/${options.until === 'live' ? 'liveness' : 'readiness'}`).catch(() => undefined))?.status === 200,
    { cwd: options.dir, readyTimeoutMs: options.readyTimeoutMs },
  );
  return { ...child, baseUrl, port };
}
