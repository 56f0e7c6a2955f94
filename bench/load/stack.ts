// The system under test: either a running service (--url), or the service and the
// simulators started from a built checkout (--service-dir, default this one), which
// is restarted with another COMMIT_MODE when a run asks for it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, serviceEntry, startService, startSimulators, untilCaughtUp, type Child } from '../children.js';
import type { CommitMode, LoadOptions } from './options.js';

export interface Target {
  readonly url: string;
  /** Node flags the service was started with (from its checkout's start script's helper). */
  readonly nodeArgs: readonly string[];
  /** The service's pid when started here (RSS from /proc). */
  readonly pid: number | undefined;
  /** Whether the build reads COMMIT_MODE; undefined for --url. */
  readonly commitModeKnown: boolean | undefined;
  /** Restarts the service with that mode if it runs with another (a no-op for --url). */
  useMode(mode: CommitMode): Promise<void>;
  /** Stops the service until the next useMode (the restore scenario starts a service of its own). */
  suspend(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the built service in `dir` has a COMMIT_MODE setting (commits before it had none). */
export function knowsCommitMode(dir: string): boolean {
  const config = join(dir, 'dist', 'src', 'config.js');
  return existsSync(config) && readFileSync(config, 'utf8').includes("'COMMIT_MODE'");
}

/**
 * The flags `npm start` (scripts/start.sh) gives node in that checkout: the kafka
 * thread's heap sized from the memory budget, printed by dist/src/memory/node-args.js
 * from the service's environment. None for a checkout without it, or when NODE_OPTIONS
 * sets the heap (the script defers to it too).
 */
export function startFlags(dir: string, env: Record<string, string>): string[] {
  const helper = join(dir, 'dist', 'src', 'memory', 'node-args.js');
  if (!existsSync(helper) || (process.env.NODE_OPTIONS ?? '').includes('--max-old-space-size')) return [];
  const out = execFileSync(process.execPath, [helper], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' });
  return out.split(/\s+/).filter((a) => a !== '');
}

export async function startTarget(options: LoadOptions, log: (text: string) => void): Promise<Target> {
  const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
  const dir = options.serviceDir;
  let simulators: Child | undefined;
  if (options.simulators) {
    if (!existsSync(join(dir, 'dist', 'src', 'sim', 'main.js'))) throw new Error(`no built simulators in ${dir} (npm run build there)`);
    log(`starting the simulators from ${dir}`);
    // New groups each run start at the end of `orders`: they answer this run's orders,
    // not the backlog other runs (intake) left since the last one (bench/saga.load.ts).
    simulators = await startSimulators({ KAFKA_BOOTSTRAP_SERVERS: brokers, SIM_APPLICATION_ID: `bench-${Date.now()}`, SIM_PAYMENT_REJECT_RATE: '0.1', SIM_INVENTORY_REJECT_RATE: '0.1' }, dir);
  }
  if (options.url !== undefined) {
    const url = options.url;
    return { url, nodeArgs: [], pid: undefined, commitModeKnown: undefined, useMode: async () => undefined, suspend: async () => undefined, stop: async () => simulators?.stop() };
  }
  if (!existsSync(join(dir, serviceEntry(dir)))) throw new Error(`no built service in ${dir} (npm run build there)`);
  const port = await freePort();
  const knows = knowsCommitMode(dir);
  let service: Child | undefined;
  let mode: CommitMode | undefined;
  let nodeArgs: string[] = [];
  const start = async (next: CommitMode): Promise<void> => {
    await service?.stop();
    const env: Record<string, string> = { APPLICATION_ID: options.applicationId, INSTANCE_ID: 'bench-0', KAFKA_BOOTSTRAP_SERVERS: brokers };
    if (next !== 'default') env.COMMIT_MODE = next;
    nodeArgs = startFlags(dir, env);
    log(`starting the service from ${dir} on port ${port}: node ${[...nodeArgs, serviceEntry(dir)].join(' ')}${next === 'default' ? '' : ` with COMMIT_MODE=${next}`}`);
    service = await startService(port, env, dir, nodeArgs);
    await untilCaughtUp(`http://127.0.0.1:${port}`, log).catch(async (err: unknown) => {
      await service?.stop();
      await simulators?.stop();
      throw err;
    });
    mode = next;
  };
  await start('default');
  return {
    url: `http://127.0.0.1:${port}`,
    get nodeArgs() {
      return nodeArgs;
    },
    get pid() {
      return service?.process.pid;
    },
    commitModeKnown: knows,
    useMode: async (next) => {
      if (next !== mode) await start(next);
    },
    suspend: async () => {
      await service?.stop();
      mode = undefined;
    },
    stop: async () => {
      await service?.stop();
      await simulators?.stop();
    },
  };
}
