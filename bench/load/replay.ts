// The replay scenario: bench/replay.load.ts of the measured checkout (a new application
// id catching up on the last N records of `orders`) run as a child; its last stdout
// line is `RESULT {json}`. Skipped, with the reason, where that script is not built.
import { benchScript, isSampleList, parseResultLine, runBenchScript } from './bench-script.js';
import type { Progress } from './progress.js';

export interface ReplayResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly progress: readonly { readonly t: number; readonly replayed: number; readonly rssMiB: number }[];
}

const SCRIPT = 'replay.load.js';

/** The RESULT line (the last non-empty line of stdout), checked field by field. */
export function parseReplayResult(stdout: string): ReplayResult {
  const value = parseResultLine(stdout, SCRIPT, ['records', 'seconds', 'recordsPerSecond', 'rssMiB', 'peakRssMiB']);
  if (!isSampleList(value.progress, ['t', 'replayed'])) throw new Error("RESULT: 'progress' is not a list of {t, replayed, rssMiB}");
  return value as unknown as ReplayResult;
}

export const replayScript = (dir: string): string => benchScript(dir, SCRIPT);

/** undefined when the checkout has no replay.load.js (the scenario is then skipped). */
export async function runReplay(dir: string, records: number, progress: Progress, label: string): Promise<ReplayResult | undefined> {
  const stdout = await runBenchScript(dir, SCRIPT, ['--records', String(records)], progress, label);
  return stdout === undefined ? undefined : parseReplayResult(stdout);
}
