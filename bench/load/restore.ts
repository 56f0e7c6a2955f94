// The restore scenario: bench/restore.load.ts of the measured checkout (it restores an
// N-record orders-store changelog into an empty state dir) run as a child; its last
// stdout line is `RESULT {json}`. Skipped, with the reason, where that script is not built.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from './progress.js';

export interface RestoreResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly rssMiB: number;
  readonly progress: readonly { readonly t: number; readonly restored: number }[];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The RESULT line (the last non-empty line of stdout), checked field by field. */
export function parseRestoreResult(stdout: string): RestoreResult {
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  if (!last.startsWith('RESULT ')) throw new Error(`restore.load.js did not end with a RESULT line (last line: '${last.slice(0, 200)}')`);
  const value = JSON.parse(last.slice('RESULT '.length)) as Record<string, unknown>;
  for (const key of ['records', 'seconds', 'recordsPerSecond', 'rssMiB'] as const) {
    if (!isNumber(value[key])) throw new Error(`RESULT: '${key}' is not a number`);
  }
  const progress = value.progress;
  if (!Array.isArray(progress) || !progress.every((p: unknown) => typeof p === 'object' && p !== null && isNumber((p as { t?: unknown }).t) && isNumber((p as { restored?: unknown }).restored))) {
    throw new Error("RESULT: 'progress' is not a list of {t, restored}");
  }
  return value as unknown as RestoreResult;
}

export const restoreScript = (dir: string): string => join(dir, 'dist', 'bench', 'restore.load.js');

/** undefined when the checkout has no restore.load.js (the scenario is then skipped). */
export async function runRestore(dir: string, records: number, progress: Progress, label: string): Promise<RestoreResult | undefined> {
  if (!existsSync(restoreScript(dir))) return undefined;
  const child = spawn(process.execPath, ['dist/bench/restore.load.js', '--records', String(records)], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const started = performance.now();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    stdout += d;
    const line = stdout.trimEnd().split('\n').at(-1) ?? '';
    progress.show({ label, elapsedS: (performance.now() - started) / 1000, totalS: NaN, rate: 0, p99SoFarMs: NaN, errors: 0, note: line.slice(0, 100) });
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  progress.end();
  if (code !== 0) throw new Error(`restore.load.js exited with ${code}`);
  return parseRestoreResult(stdout);
}
