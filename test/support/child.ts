// Runs one of the project's node entry points (built by `npm test`) as a child
// process: its output is kept for a failing test to print, and it can be stopped with
// any signal, SIGKILL included, like a crashed pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from './wait.js';

export interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Sends `signal` (if still running) and resolves with the exit code, null when killed by a signal. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ChildOptions {
  /** The working directory, and where a relative `script` is found (default: this process's). */
  readonly cwd?: string;
  /** How long `ready` may take (default 30 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts `node <script>` with `env` and waits until `ready` says so (or the child exits). */
export async function startChild(
  what: string,
  script: string,
  env: NodeJS.ProcessEnv,
  ready: (output: string) => Promise<boolean> | boolean,
  options: ChildOptions = {},
): Promise<Child> {
  let output = '';
  const child = spawn(process.execPath, [script], { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  try {
    await waitFor(what, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}):\n${output}`);
      return (await ready(output)) ? true : undefined;
    }, options.readyTimeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    // What it printed until then, for a caller that keeps logs of a failed start.
    if (err instanceof Error) Object.assign(err, { childOutput: output });
    throw err;
  }
  return {
    process: child,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
