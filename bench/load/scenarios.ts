// One planned run against the target: the driver it needs, RSS sampled beside it,
// and the ScenarioRun the report is drawn from. A run that fails is recorded as
// failed with its error and the next one goes on.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { LoadOptions } from './options.js';
import type { RunSpec } from './plan.js';
import type { Progress } from './progress.js';
import type { DriverConfig } from './protocol.js';
import type { ScenarioRun } from './report-types.js';
import { replayScript, runReplay } from './replay.js';
import { restoreScript, runRestore } from './restore.js';
import { RssSampler } from './rss.js';
import { runDriver } from './run-driver.js';
import { settle } from './settle.js';
import type { Target } from './stack.js';

const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';

function driverConfigOf(spec: RunSpec, o: LoadOptions, url: string): DriverConfig {
  switch (spec.scenario) {
    case 'intake':
      return { driver: 'intake', url, durationS: spec.durationS, connections: o.intakeConnections };
    case 'store-read':
      return { driver: 'store-read', url, durationS: spec.durationS, orders: o.storeOrders, threads: o.wrkThreads, connections: o.wrkConnections };
    case 'saga-rate':
    case 'soak':
      return { driver: 'saga', url, durationS: spec.durationS, rate: spec.rate, connections: o.sagaConnections, drainS: o.drainS, brokers };
    case 'saga-saturation':
      return { driver: 'saga', url, durationS: spec.durationS, rate: undefined, connections: o.saturationConnections, drainS: o.drainS, brokers };
    case 'restore':
    case 'replay':
      throw new Error(`${spec.scenario} has no driver config: it runs its own script`);
  }
}

const DESCRIPTIONS: Readonly<Record<DriverConfig['driver'], { driver: string; unit: string; latencyWhat: string }>> = {
  intake: { driver: 'autocannon', unit: 'POST/s (2xx)', latencyWhat: 'POST /api/orders' },
  'store-read': { driver: 'wrk (1 s slices)', unit: 'GET/s', latencyWhat: 'GET /api/orders/store/{id}' },
  saga: { driver: 'node', unit: 'decided orders/s', latencyWhat: 'POST → decision on orders' },
};

const base = (spec: RunSpec): Pick<ScenarioRun, 'scenario' | 'label' | 'commitMode' | 'durationS'> & { offeredRate?: number } => ({
  scenario: spec.scenario,
  label: spec.label,
  commitMode: spec.commitMode,
  durationS: spec.durationS,
  ...(spec.rate === undefined ? {} : { offeredRate: spec.rate }),
});

function notRun(spec: RunSpec, status: 'skipped' | 'failed', reason: string, driver: string): ScenarioRun {
  return { ...base(spec), status, reason, driver, throughput: null, throughputUnit: '', latencyWhat: '', latency: null, otherLatencies: {}, errors: 0, figures: {}, series: [], rss: [] };
}

/** The run of a bench script (restore, replay): its own service, no latencies. */
function scriptRun(
  spec: RunSpec,
  script: string,
  unit: string,
  result: { readonly seconds: number; readonly recordsPerSecond: number },
  rest: Pick<ScenarioRun, 'figures' | 'rss' | 'progress'>,
): ScenarioRun {
  return {
    ...base(spec),
    durationS: result.seconds,
    status: 'ok',
    driver: script,
    throughput: result.recordsPerSecond,
    throughputUnit: unit,
    latencyWhat: '',
    latency: null,
    otherLatencies: {},
    errors: 0,
    series: [],
    ...rest,
  };
}

const missingScript = (spec: RunSpec, path: string, source: string, script: string): ScenarioRun =>
  notRun(spec, 'skipped', `${path} does not exist (${source} is not in that checkout, or it is not built)`, script);

