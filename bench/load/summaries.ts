// Figures derived from the runs that both report.md and report.html show (pure).
import type { ScenarioRun } from './report-types.js';

export interface CurvePoint {
  readonly rate: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly throughput: number;
}

/** POST → decision against offered rate, one line per commit mode, from the saga-rate runs. */
export function commitCurve(runs: readonly ScenarioRun[]): Map<string, CurvePoint[]> {
  const curve = new Map<string, CurvePoint[]>();
  for (const r of runs) {
    if (r.scenario !== 'saga-rate' || r.status !== 'ok' || r.latency === null || r.offeredRate === undefined) continue;
    const line = curve.get(r.commitMode) ?? [];
    line.push({ rate: r.offeredRate, p50: r.latency.p50, p95: r.latency.p95, p99: r.latency.p99, throughput: r.throughput ?? NaN });
    curve.set(r.commitMode, line);
  }
  for (const line of curve.values()) line.sort((a, b) => a.rate - b.rate);
  return curve;
}

export interface RssSummary {
  readonly samples: number;
  readonly minMiB: number;
  readonly maxMiB: number;
  readonly firstMiB: number;
  readonly lastMiB: number;
}

export function rssSummary(run: ScenarioRun): RssSummary | undefined {
  if (run.rss.length === 0) return undefined;
  const values = run.rss.map((p) => p.mib);
  return { samples: values.length, minMiB: Math.min(...values), maxMiB: Math.max(...values), firstMiB: values[0]!, lastMiB: values.at(-1)! };
}
