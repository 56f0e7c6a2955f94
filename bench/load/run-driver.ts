// The parent's half of the protocol: forks a driver (its own process, apart from the
// service and from this one), turns its ticks into the run's per-second series, keeps
// the progress line, and returns the run's figures when it is done.
import { fork } from 'node:child_process';
import { decode, newHistogram, summarize, type LatencySummary } from './histogram.js';
import type { Progress } from './progress.js';
import { isDriverMessage, type DoneMessage, type DriverConfig, type TickMessage } from './protocol.js';
import type { SeriesPoint } from './report-types.js';

export interface DriverRun {
  readonly series: readonly SeriesPoint[];
  readonly done: DoneMessage;
  readonly latency: LatencySummary;
  readonly others: Readonly<Record<string, LatencySummary>>;
}

/** One second's point of the series from its tick. */
export function pointOf(tick: TickMessage): SeriesPoint {
  const h = decode(tick.histograms.latency);
  const s = summarize(h);
  h.destroy();
  return { t: tick.t, count: tick.count, errors: tick.errors, ...(tick.offered === undefined ? {} : { offered: tick.offered }), p50: s.p50, p99: s.p99, max: s.max };
}

/** The error lines of a Node crash on stderr ('TypeError: fetch failed', '[cause]: Error: …'), not its stack. */
export function errorLines(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => /\b\w*Error\b[^:]*:/.test(l) && !/^\s+at /.test(l));
  return (lines.length > 0 ? lines : stderr.trim().split('\n').slice(-2)).map((l) => l.trim()).join(' / ');
}

const driverFile = (driver: DriverConfig['driver']): string => new URL(`./drive-${driver}.js`, import.meta.url).pathname;

export async function runDriver(config: DriverConfig, label: string, totalS: number, progress: Progress): Promise<DriverRun> {
  const child = fork(driverFile(config.driver), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  // Passed through, and its tail kept: a driver that dies says why in the report.
  let stderrTail = '';
  child.stderr!.on('data', (d: Buffer) => {
    process.stderr.write(d);
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const series: SeriesPoint[] = [];
  const soFar = newHistogram();
  let errors = 0;
  let done: DoneMessage | undefined;
  child.on('message', (message: unknown) => {
    if (!isDriverMessage(message)) return;
    if (message.kind === 'status') {
      progress.show({ label, elapsedS: 0, totalS, rate: 0, p99SoFarMs: NaN, errors: 0, note: message.text });
    } else if (message.kind === 'tick') {
      series.push(pointOf(message));
      // The running p99 over every second so far (merged histograms, not averaged p99s).
      const second = decode(message.histograms.latency);
      soFar.add(second);
      second.destroy();
      errors += message.errors;
      progress.show({ label, elapsedS: message.t, totalS, rate: message.count, p99SoFarMs: summarize(soFar).p99, errors });
    } else {
      done = message;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  progress.end();
  soFar.destroy();
  if (done === undefined) throw new Error(`the ${config.driver} driver exited with ${code} before reporting: ${errorLines(stderrTail)}`);
  const others: Record<string, LatencySummary> = {};
  for (const [name, encoded] of Object.entries(done.histograms)) {
    if (name === 'latency') continue;
    const h = decode(encoded);
    others[name] = summarize(h);
    h.destroy();
  }
  const total = decode(done.histograms.latency);
  const latency = summarize(total);
  total.destroy();
  return { series, done, latency, others };
}
