// Reads the instance directory topic from its beginning and keeps reading it, feeding
// every record to the InstanceDirectory, and reports the live instances whenever they
// change (a record, a tombstone, or an entry whose TTL ran out). Runs on the main
// thread (librdkafka). A plain assigned consumer: no group, no commits; every instance
// reads the whole topic (one partition, compacted: about one record per instance).
//
// Records read while catching up with what was there at start count as seen when they
// were written (at most now): a record of an instance that died an hour ago must not
// look alive for a TTL just because we read it late.
import Kafka from 'node-rdkafka';
import type { Logger } from '../logger.js';
import { connectClient } from '../kafka/connect.js';
import { pollBatch } from '../kafka/poll.js';
import { queryWatermarks } from '../kafka/watermarks.js';
import type { InstanceDirectory } from './instance-directory.js';
import { decodeInstanceRecord, type InstanceRecord } from './instance-record.js';

export interface ReaderOptions {
  readonly brokers: string;
  readonly topic: string;
  readonly clientId: string;
  /** How often TTLs are checked between records. */
  readonly sweepMs: number;
  readonly log: Logger;
  readonly onChange: (live: readonly InstanceRecord[]) => void;
  readonly onClientError?: (err: Kafka.LibrdKafkaError) => void;
}

const POLL_WAIT_MS = 250;
const MAX_POLL_RECORDS = 500;
const OFFSET_BEGINNING = -2;
/** One warning per this long about failed polls. */
const WARN_EVERY_MS = 30_000;

export class InstanceDirectoryReader {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #directory: InstanceDirectory;
  readonly #options: ReaderOptions;
  /** Offsets below this were in the topic at start (catch-up). */
  readonly #startEnd: number;
  #running = true;
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #lastWarning = 0;
  #ignored = 0;

  private constructor(consumer: Kafka.KafkaConsumer, directory: InstanceDirectory, options: ReaderOptions, startEnd: number) {
    this.#consumer = consumer;
    this.#directory = directory;
    this.#options = options;
    this.#startEnd = startEnd;
  }

  static async start(directory: InstanceDirectory, options: ReaderOptions): Promise<InstanceDirectoryReader> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': options.brokers,
        // Required by librdkafka, never joined: assign() without a subscription and no commits.
        'group.id': options.clientId,
        'client.id': options.clientId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'reconnect.backoff.max.ms': 1000,
        'fetch.wait.max.ms': 100,
        'queued.max.messages.kbytes': 1024,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    if (options.onClientError !== undefined) consumer.on('event.error', options.onClientError);
    await connectClient(consumer, { what: 'instance directory reader', log: options.log });
    // Without the end offset every record counts as just seen: a dead instance's last
    // record looks alive for one TTL (a forward to it then fails fast). Not worth failing the start.
    const { highOffset } = await queryWatermarks(consumer, options.topic, 0, 10_000).catch((err: unknown) => {
      options.log.warn({ err }, 'instance directory: the topic\'s end offset is unknown; records read at start count as just seen');
      return { highOffset: 0, lowOffset: 0 };
    });
    consumer.assign([{ topic: options.topic, partition: 0, offset: OFFSET_BEGINNING }]);
    const reader = new InstanceDirectoryReader(consumer, directory, options, highOffset);
    reader.#timer = setInterval(() => reader.#notify(), options.sweepMs);
    reader.#timer.unref();
    reader.#loop = reader.#run();
    return reader;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let messages: Kafka.Message[];
      try {
        messages = await pollBatch(this.#consumer, MAX_POLL_RECORDS, POLL_WAIT_MS);
      } catch (err) {
        if (Date.now() - this.#lastWarning >= WARN_EVERY_MS) {
          this.#lastWarning = Date.now();
          this.#options.log.warn({ err }, 'instance directory: poll failed; retrying');
        }
        await new Promise((wake) => setTimeout(wake, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      const now = Date.now();
      for (const m of messages) this.#apply(m, now);
      this.#notify();
    }
  }

  #apply(m: Kafka.Message, now: number): void {
    const key = m.key === null || m.key === undefined ? '' : m.key.toString();
    const seenAt = m.offset < this.#startEnd ? Math.min(now, m.timestamp ?? 0) : now;
    if (m.value === null || m.value === undefined) {
      this.#directory.apply(key, null, seenAt);
      return;
    }
    const record = decodeInstanceRecord(key, m.value);
    if (record === undefined) {
      // Another version's record, or garbage: never routed by. Said once, then counted.
      if (this.#ignored++ === 0) this.#options.log.warn({ key, offset: m.offset }, 'instance directory: ignoring a record this version cannot read');
      return;
    }
    this.#directory.apply(key, record, seenAt);
  }

  #notify(): void {
    const live = this.#directory.liveIfChanged(Date.now());
    if (live !== undefined) this.#options.onChange(live);
  }

  async close(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    await this.#loop;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.#consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
