// What every benchmark prints first and saves with its figures: the machine it ran on.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

export function printMachine(name: string, params: Record<string, unknown>): Machine {
  const m = machine();
  console.log(`# ${name}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`params:  ${JSON.stringify(params)}`);
  return m;
}

export interface BenchRow {
  readonly task: string;
  readonly 'ops/s': number;
  readonly 'mean ns': number;
  readonly 'p99 ns': number;
}

/** One row per tinybench task: throughput and latency in the units the tables print. */
export function tinybenchRows(bench: { tasks: readonly { name: string; result?: unknown }[] }): BenchRow[] {
  return bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; latency?: { mean: number; p99?: number } } | undefined;
    return {
      task: t.name,
      'ops/s': Math.round(r?.throughput?.mean ?? 0),
      'mean ns': Math.round((r?.latency?.mean ?? 0) * 1e6),
      'p99 ns': Math.round((r?.latency?.p99 ?? 0) * 1e6),
    };
  });
}

/** Writes bench/results/<name>-<timestamp>.json (git-ignored) for later comparison. */
export function saveResults(name: string, data: unknown): string {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}-${new Date().toISOString().replaceAll(':', '-')}.json`, dir);
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file.pathname;
}
