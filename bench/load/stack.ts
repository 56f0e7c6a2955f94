// The system under test: either a running service (--url), or the service and the
// simulators started from a built checkout (--service-dir, default this one), which
// is restarted with another COMMIT_MODE when a run asks for it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startService, startSimulators, type Child } from '../children.js';
import type { CommitMode, LoadOptions } from './options.js';

export interface Target {
  readonly url: string;
  /** The service's pid when started here (RSS from /proc). */
  readonly pid: number | undefined;
  /** Whether the build reads COMMIT_MODE; undefined for --url. */
  readonly commitModeKnown: boolean | undefined;
  /** Restarts the service with that mode if it runs with another (a no-op for --url). */
  useMode(mode: CommitMode): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the built service in `dir` has a COMMIT_MODE setting (commits before it had none). */
export function knowsCommitMode(dir: string): boolean {
  const config = join(dir, 'dist', 'src', 'config.js');
  return existsSync(config) && readFileSync(config, 'utf8').includes("'COMMIT_MODE'");
}

export async function startTarget(options: LoadOptions, log: (text: string) => void): Promise<Target> {
  const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
  const dir = options.serviceDir;
  let simulators: Child | undefined;
  if (options.simulators) {
    if (!existsSync(join(dir, 'dist', 'src', 'sim', 'main.js'))) throw new Error(`no built simulators in ${dir} (npm run build there)`);
    log(`starting the simulators from ${dir}`);
    simulators = await startSimulators({ KAFKA_BOOTSTRAP_SERVERS: brokers, SIM_APPLICATION_ID: 'bench', SIM_PAYMENT_REJECT_RATE: '0.1', SIM_INVENTORY_REJECT_RATE: '0.1' }, dir);
  }
  if (options.url !== undefined) {
    const url = options.url;
    return { url, pid: undefined, commitModeKnown: undefined, useMode: async () => undefined, stop: async () => simulators?.stop() };
  }
  if (!existsSync(join(dir, 'dist', 'src', 'main.js'))) throw new Error(`no built service in ${dir} (npm run build there)`);
  const port = await freePort();
  const knows = knowsCommitMode(dir);
  let service: Child | undefined;
  let mode: CommitMode | undefined;
  const start = async (next: CommitMode): Promise<void> => {
    await service?.stop();
    log(`starting the service from ${dir} on port ${port}${next === 'default' ? '' : ` with COMMIT_MODE=${next}`}`);
    const env: Record<string, string> = { APPLICATION_ID: options.applicationId, INSTANCE_ID: 'bench-0', KAFKA_BOOTSTRAP_SERVERS: brokers };
    if (next !== 'default') env.COMMIT_MODE = next;
    service = await startService(port, env, dir);
    mode = next;
  };
  await start('default');
  return {
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return service?.process.pid;
    },
    commitModeKnown: knows,
    useMode: async (next) => {
      if (next !== mode) await start(next);
    },
    stop: async () => {
      await service?.stop();
      await simulators?.stop();
    },
  };
}
