// Runs the payment and inventory simulators (node dist/src/sim/main.js, built by
// `npm run build`) as a child process, the way test/support/service.ts runs the
// service. Each start gets its own consumer groups (SIM_APPLICATION_ID) unless the
// caller passes one, so runs never share offsets.
import { join } from 'node:path';
import { startChild, type Child } from './child.js';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';

export interface Simulators extends Child {
  readonly applicationId: string;
}

export interface SimulatorsOptions {
  /** The checkout whose dist/src/sim/main.js runs (default: this one). */
  readonly dir?: string;
}

let started = 0;

/** Starts the simulators and waits until both consumers own their partitions. */
export async function startSimulators(env: Record<string, string> = {}, options: SimulatorsOptions = {}): Promise<Simulators> {
  const applicationId = env.SIM_APPLICATION_ID ?? `simtest-${process.pid}-${Date.now()}-${started++}`;
  const child = await startChild(
    'the simulators to own their partitions',
    join(options.dir ?? process.cwd(), 'dist/src/sim/main.js'),
    { ...process.env, KAFKA_BOOTSTRAP_SERVERS, LOG_LEVEL: 'info', SIM_REPORT_INTERVAL_MS: '1000', ...env, SIM_APPLICATION_ID: applicationId },
    (output) => output.includes('"msg":"simulators ready"'),
    { cwd: options.dir },
  );
  return { ...child, applicationId };
}
