// The command line of `npm run bench:load`, parsed once into a frozen, typed object.
// Pure: the tests call parseLoadOptions with argument lists.
import { parseArgs } from 'node:util';

export const SCENARIOS = ['intake', 'store-read', 'saga-rate', 'saga-saturation', 'restore', 'replay', 'soak'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** COMMIT_MODE values the service is restarted with for the p95-vs-rate curve; 'default' sets none. */
export const COMMIT_MODES = ['default', 'fixed', 'adaptive'] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

export interface LoadOptions {
  readonly scenarios: readonly ScenarioName[];
  /** A running service to target; undefined: start one from serviceDir. */
  readonly url: string | undefined;
  readonly serviceDir: string;
  readonly simulators: boolean;
  readonly durationS: number;
  /** Orders/s of saga-rate; the curve when several. */
  readonly rates: readonly number[];
  readonly commitModes: readonly CommitMode[];
  readonly soakMinutes: number;
  readonly soakRate: number;
  readonly intakeConnections: number;
  readonly sagaConnections: number;
  readonly saturationConnections: number;
  readonly storeOrders: number;
  readonly wrkThreads: number;
  readonly wrkConnections: number;
  readonly restoreRecords: number;
  /** The replay scenario's backlog: the last N records of `orders`. */
  readonly replayRecords: number;
  readonly drainS: number;
  /**
   * Seconds of saga load at 200 orders/s before the first run, not reported (0: none).
   * A broker started minutes before is still compiling itself: the same saga run
   * measured about three times slower against it (docs/performance.md).
   */
  readonly warmupS: number;
  readonly applicationId: string;
  readonly out: string | undefined;
}

export const USAGE = `npm run bench:load -- --scenario intake,store-read,saga-rate,saga-saturation,restore,replay,soak | all
  [--url URL | --service-dir DIR] [--simulators yes|no] [--duration 20] [--rate 500 | --rates 200,500,1000,2000]
  [--commit-modes fixed,adaptive] [--soak-minutes 10] [--soak-rate 500] [--store-orders 20000]
  [--restore-records 200000] [--replay-records 300000] [--connections 64] [--saga-connections 128] [--saturation-connections 32]
  [--wrk-threads 2] [--wrk-connections 64] [--drain 30] [--warmup 0] [--application-id order-service-bench] [--out DIR]`;

export class LoadOptionsError extends Error {
  override readonly name = 'LoadOptionsError';
}

function positive(name: string, text: string, integer = true): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new LoadOptionsError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  return n;
}

function list<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new LoadOptionsError(`--${name} is empty`);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new LoadOptionsError(`--${name}: unknown '${item}' (one of ${allowed.join(', ')})`);
  }
  return [...new Set(items as T[])];
}

export function parseLoadOptions(argv: readonly string[], cwd: string): LoadOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        url: { type: 'string' },
        'service-dir': { type: 'string' },
        simulators: { type: 'string' },
        duration: { type: 'string', default: '20' },
        rate: { type: 'string', default: '500' },
        rates: { type: 'string' },
        'commit-modes': { type: 'string', default: 'default' },
        'soak-minutes': { type: 'string', default: '10' },
        'soak-rate': { type: 'string', default: '500' },
        connections: { type: 'string', default: '64' },
        'saga-connections': { type: 'string', default: '128' },
        'saturation-connections': { type: 'string', default: '32' },
        'store-orders': { type: 'string', default: '20000' },
        'wrk-threads': { type: 'string', default: '2' },
        'wrk-connections': { type: 'string', default: '64' },
        'restore-records': { type: 'string', default: '200000' },
        'replay-records': { type: 'string', default: '300000' },
        drain: { type: 'string', default: '30' },
        warmup: { type: 'string', default: '0' },
        'application-id': { type: 'string', default: 'order-service-bench' },
        out: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new LoadOptionsError((err as Error).message);
  }
  if (values.scenario === undefined) throw new LoadOptionsError('--scenario is required (a comma-separated list, or all)');
  const scenarios = values.scenario.trim() === 'all' ? [...SCENARIOS] : list('scenario', values.scenario, SCENARIOS);
  if (values.url !== undefined && values['service-dir'] !== undefined) throw new LoadOptionsError('--url and --service-dir exclude each other: --url targets a running service');
  if (values.url !== undefined && !/^https?:\/\/[^/]+$/.test(values.url.replace(/\/$/, ''))) throw new LoadOptionsError(`--url must be http(s)://host:port, got '${values.url}'`);
  const simulators = values.simulators ?? (values.url === undefined ? 'yes' : 'no');
  if (simulators !== 'yes' && simulators !== 'no') throw new LoadOptionsError(`--simulators must be yes or no, got '${simulators}'`);
  const rates = (values.rates ?? values.rate).split(',').filter((s) => s.trim() !== '').map((r) => positive('rates', r.trim(), false));
  if (rates.length === 0) throw new LoadOptionsError('--rates is empty');
  const commitModes = list('commit-modes', values['commit-modes'], COMMIT_MODES);
  if (values.url !== undefined && commitModes.some((m) => m !== 'default')) {
    throw new LoadOptionsError('--commit-modes needs the service started by bench:load (it is restarted per mode); drop --url or the modes');
  }
  const serviceDir = values['service-dir'] ?? cwd;
  return Object.freeze({
    scenarios,
    url: values.url?.replace(/\/$/, ''),
    serviceDir: serviceDir.startsWith('/') ? serviceDir : `${cwd}/${serviceDir}`,
    simulators: simulators === 'yes',
    durationS: positive('duration', values.duration),
    rates: [...new Set(rates)].sort((a, b) => a - b),
    commitModes,
    soakMinutes: positive('soak-minutes', values['soak-minutes'], false),
    soakRate: positive('soak-rate', values['soak-rate'], false),
    intakeConnections: positive('connections', values.connections),
    sagaConnections: positive('saga-connections', values['saga-connections']),
    saturationConnections: positive('saturation-connections', values['saturation-connections']),
    storeOrders: positive('store-orders', values['store-orders']),
    wrkThreads: positive('wrk-threads', values['wrk-threads']),
    wrkConnections: positive('wrk-connections', values['wrk-connections']),
    restoreRecords: positive('restore-records', values['restore-records']),
    replayRecords: positive('replay-records', values['replay-records']),
    drainS: positive('drain', values.drain),
    warmupS: values.warmup === '0' ? 0 : positive('warmup', values.warmup),
    applicationId: values['application-id'],
    out: values.out,
  });
}
