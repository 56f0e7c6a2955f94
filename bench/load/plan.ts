// Which runs one bench:load invocation makes, in order (pure: tested without a service).
// saga-rate runs once per commit mode and offered rate (the p95-vs-rate curve); the
// other scenarios once each, with the service's default commit mode.
import type { CommitMode, LoadOptions, ScenarioName } from './options.js';

export interface RunSpec {
  readonly scenario: ScenarioName;
  readonly label: string;
  readonly commitMode: CommitMode;
  /** Offered orders/s (saga-rate, soak). */
  readonly rate?: number;
  readonly durationS: number;
  /** A warm-up (--warmup): run, but left out of the report. */
  readonly warmup?: boolean;
}

/** The warm-up's offered rate: enough to exercise every path, far from saturation. */
export const WARMUP_RATE = 200;

/**
 * `commitModeKnown` false (a build without COMMIT_MODE) collapses the modes to the
 * build's one behaviour: restarting it with a variable it ignores would measure it twice.
 */
export function planRuns(o: LoadOptions, commitModeKnown: boolean | undefined): RunSpec[] {
  const modes: readonly CommitMode[] = commitModeKnown === false ? ['default'] : o.commitModes;
  const runs: RunSpec[] = [];
  if (o.warmupS > 0) runs.push({ scenario: 'saga-rate', label: `warm-up (saga ${WARMUP_RATE}/s, not reported)`, commitMode: modes[0] ?? 'default', rate: WARMUP_RATE, durationS: o.warmupS, warmup: true });
  for (const scenario of o.scenarios) {
    switch (scenario) {
      case 'saga-rate':
        for (const commitMode of modes) {
          for (const rate of o.rates) {
            runs.push({ scenario, label: `saga-rate ${rate}/s${commitMode === 'default' ? '' : ` (${commitMode})`}`, commitMode, rate, durationS: o.durationS });
          }
        }
        break;
      case 'saga-saturation':
        // Saturation per mode too: adaptive commits must not cost what fixed ones give.
        for (const commitMode of modes) {
          runs.push({ scenario, label: `saga-saturation${commitMode === 'default' ? '' : ` (${commitMode})`}`, commitMode, durationS: o.durationS });
        }
        break;
      case 'soak':
        runs.push({ scenario, label: `soak ${o.soakRate}/s ${o.soakMinutes} min`, commitMode: 'default', rate: o.soakRate, durationS: Math.round(o.soakMinutes * 60) });
        break;
      case 'restore':
        runs.push({ scenario, label: `restore ${o.restoreRecords} records`, commitMode: 'default', durationS: 0 });
        break;
      case 'replay':
        runs.push({ scenario, label: `replay ${o.replayRecords} records`, commitMode: 'default', durationS: 0 });
        break;
      default:
        runs.push({ scenario, label: scenario, commitMode: 'default', durationS: o.durationS });
    }
  }
  return runs;
}
