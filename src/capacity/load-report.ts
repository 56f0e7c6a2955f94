// Reads what the planner needs from bench:load's report.json (bench/load/report-types.ts
// is its shape; read here as untrusted JSON, not imported, so the planner does not
// depend on the bench): the saturation throughput of the saga-saturation scenario,
// decided orders a second when offered more than the service takes. Pure: it takes
// the parsed JSON.
//
// That throughput is one instance with its stream threads, on the machine the report
// names, sharing its cores with the broker, Postgres, the simulators and the load
// generator: per thread it is a conservative figure for that hardware.

export interface MeasuredThroughput {
  /** Decided orders a second at saturation, the whole instance. */
  readonly saturationOrdersPerSecond: number;
  readonly streamThreads: number;
  readonly ordersPerSecondPerThread: number;
  /** What one order cost one stream thread, in ms: threads / throughput. */
  readonly processingMsPerOrder: number;
  /** The run it came from, as the report labels it ('saga-saturation (fixed)'). */
  readonly run: string;
  readonly commitMode: string;
  readonly measuredAt: string;
  readonly machine: string;
}

export class LoadReportError extends Error {
  override readonly name = 'LoadReportError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback);

interface SaturationRun {
  readonly label: string;
  readonly commitMode: string;
  readonly throughput: number;
}

function saturationRuns(runs: readonly unknown[]): SaturationRun[] {
  const out: SaturationRun[] = [];
  for (const r of runs) {
    if (!isRecord(r) || r.scenario !== 'saga-saturation' || r.status !== 'ok') continue;
    if (typeof r.throughput !== 'number' || !Number.isFinite(r.throughput) || r.throughput <= 0) continue;
    out.push({ label: text(r.label, 'saga-saturation'), commitMode: text(r.commitMode, 'default'), throughput: r.throughput });
  }
  return out;
}

/**
 * The saturation figure of a report. Several saga-saturation runs (one per commit mode):
 * the one of commitMode when given, else the lowest, so the plan errs on the safe side.
 * streamThreads is the measured instance's NUM_STREAM_THREADS, which the report does not
 * record (bench:load starts the service with the environment it was given).
 */
export function measuredThroughput(report: unknown, streamThreads: number, commitMode?: string): MeasuredThroughput {
  if (!isRecord(report) || report.tool !== 'bench:load' || !Array.isArray(report.runs)) {
    throw new LoadReportError('not a bench:load report.json (no "tool": "bench:load" with "runs")');
  }
  if (!Number.isInteger(streamThreads) || streamThreads < 1) throw new LoadReportError(`the measured instance's stream threads must be a positive integer, got ${streamThreads}`);
  const all = saturationRuns(report.runs);
  const runs = commitMode === undefined ? all : all.filter((r) => r.commitMode === commitMode);
  if (runs.length === 0) {
    const which = commitMode === undefined ? '' : ` with commit mode ${commitMode} (have: ${all.map((r) => r.commitMode).join(', ') || 'none'})`;
    throw new LoadReportError(`the report has no successful saga-saturation run${which}: npm run bench:load -- --scenario saga-saturation`);
  }
  const run = runs.reduce((low, r) => (r.throughput < low.throughput ? r : low));
  const m = isRecord(report.machine) ? report.machine : {};
  const perThread = run.throughput / streamThreads;
  return {
    saturationOrdersPerSecond: run.throughput,
    streamThreads,
    ordersPerSecondPerThread: perThread,
    processingMsPerOrder: 1000 / perThread,
    run: run.label,
    commitMode: run.commitMode,
    measuredAt: text(report.startedAt, 'unknown'),
    machine: `${text(m.cpu, 'unknown cpu')}, ${text(m.cores, '?')} cores, node ${text(m.node, '?')}`,
  };
}