async function restoreRun(spec: RunSpec, o: LoadOptions, progress: Progress): Promise<ScenarioRun> {
  const result = await runRestore(o.serviceDir, o.restoreRecords, progress, spec.label);
  if (result === undefined) return missingScript(spec, restoreScript(o.serviceDir), 'bench/restore.load.ts', 'restore.load.js');
  return scriptRun(spec, 'restore.load.js', 'records/s restored', result, {
    figures: { records: result.records, seconds: result.seconds, 'restore RSS MiB': result.rssMiB },
    rss: [{ t: result.seconds, mib: result.rssMiB }],
    progress: result.progress,
  });
}

async function replayRun(spec: RunSpec, o: LoadOptions, progress: Progress): Promise<ScenarioRun> {
  const result = await runReplay(o.serviceDir, o.replayRecords, progress, spec.label);
  if (result === undefined) return missingScript(spec, replayScript(o.serviceDir), 'bench/replay.load.ts', 'replay.load.js');
  return scriptRun(spec, 'replay.load.js', 'records/s replayed', result, {
    figures: { records: result.records, seconds: result.seconds, 'replay RSS MiB': result.rssMiB, 'replay peak RSS MiB': result.peakRssMiB },
    rss: result.progress.map((p) => ({ t: p.t, mib: p.rssMiB })),
    progress: result.progress.map((p) => ({ t: p.t, restored: p.replayed })),
  });
}

/** Whether wrk runs here (its --version exits 1 after printing the version). */
const hasWrk = (): Promise<boolean> =>
  new Promise((resolve) => execFile('wrk', ['--version'], (err) => resolve(err === null || (err as NodeJS.ErrnoException).code !== 'ENOENT')));

export async function executeRun(spec: RunSpec, target: Target, o: LoadOptions, progress: Progress): Promise<ScenarioRun> {
  if (spec.scenario === 'restore' || spec.scenario === 'replay') {
    const restore = spec.scenario === 'restore';
    try {
      // Its own service runs beside nothing of ours on the two cores.
      if (existsSync(restore ? restoreScript(o.serviceDir) : replayScript(o.serviceDir))) await target.suspend();
      return await (restore ? restoreRun(spec, o, progress) : replayRun(spec, o, progress));
    } catch (err) {
      return notRun(spec, 'failed', (err as Error).message, restore ? 'restore.load.js' : 'replay.load.js');
    }
  }
  const config = driverConfigOf(spec, o, target.url);
  const what = DESCRIPTIONS[config.driver];
  const driver = config.driver === 'saga' ? `node ${config.rate === undefined ? `closed-loop, ${config.connections} connections` : 'open-loop'}` : what.driver;
  if (config.driver === 'store-read' && !(await hasWrk())) return notRun(spec, 'skipped', 'wrk is not installed (Debian: apt-get install wrk)', driver);
  try {
    await target.useMode(spec.commitMode);
  } catch (err) {
    return notRun(spec, 'failed', `the service did not start with COMMIT_MODE=${spec.commitMode}: ${(err as Error).message}`, driver);
  }
  progress.show({ label: spec.label, elapsedS: 0, totalS: spec.durationS, rate: 0, p99SoFarMs: NaN, errors: 0, note: 'waiting for the service to go quiet' });
  const settled = await settle(target.url);
  if (!settled.quiet) progress.log(`${spec.label}: the service was still busy after ${settled.seconds} s; starting anyway`);
  const sampler = new RssSampler(target);
  try {
    const run = await runDriver(config, spec.label, spec.durationS, progress);
    return {
      ...base(spec),
      status: 'ok',
      driver,
      throughput: run.done.throughput,
      throughputUnit: what.unit,
      latencyWhat: what.latencyWhat,
      latency: run.latency,
      otherLatencies: run.others,
      errors: run.done.errors,
      figures: { ...run.done.figures, 'quiet before the run after s': settled.quiet ? settled.seconds : `not quiet after ${settled.seconds}` },
      series: run.series,
      rss: sampler.stop(),
      histogram: run.done.histograms.latency,
    };
  } catch (err) {
    return notRun(spec, 'failed', (err as Error).message, driver);
  } finally {
    sampler.stop();
  }
}
