// What one bench:load run records: report.json is this, report.md and report.html are
// drawn from it.
import type { Machine } from '../machine.js';
import type { LatencySummary } from './histogram.js';
import type { CommitMode, LoadOptions, ScenarioName } from './options.js';

/** One second of a run (one wrk slice for the store reads); latency in ms. */
export interface SeriesPoint {
  readonly t: number;
  readonly count: number;
  readonly errors: number;
  readonly offered?: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface RssPoint {
  readonly t: number;
  readonly mib: number;
}

export interface ScenarioRun {
  readonly scenario: ScenarioName;
  /** What the table calls it: 'saga-rate 500/s (adaptive)'. */
  readonly label: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  /** The load generator: 'autocannon', 'wrk', 'node open-loop', 'node closed-loop', a script. */
  readonly driver: string;
  readonly commitMode: CommitMode;
  readonly offeredRate?: number;
  readonly durationS: number;
  readonly throughput: number | null;
  readonly throughputUnit: string;
  /** What the headline latency measures ('POST', 'POST → decision on orders', 'GET'). */
  readonly latencyWhat: string;
  readonly latency: LatencySummary | null;
  /** Other histograms the driver kept (the saga's POST time). */
  readonly otherLatencies: Readonly<Record<string, LatencySummary>>;
  readonly errors: number;
  readonly figures: Readonly<Record<string, number | string>>;
  readonly series: readonly SeriesPoint[];
  /** The service's resident memory every 5 s of the run. */
  readonly rss: readonly RssPoint[];
  /** Encoded whole-run histogram (µs), for merging or re-reading later. */
  readonly histogram?: string;
  /** The restore and replay scenarios: records restored (or replayed) over time. */
  readonly progress?: readonly { readonly t: number; readonly restored: number }[];
}

export interface ServiceInfo {
  readonly url: string;
  /** The checkout it runs from; undefined for --url. */
  readonly dir: string | undefined;
  readonly commit: string;
  readonly dirty: boolean | undefined;
  /** Node flags it was started with (its start script's heap size), besides its entry (dist/src/main.cjs). */
  readonly nodeArgs: readonly string[];
  /** Whether that build knows COMMIT_MODE (the curve is one line without it). */
  readonly commitModeKnown: boolean | undefined;
}

export interface LoadReport {
  readonly tool: 'bench:load';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly service: ServiceInfo;
  /** The checkout whose drivers measured it. */
  readonly driver: { readonly commit: string; readonly dirty: boolean | undefined };
  readonly options: LoadOptions;
  readonly runs: readonly ScenarioRun[];
}
