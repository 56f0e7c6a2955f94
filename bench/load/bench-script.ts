// Scenarios that run a bench script of the measured checkout as a child (restore.ts,
// replay.ts): its service is its own, its progress lines feed the progress line, and
// its last stdout line is `RESULT {json}`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from './progress.js';

export const benchScript = (dir: string, name: string): string => join(dir, 'dist', 'bench', name);

/** The script's stdout; undefined when the checkout has no such script (the scenario is then skipped). */
export async function runBenchScript(dir: string, name: string, args: readonly string[], progress: Progress, label: string): Promise<string | undefined> {
  if (!existsSync(benchScript(dir, name))) return undefined;
  const child = spawn(process.execPath, [join('dist', 'bench', name), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
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
  if (code !== 0) throw new Error(`${name} exited with ${code}`);
  return stdout;
}

/** The RESULT line's object (the last non-empty line of stdout), its `numbers` checked. */
export function parseResultLine(stdout: string, name: string, numbers: readonly string[]): Record<string, unknown> {
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  if (!last.startsWith('RESULT ')) throw new Error(`${name} did not end with a RESULT line (last line: '${last.slice(0, 200)}')`);
  const value = JSON.parse(last.slice('RESULT '.length)) as Record<string, unknown>;
  for (const key of numbers) {
    if (!isNumber(value[key])) throw new Error(`RESULT: '${key}' is not a number`);
  }
  return value;
}

export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Whether `value` is a list of objects whose `keys` are numbers. */
export const isSampleList = (value: unknown, keys: readonly string[]): boolean =>
  Array.isArray(value) && value.every((p: unknown) => typeof p === 'object' && p !== null && keys.every((k) => isNumber((p as Record<string, unknown>)[k])));
