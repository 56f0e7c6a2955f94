// The driver's half of the protocol (runs in the forked driver process): its config
// from argv, and a recorder that keeps one histogram per second and one for the run
// per name, and sends each second as a 'tick'.
import { encode, newHistogram, recordMs, type Histogram } from './histogram.js';
import type { DoneMessage, DriverConfig, DriverMessage, EncodedHistograms } from './protocol.js';

export function driverConfig<D extends DriverConfig['driver']>(driver: D): Extract<DriverConfig, { driver: D }> {
  const text = process.argv[2];
  if (text === undefined || process.send === undefined) throw new Error(`the ${driver} driver is started by bench:load (forked with its config as argv[2])`);
  const config = JSON.parse(text) as DriverConfig;
  if (config.driver !== driver) throw new Error(`the ${driver} driver was given a ${config.driver} config`);
  return config as Extract<DriverConfig, { driver: D }>;
}

export function send(message: DriverMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) return reject(new Error('no IPC channel to bench:load'));
    process.send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

export const status = (text: string): Promise<void> => send({ kind: 'status', text });

function encodeAll(histograms: ReadonlyMap<string, Histogram>): EncodedHistograms {
  const out: Record<string, string> = {};
  for (const [name, h] of histograms) out[name] = encode(h);
  return out as EncodedHistograms;
}

export class SecondRecorder {
  readonly #second = new Map<string, Histogram>();
  readonly #run = new Map<string, Histogram>();
  #started = 0;
  #timer: NodeJS.Timeout | undefined;
  #count = 0;
  #offered = 0;
  #errors = 0;
  #totalErrors = 0;
  readonly #reportOffered: boolean;

  /** `names` besides 'latency'; `reportOffered` when offered requests differ from completions. */
  constructor(names: readonly string[] = [], reportOffered = false) {
    for (const name of ['latency', ...names]) {
      this.#second.set(name, newHistogram());
      this.#run.set(name, newHistogram());
    }
    this.#reportOffered = reportOffered;
  }

  /** Starts the clock and the ticks; returns the start in performance.now() time. */
  start(): number {
    this.#started = performance.now();
    this.#timer = setInterval(() => void this.#tick().catch(() => undefined), 1000);
    return this.#started;
  }

  record(ms: number, name = 'latency'): void {
    const h = this.#second.get(name);
    if (h === undefined) throw new Error(`no histogram '${name}'`);
    recordMs(h, ms);
    recordMs(this.#run.get(name)!, ms);
  }

  completed(n = 1): void {
    this.#count += n;
  }

  offered(n = 1): void {
    this.#offered += n;
  }

  error(n = 1): void {
    this.#errors += n;
    this.#totalErrors += n;
  }

  get errors(): number {
    return this.#totalErrors;
  }

  async #tick(): Promise<void> {
    const t = Math.round((performance.now() - this.#started) / 1000);
    const histograms = encodeAll(this.#second);
    const tick = { kind: 'tick' as const, t, count: this.#count, errors: this.#errors, histograms, ...(this.#reportOffered ? { offered: this.#offered } : {}) };
    for (const h of this.#second.values()) h.reset();
    this.#count = 0;
    this.#offered = 0;
    this.#errors = 0;
    await send(tick);
  }

  /** Stops the ticks (the partial last second is sent if it saw anything) and reports the run. */
  async finish(throughput: number, figures: DoneMessage['figures']): Promise<void> {
    clearInterval(this.#timer);
    if (this.#count > 0 || this.#errors > 0) await this.#tick();
    await send({ kind: 'done', histograms: encodeAll(this.#run), throughput, errors: this.#totalErrors, figures });
  }
}
