// Runs the real service (node dist/src/main.js, built by `npm test`) as a child
// process, so tests talk to it over HTTP and can SIGKILL it like a crashed pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { KAFKA_BOOTSTRAP_SERVERS, TEST_DATABASE_URL } from './env.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Service {
  readonly baseUrl: string;
  readonly port: number;
  readonly process: ChildProcess;
  readonly output: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startService(env: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      KAFKA_BOOTSTRAP_SERVERS,
      DATABASE_URL: TEST_DATABASE_URL,
      LOG_LEVEL: 'info',
      OUTBOX_POLL_MS: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor('the service to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}):\n${output}`);
      const res = await fetch(`${baseUrl}/actuator/health/readiness`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    baseUrl,
    port,
    process: child,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
