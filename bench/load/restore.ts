// The restore scenario: bench/restore.load.ts of the measured checkout (it restores an
// N-record orders-store changelog into an empty state dir) run as a child; its last
// stdout line is `RESULT {json}`. Skipped, with the reason, where that script is not built.
import { benchScript, isSampleList, parseResultLine, runBenchScript } from './bench-script.js';
import type { Progress } from './progress.js';

export interface RestoreResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly rssMiB: number;
  readonly progress: readonly { readonly t: number; readonly restored: number }[];
}

const SCRIPT = 'restore.load.js';

/** The RESULT line (the last non-empty line of stdout), checked field by field. */
export function parseRestoreResult(stdout: string): RestoreResult {
  const value = parseResultLine(stdout, SCRIPT, ['records', 'seconds', 'recordsPerSecond', 'rssMiB']);
  if (!isSampleList(value.progress, ['t', 'restored'])) throw new Error("RESULT: 'progress' is not a list of {t, restored}");
  return value as unknown as RestoreResult;
}

export const restoreScript = (dir: string): string => benchScript(dir, SCRIPT);

/** undefined when the checkout has no restore.load.js (the scenario is then skipped). */
export async function runRestore(dir: string, records: number, progress: Progress, label: string): Promise<RestoreResult | undefined> {
  const stdout = await runBenchScript(dir, SCRIPT, ['--records', String(records)], progress, label);
  return stdout === undefined ? undefined : parseRestoreResult(stdout);
}
