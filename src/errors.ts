// The error vocabulary of the engine. Every error has a stable code, an HTTP status
// for the edge, a category for problem+json, and a recovery class that says what the
// caller should do, after Kafka Streams' split (StreamThread.runLoop): fix the input
// (client), try again (retry), wipe the local state and restore it from its changelog
// (wipe: TaskCorruptedException), or stop the process (fatal).
// test/errors.test.ts checks codes are unique and documented here.
//
// Errors cross threads (piscina, MessagePorts) by structured clone, which keeps only
// name, message and stack: toWire/fromWire carry the code, the recovery class and the
// cause chain across, so a fatal error stays fatal on the other side.

export type Recovery = 'client' | 'retry' | 'wipe' | 'fatal';

interface ErrorSpec {
  readonly status: number;
  readonly title: string;
  readonly category: 'Validation' | 'NotFound' | 'Unavailable' | 'Generic' | 'Configuration' | 'Security' | 'RateLimit';
  readonly recovery: Recovery;
}

export const errorCodes = {
  ORD_ERR_MALFORMED_JSON: { status: 400, title: 'Malformed JSON', category: 'Validation', recovery: 'client' },
  ORD_ERR_VALIDATION: { status: 400, title: 'Validation Failed', category: 'Validation', recovery: 'client' },
  ORD_ERR_BAD_PARAMETER: { status: 400, title: 'Bad Request Parameter', category: 'Validation', recovery: 'client' },
  ORD_ERR_MISSING_IDEMPOTENCY_KEY: { status: 400, title: 'Missing Idempotency-Key', category: 'Validation', recovery: 'client' },
  ORD_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', category: 'Validation', recovery: 'client' },
  ORD_ERR_BODY_TOO_LARGE: { status: 413, title: 'Payload Too Large', category: 'Validation', recovery: 'client' },
  ORD_ERR_UNAUTHORIZED: { status: 401, title: 'Unauthorized', category: 'Security', recovery: 'client' },
  ORD_ERR_FORBIDDEN: { status: 403, title: 'Forbidden', category: 'Security', recovery: 'client' },
  ORD_ERR_CORS_REJECTED: { status: 403, title: 'Cross-Origin Request Rejected', category: 'Security', recovery: 'client' },
  ORD_ERR_RATE_LIMITED: { status: 429, title: 'Too Many Requests', category: 'RateLimit', recovery: 'retry' },
  ORD_ERR_ORDER_NOT_FOUND: { status: 404, title: 'Order Not Found', category: 'NotFound', recovery: 'client' },
  ORD_ERR_PRODUCT_NOT_FOUND: { status: 404, title: 'Product Not Found', category: 'NotFound', recovery: 'client' },
  ORD_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'Not Found', category: 'NotFound', recovery: 'client' },
  ORD_ERR_DATABASE_UNAVAILABLE: { status: 503, title: 'Database Unavailable', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_CATALOG_UNAVAILABLE: { status: 503, title: 'Catalog Service Unavailable', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_OVERLOADED: { status: 503, title: 'Service Overloaded', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_SHUTTING_DOWN: { status: 503, title: 'Service Shutting Down', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_INTERNAL: { status: 500, title: 'Internal Server Error', category: 'Generic', recovery: 'fatal' },
  ORD_ERR_CONFIG: { status: 500, title: 'Invalid Configuration', category: 'Configuration', recovery: 'fatal' },
  ORD_ERR_KAFKA: { status: 503, title: 'Kafka Unavailable', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_ILLEGAL_STATE: { status: 500, title: 'Illegal State', category: 'Generic', recovery: 'fatal' },
  ORD_ERR_STORE_NOT_READY: { status: 503, title: 'Store Not Ready', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_TASK_MIGRATED: { status: 503, title: 'Task Migrated', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed', category: 'Validation', recovery: 'client' },
  ORD_ERR_STATE_CORRUPTED: { status: 500, title: 'State Store Corrupted', category: 'Generic', recovery: 'wipe' },
  ORD_ERR_STORE_NOT_OWNED: { status: 503, title: 'Partition Not Owned Here', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_STORE_QUERY_TIMEOUT: { status: 503, title: 'Store Query Timed Out', category: 'Unavailable', recovery: 'retry' },
  ORD_ERR_STREAM_THREAD_LOST: { status: 503, title: 'Stream Thread Lost', category: 'Unavailable', recovery: 'retry' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCodes;

export interface Violation {
  readonly field: string;
  readonly message: string;
}

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly recovery: Recovery;
  readonly violations: readonly Violation[] | undefined;

  constructor(code: ErrorCode, detail: string, options: { cause?: unknown; violations?: readonly Violation[] } = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.recovery = errorCodes[code].recovery;
    this.violations = options.violations;
  }

  get canRetry(): boolean {
    return this.recovery === 'retry';
  }
}

export class ConfigError extends EngineError {
  constructor(readonly lines: readonly string[]) {
    super('ORD_ERR_CONFIG', `invalid configuration:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** RFC 9457 problem details, with the fields the original service adds. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly errorCategory: string;
  readonly timestamp: string;
  readonly code: ErrorCode;
  readonly violations?: readonly Violation[];
  /** For errors the service logged (5xx): the id of that log line, for an operator to find it. */
  readonly errorId?: string;
}

const slug = (code: ErrorCode): string => code.slice('ORD_ERR_'.length).toLowerCase().replaceAll('_', '-');

/** Maps any thrown value to problem+json; unknown errors never leak their message. */
export function toProblem(err: unknown, instance: string, now: Date = new Date(), errorId?: string): Problem {
  const e = err instanceof EngineError ? err : new EngineError('ORD_ERR_INTERNAL', 'an unexpected error occurred');
  const spec = errorCodes[e.code];
  return {
    type: `https://order-engine.dev/problems/${slug(e.code)}`,
    title: spec.title,
    status: spec.status,
    detail: e.message,
    instance,
    errorCategory: spec.category,
    timestamp: now.toISOString(),
    code: e.code,
    ...(e.violations === undefined ? {} : { violations: e.violations }),
    ...(errorId === undefined ? {} : { errorId }),
  };
}

/** An error as it crosses a thread boundary: plain data that structured clone keeps whole. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** An ErrorCode for EngineErrors; a driver's own code (ECONNREFUSED, 57P01) otherwise. */
  readonly code?: string | number;
  readonly recovery?: Recovery;
  readonly violations?: readonly Violation[];
  readonly cause?: WireError;
}

const MAX_CAUSE_DEPTH = 8;

/** Flattens any thrown value (and its cause chain) into a WireError. */
export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) {
    const e = err as { message?: unknown; code?: unknown } | null;
    if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
      // node-rdkafka's LibrdKafkaError and other error-shaped objects.
      return { name: 'Error', message: e.message, ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}) };
    }
    return { name: 'Error', message: String(err) };
  }
  const code = (err as { code?: unknown }).code;
  const cause = err.cause === undefined || depth >= MAX_CAUSE_DEPTH ? undefined : toWire(err.cause, depth + 1);
  return {
    name: err.name,
    message: err.message,
    ...(err.stack === undefined ? {} : { stack: err.stack }),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(err instanceof EngineError ? { recovery: err.recovery, ...(err.violations === undefined ? {} : { violations: err.violations }) } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(errorCodes, code);

/** Rebuilds an error sent with toWire: an EngineError when it carried a known code. */
export function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWire(wire.cause);
  let err: Error;
  if (isErrorCode(wire.code)) {
    err = new EngineError(wire.code, wire.message, { ...(cause === undefined ? {} : { cause }), ...(wire.violations === undefined ? {} : { violations: wire.violations }) });
    if (wire.name !== 'EngineError') err.name = wire.name;
  } else {
    err = new Error(wire.message, cause === undefined ? undefined : { cause });
    err.name = wire.name;
    if (wire.code !== undefined) Object.assign(err, { code: wire.code });
  }
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}

/** The recovery class of anything thrown: an EngineError's own; unknown errors are fatal (bugs). */
export function recoveryOf(err: unknown): Recovery {
  return err instanceof EngineError ? err.recovery : 'fatal';
}
