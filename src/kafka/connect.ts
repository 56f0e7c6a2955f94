// Connecting a librdkafka client at start, waiting for a broker that is not there yet
// (containers started together, a rolling broker restart, a broker still loading its
// logs) instead of failing the start: node-rdkafka's connect() gives up at the first
// failed metadata request ("broker transport failure"), and a pod that exits on it
// only trades the wait for a crash loop. Retried with backoff up to `maxWaitMs`.
import type Kafka from 'node-rdkafka';
import pRetry from 'p-retry';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface ConnectOptions {
  readonly what: string;
  readonly log?: Logger;
  /** Give up after this long (default 5 minutes). */
  readonly maxWaitMs?: number;
}

type Connectable = Pick<Kafka.Producer, 'connect'> | Pick<Kafka.KafkaConsumer, 'connect'>;

export async function connectClient(client: Connectable, options: ConnectOptions): Promise<void> {
  await pRetry(
    () =>
      new Promise<void>((resolve, reject) => {
        (client as Pick<Kafka.Producer, 'connect'>).connect({ timeout: 10_000 }, (err) => (err ? reject(new Error(err.message)) : resolve()));
      }),
    {
      retries: Number.POSITIVE_INFINITY,
      maxRetryTime: options.maxWaitMs ?? 300_000,
      minTimeout: 250,
      maxTimeout: 2000,
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (attemptNumber === 1 || attemptNumber % 10 === 0) options.log?.warn({ err: error.message, attempt: attemptNumber }, `${options.what}: no broker yet; retrying`);
      },
    },
  ).catch((err: unknown) => {
    throw new EngineError('ORD_ERR_KAFKA', `${options.what}: cannot connect: ${(err as Error).message}`, { cause: err });
  });
}

/**
 * librdkafka's close can wait on a broker that is gone, and node-rdkafka never calls a
 * second disconnect back: a failed consumer is left behind after `timeoutMs`.
 */
export function disconnectClient(consumer: Pick<Kafka.KafkaConsumer, 'disconnect'>, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    consumer.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Disconnects a producer: its poll interval is stopped first. node-rdkafka polls on the
 * JS thread without the connection lock until its 'disconnected' event, while the
 * disconnect destroys the client on a libuv worker, so a poll could land in a client
 * being destroyed (librdkafka allows no call beside rd_kafka_destroy). Its flush, then
 * its close, each wait up to `timeoutMs`.
 */
export function disconnectProducer(producer: Pick<Kafka.Producer, 'setPollInterval' | 'disconnect'>, timeoutMs: number): Promise<void> {
  producer.setPollInterval(0);
  return new Promise<void>((resolve) => producer.disconnect(timeoutMs, () => resolve()));
}
