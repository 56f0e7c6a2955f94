// Runs the payment and inventory simulators (node dist/src/sim/main.js, built by
// `npm run build`) as a child process, the way test/support/service.ts runs the
// service. Each start gets its own consumer groups (SIM_APPLICATION_ID) unless the
// caller passes one, so runs never share offsets.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';
import { waitFor } from './service.js';

export interface Simulators {
  readonly applicationId: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

let started = 0;

/** Starts the simulators and waits until both consumers own their partitions. */
export async function startSimulators(env: Record<string, string> = {}): Promise<Simulators> {
  const applicationId = env.SIM_APPLICATION_ID ?? `simtest-${process.pid}-${Date.now()}-${started++}`;
  let output = '';
  const child = spawn(process.execPath, ['dist/src/sim/main.js'], {
    env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS, LOG_LEVEL: 'info', SIM_REPORT_INTERVAL_MS: '1000', ...env, SIM_APPLICATION_ID: applicationId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  try {
    await waitFor('the simulators to own their partitions', () => {
      if (child.exitCode !== null) throw new Error(`simulators exited (${child.exitCode}):\n${output}`);
      return output.includes('"msg":"simulators ready"') ? true : undefined;
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    applicationId,
    process: child,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
