// Starts the service and the simulators as child processes for the load benchmarks,
// each waited for by its own readiness signal, and stops them afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';

export interface Child {
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

async function until(what: string, probe: () => Promise<boolean> | boolean, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
}

/** A TCP port free on 127.0.0.1 now (for a child to listen on). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Node options for the service only, e.g. BENCH_SERVICE_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS) to profile it under load;
 * `node dist/bench/profile-summary.js /tmp/prof` then prints where the time went.
 */
const serviceNodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');

/**
 * The service's entry in a built checkout, relative to it: `dist/src/main.cjs`, which
 * sizes libuv's threadpool before starting the service; builds older than it have
 * only `dist/src/main.js`, so older commits can still be measured with this driver.
 */
export function serviceEntry(dir = '.'): string {
  return existsSync(join(dir, 'dist/src/main.cjs')) ? 'dist/src/main.cjs' : 'dist/src/main.js';
}

/**
 * The service on `port`, spawned and not waited for (a bench that watches its start
 * itself). `dir` is the built checkout it runs from (bench:load measures older commits
 * with the same driver), `nodeArgs` flags its own start script would give node.
 */
export function spawnService(port: number, env: Record<string, string>, dir = '.', nodeArgs: readonly string[] = []): Child {
  const child = spawn(process.execPath, [...serviceNodeArgs, ...nodeArgs, serviceEntry(dir)], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { process: child, stop: stopper(child) };
}

/** The service on `port` (see spawnService); ready when its readiness (db, kafka, streams) is UP. */
export async function startService(port: number, env: Record<string, string>, dir = '.', nodeArgs: readonly string[] = []): Promise<Child> {
  const service = spawnService(port, env, dir, nodeArgs);
  const url = `http://127.0.0.1:${port}/actuator/health/readiness`;
  // Not ready: stopped before the error goes up, or it would stay behind in the bench's
  // consumer groups and skew the next run.
  await until('service', () => fetch(url).then((r) => r.ok, () => false), service.process, 120_000).catch(async (err: unknown) => {
    await service.stop();
    throw err;
  });
  return service;
}

/** The payment and inventory simulators (of the checkout in `dir`); ready when they own their partitions. */
export async function startSimulators(env: Record<string, string>, dir = '.'): Promise<Child> {
  const child = spawn(process.execPath, ['dist/src/sim/main.js'], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let ready = false;
  child.stdout.on('data', (d: Buffer) => {
    if (!ready && d.toString().includes('"msg":"simulators ready"')) ready = true;
  });
  const stop = stopper(child);
  await until('simulators', () => ready, child, 60_000).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { process: child, stop };
}

/** The resident memory of a process now and at its peak (Linux /proc), in MiB. */
export function memoryOf(pid: number | undefined): { rssMiB: number; peakRssMiB: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: Math.round(kib('VmRSS') / 1024), peakRssMiB: Math.round(kib('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/**
 * A /proc `stat` file's command name and CPU time (user + system) so far, in ms (100
 * ticks/s). The name is in parentheses and may hold spaces: fields count from the last ')'.
 */
export function readProcStat(path: string): { comm: string; cpuMs: number } {
  const stat = readFileSync(path, 'utf8');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
}

/**
 * CPU time (user + system) a process has used so far, in ms (Linux /proc).
 * With `thread`, that thread's only: the service's main thread (thread = pid) is its
 * kafka thread.
 */
export function cpuMsOf(pid: number | undefined, thread?: number): number {
  if (pid === undefined) return NaN;
  try {
    return readProcStat(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`).cpuMs;
  } catch {
    return NaN;
  }
}

/** The service's threads by role, from their OS names (src/native/thread-name.ts). */
export const THREAD_GROUPS = ['kafka', 'http', 'stream', 'librdkafka', 'rocksdb', 'other'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number];

function threadGroup(pid: number, tid: number, comm: string): ThreadGroup {
  if (tid === pid) return 'kafka';
  if (comm === 'http') return 'http';
  if (comm.startsWith('stream-')) return 'stream';
  if (comm.startsWith('rdk:')) return 'librdkafka';
  if (comm.startsWith('rocksdb:')) return 'rocksdb';
  // V8's GC and compiler threads and libuv's pool: unnamed, as the process.
  return 'other';
}

/**
 * CPU time so far of each group of the service's threads, in ms: the kafka thread (the
 * main one), the HTTP thread, the stream threads, librdkafka's, RocksDB's, and the
 * rest. A thread that has exited is missing.
 */
export function threadCpuMs(pid: number | undefined): Record<ThreadGroup, number> {
  const out = Object.fromEntries(THREAD_GROUPS.map((g) => [g, 0])) as Record<ThreadGroup, number>;
  if (pid === undefined) return out;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const { comm, cpuMs } = readProcStat(`/proc/${pid}/task/${tid}/stat`);
      out[threadGroup(pid, Number(tid), comm)] += cpuMs;
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `after - before` per 1,000 units, as 'kafka 120 / http 95 / …'. */
export function threadCpuPerThousand(before: Record<ThreadGroup, number>, after: Record<ThreadGroup, number>, units: number): string {
  return THREAD_GROUPS.map((g) => `${g} ${Math.round(((after[g] - before[g]) / units) * 1000)}`).join(' / ');
}

/**
 * CPU time used so far by every process named `comm` (e.g. 'postgres': the server and
 * all its backends, other clients' included), in ms.
 */
export function cpuMsOfAll(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readProcStat(`/proc/${entry}/stat`);
      if (stat.comm === comm) total += stat.cpuMs;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU time so far, in ms, of what shares the machine with the service in a benchmark. */
export interface StackCpu {
  readonly service: number;
  readonly simulators: number;
  /** This benchmark process: load generator, watchers and consumers. */
  readonly loadGenerator: number;
  /** Every process named postgres (other clients' backends included; a backend gone before the end is missing). */
  readonly postgres: number;
  /** Every java process: the local broker, and any other running here. */
  readonly java: number;
}

export function stackCpuMs(servicePid: number | undefined, simulatorsPid: number | undefined): StackCpu {
  const self = process.cpuUsage();
  return {
    service: cpuMsOf(servicePid),
    simulators: cpuMsOf(simulatorsPid),
    loadGenerator: (self.user + self.system) / 1000,
    postgres: cpuMsOfAll('postgres'),
    java: cpuMsOfAll('java'),
  };
}

/**
 * `after - before` per 1,000 units of work, as 'service / simulators / load generator /
 * postgres / java'; '-' for a part that was not running (no simulators, say).
 */
export function stackCpuPerThousand(before: StackCpu, after: StackCpu, units: number): string {
  const keys = ['service', 'simulators', 'loadGenerator', 'postgres', 'java'] as const;
  return keys
    .map((k) => {
      const ms = after[k] - before[k];
      return Number.isNaN(ms) ? '-' : String(Math.round((ms / units) * 1000));
    })
    .join(' / ');
}

/**
 * The `kafka_consumer_records_lag` series of a metrics page, one figure per assigned
 * input partition whose lag is known; undefined when the page has no such metric at all.
 */
export function consumerLags(metricsText: string): number[] | undefined {
  if (!/^# TYPE kafka_consumer_records_lag /m.test(metricsText)) return undefined;
  return [...metricsText.matchAll(/^kafka_consumer_records_lag\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
}

/**
 * Waits until the service has read its inputs to their ends, printing progress: a
 * service whose group is behind (a stable application id, and other runs, intake's
 * say, wrote to `orders` since) would otherwise spend the measured load catching up,
 * and the figures would be of that. Reads `kafka_consumer_records_lag` from the
 * metrics endpoint: caught up when every assigned input partition has a known lag and
 * none is more than one record behind (a transaction's commit marker takes an offset
 * no record is handed out for). Returns the records it waited for at the start.
 */
export async function untilCaughtUp(baseUrl: string, log: (line: string) => void, timeoutMs = 15 * 60_000): Promise<number> {
  const started = Date.now();
  let first: number | undefined;
  let lastLog = 0;
  let caughtUpReads = 0;
  let readsWithoutMetric = 0;
  for (;;) {
    const text = await fetch(`${baseUrl}/actuator/prometheus`).then((r) => (r.ok ? r.text() : undefined), () => undefined);
    const read = text === undefined ? [] : consumerLags(text);
    const lags = read ?? [];
    // A build older than the metric (bench:load measures older commits) never reports
    // one: waiting would only end in the timeout.
    readsWithoutMetric = read === undefined ? readsWithoutMetric + 1 : 0;
    if (readsWithoutMetric >= 5) {
      log('the service reports no kafka_consumer_records_lag (a build before the metric): not waiting for it to catch up');
      return 0;
    }
    const total = lags.reduce((a, b) => a + b, 0);
    if (lags.length > 0) first ??= total;
    // Twice in a row, a second apart: partitions whose end is not known yet are left
    // out of the metric, and a second read lets more of them report.
    caughtUpReads = lags.length > 0 && lags.every((l) => l <= 1) ? caughtUpReads + 1 : 0;
    if (caughtUpReads >= 2) {
      if ((first ?? 0) > lags.length) log(`the service caught up on ${(first ?? 0).toLocaleString('en-US')} records of its inputs in ${((Date.now() - started) / 1000).toFixed(1)} s before the load`);
      return first ?? 0;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`the service is still ${total} records behind on its inputs after ${timeoutMs / 1000} s`);
    if (total > lags.length && Date.now() - lastLog >= 2000) {
      lastLog = Date.now();
      log(`  ... catching up before the load: ${total.toLocaleString('en-US')} records behind on its inputs`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
