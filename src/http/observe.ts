// HTTP observability off the hot path: the server publishes one message per request
// on a diagnostics channel; metrics subscribe to it (src/metrics.ts).
import { channel } from 'node:diagnostics_channel';

export interface RequestEvent {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
}

export const httpRequestChannel = channel('orders:http:request');

/**
 * The durations (seconds) of the stream engine's commits, a batch a second: measured
 * by the kafka thread's commit cycle, handed over with its stats (src/engine/engine-stats.ts).
 */
export const streamCommitsChannel = channel('orders:stream:commits');

export function publishCommits(seconds: readonly number[]): void {
  if (seconds.length > 0 && streamCommitsChannel.hasSubscribers) streamCommitsChannel.publish(seconds);
}

export function publishRequest(method: string, route: string, status: number, started: bigint): void {
  if (!httpRequestChannel.hasSubscribers) return;
  const event: RequestEvent = { method, route, status, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  httpRequestChannel.publish(event);
}

/** A request the access gate refused (src/http/access/), by reason; its answer is a request event too. */
export interface RejectedEvent {
  readonly reason: string;
}

export const httpRejectedChannel = channel('orders:http:rejected');

export function publishRejected(reason: string): void {
  if (!httpRejectedChannel.hasSubscribers) return;
  const event: RejectedEvent = { reason };
  httpRejectedChannel.publish(event);
}
