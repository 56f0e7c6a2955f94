// What crosses the boundary between bench:load (the parent: progress, report) and a
// load driver (a child process forked per scenario run, over the IPC channel):
//
//   parent ──argv[2]: DriverConfig (JSON)──► driver
//   parent ◄──── 'tick' once a second ────── driver   that second's count, errors, histograms
//   parent ◄──── 'done' once ─────────────── driver   whole-run histograms and figures
//
// Histograms travel encoded (HdrHistogram compressed base64, µs), so the parent gets
// every second's distribution and merges them; it never sees raw samples.

/** Named latency histograms of one second or of the run; `latency` is the headline one. */
export type EncodedHistograms = { readonly latency: string } & Readonly<Record<string, string>>;

export interface TickMessage {
  readonly kind: 'tick';
  /** Seconds since the driver's load started (end of this interval). */
  readonly t: number;
  /** Completions this second (responses for HTTP drivers, decisions for the saga). */
  readonly count: number;
  readonly errors: number;
  /** Requests offered this second when it differs from count (the saga's POSTs). */
  readonly offered?: number;
  readonly histograms: EncodedHistograms;
}

export interface DoneMessage {
  readonly kind: 'done';
  readonly histograms: EncodedHistograms;
  /** Whole-run throughput in `unit`s per second, as the driver measured it. */
  readonly throughput: number;
  readonly errors: number;
  readonly figures: Readonly<Record<string, number | string>>;
}

/** A phase before the load (orders being created, a store being warmed). */
export interface StatusMessage {
  readonly kind: 'status';
  readonly text: string;
}

export type DriverMessage = TickMessage | DoneMessage | StatusMessage;

interface CommonConfig {
  readonly url: string;
  readonly durationS: number;
}

export interface IntakeConfig extends CommonConfig {
  readonly driver: 'intake';
  readonly connections: number;
}

export interface SagaConfig extends CommonConfig {
  readonly driver: 'saga';
  /** Orders/s offered open-loop; undefined: closed loop over `connections`. */
  readonly rate: number | undefined;
  readonly connections: number;
  readonly drainS: number;
  readonly brokers: string;
}

export interface StoreReadConfig extends CommonConfig {
  readonly driver: 'store-read';
  readonly orders: number;
  readonly threads: number;
  readonly connections: number;
}

export type DriverConfig = IntakeConfig | SagaConfig | StoreReadConfig;

export function isDriverMessage(value: unknown): value is DriverMessage {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'tick' || kind === 'done' || kind === 'status';
}
