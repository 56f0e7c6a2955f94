// Why a call to the catalog service failed, and what that means for the resilience
// around it (pure). Two questions, answered separately:
//   retriable?      may the same request succeed if sent again: a network error, a
//                   timeout, a 5xx, a 429. Never another 4xx: the same request gets
//                   the same answer (the old client retried those too).
//   service down?   does it count toward opening the circuit breaker: every failure
//                   except a 4xx other than 429 (the service answered: it is up) and
//                   a bulkhead rejection (our own limit, not the service's health).
import { EngineError } from '../errors.js';

export type CatalogFailureKind = 'status' | 'timeout' | 'network' | 'bad-answer';

/** One failed attempt at GET /api/catalog/exists. */
export class CatalogCallError extends Error {
  readonly kind: CatalogFailureKind;
  /** The HTTP status, for kind 'status'. */
  readonly status: number | undefined;

  constructor(kind: CatalogFailureKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CatalogCallError';
    this.kind = kind;
    this.status = options.status;
  }
}

// opossum rejects a call it did not let through (or gave up on) with these codes.
export const BREAKER_OPEN = 'EOPENBREAKER';
export const BULKHEAD_FULL = 'ESEMLOCKED';
export const BREAKER_TIMEOUT = 'ETIMEDOUT';

const codeOf = (err: unknown): unknown => (err instanceof Error ? (err as { code?: unknown }).code : undefined);

const isClientError = (status: number): boolean => status >= 400 && status < 500 && status !== 429;

export function isRetriable(err: unknown): boolean {
  if (codeOf(err) === BREAKER_TIMEOUT) return true;
  if (!(err instanceof CatalogCallError)) return false;
  switch (err.kind) {
    case 'network':
    case 'timeout':
      return true;
    case 'status':
      return err.status !== undefined && !isClientError(err.status);
    case 'bad-answer':
      return false; // a service that answers nonsense will answer it again
  }
}

export function countsAgainstService(err: unknown): boolean {
  if (codeOf(err) === BULKHEAD_FULL) return false;
  if (err instanceof CatalogCallError && err.kind === 'status' && err.status !== undefined && isClientError(err.status)) return false;
  return true;
}

/** The client's view of a failed check: a 503 that says which failure it was. */
export function catalogUnavailable(err: unknown): EngineError {
  const detail = (why: string): EngineError => new EngineError('ORD_ERR_CATALOG_UNAVAILABLE', why, { cause: err });
  switch (codeOf(err)) {
    case BREAKER_OPEN:
      return detail('the catalog service is unavailable (circuit open); retry shortly');
    case BULKHEAD_FULL:
      return detail('too many catalog calls in flight; retry shortly');
    case BREAKER_TIMEOUT:
      return detail('the catalog service did not answer in time');
  }
  if (!(err instanceof CatalogCallError)) return detail('the catalog check failed unexpectedly');
  switch (err.kind) {
    case 'status':
      if (err.status === 429) return detail('the catalog service is limiting our calls (HTTP 429); retry shortly');
      if (err.status !== undefined && isClientError(err.status)) return detail(`the catalog service refused the check (HTTP ${err.status})`);
      return detail(`the catalog service failed (HTTP ${err.status ?? '?'})`);
    case 'timeout':
      return detail('the catalog service did not answer in time');
    case 'network':
      return detail(`the catalog service could not be reached: ${err.message}`);
    case 'bad-answer':
      return detail(`the catalog service gave an answer that cannot be read: ${err.message}`);
  }
}
