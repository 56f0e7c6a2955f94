// Broker reachability as the kafka thread sees it, for logs, metrics and readiness.
// librdkafka reports trouble on each handle's `event.error` (ERR__TRANSPORT,
// ERR__ALL_BROKERS_DOWN, ...) and says nothing when things come back, so errors only
// mark the broker suspect, and a metadata request every PROBE_INTERVAL_MS decides:
// answered → up, failed → down. Without a listener those events vanish: the engine
// used to report Kafka UP through a whole broker outage.
import type Kafka from 'node-rdkafka';
import type { Logger } from '../logger.js';

const PROBE_INTERVAL_MS = 2000;
const PROBE_TIMEOUT_MS = 2000;
/** One log line per client and error code per this long; the rest are counted. */
const LOG_EVERY_MS = 10_000;

export interface KafkaHealthSnapshot {
  readonly up: boolean;
  /** Since when (epoch ms) the broker is up or down. */
  readonly since: number;
  readonly lastError: string | undefined;
  /** Error events by `client: message`, since start (node-rdkafka's error events carry no code). */
  readonly errors: Readonly<Record<string, number>>;
}

type Probe = (timeoutMs: number) => Promise<void>;

export class KafkaHealth {
  readonly #log: Logger;
  #up = true;
  #since = Date.now();
  #lastError: string | undefined;
  readonly #errors = new Map<string, number>();
  readonly #lastLogged = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The `event.error` listener of a client handle named `client`. */
  listener(client: string): (err: Kafka.LibrdKafkaError) => void {
    return (err) => this.report(client, err);
  }

  report(client: string, err: { message: string }): void {
    // librdkafka's messages for these events are a small fixed set (rd_kafka_err2str).
    const key = `${client}: ${err.message}`;
    const count = (this.#errors.get(key) ?? 0) + 1;
    this.#errors.set(key, count);
    this.#lastError = `${client}: ${err.message}`;
    const now = Date.now();
    if (now - (this.#lastLogged.get(key) ?? 0) >= LOG_EVERY_MS) {
      this.#lastLogged.set(key, now);
      this.#log.warn({ client, err: err.message, count }, 'kafka client error');
    }
  }

  /** Starts probing with `probe` (a metadata request that rejects when no broker answers). */
  start(probe: Probe): void {
    this.#timer = setInterval(() => void this.#probe(probe), PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  async #probe(probe: Probe): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      await probe(PROBE_TIMEOUT_MS);
      this.#set(true);
    } catch (err) {
      this.#lastError = `metadata: ${(err as Error).message}`;
      this.#set(false);
    } finally {
      this.#probing = false;
    }
  }

  #set(up: boolean): void {
    if (up === this.#up) return;
    const downFor = Date.now() - this.#since;
    this.#up = up;
    this.#since = Date.now();
    if (up) this.#log.info({ downMs: downFor }, 'kafka: broker reachable again');
    else this.#log.error({ lastError: this.#lastError }, 'kafka: broker unreachable');
  }

  snapshot(): KafkaHealthSnapshot {
    return { up: this.#up, since: this.#since, lastError: this.#lastError, errors: Object.fromEntries(this.#errors) };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
