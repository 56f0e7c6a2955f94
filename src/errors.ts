// The error vocabulary of the engine. Every error has a stable code, an HTTP status
// for the edge, a category for problem+json, and a recovery class that says what the
// caller should do (Kafka Streams' split: fix the input / retry / stop the process).
// test/errors.test.ts checks codes are unique and documented here.

export type Recovery = 'client' | 'retry' | 'fatal';

interface ErrorSpec {
  readonly status: number;
  readonly title: string;
  readonly category: 'Validation' | 'NotFound' | 'Unavailable' | 'Generic' | 'Configuration';
  readonly recovery: Recovery;
}

export const errorCodes = {
  ORD_ERR_MALFORMED_JSON: { status: 400, title: 'Malformed JSON', category: 'Validation', recovery: 'client' },
  ORD_ERR_VALIDATION: { status: 400, title: 'Validation Failed', category: 'Validation', recovery: 'client' },
  ORD_ERR_BAD_PARAMETER: { status: 400, title: 'Bad Request Parameter', category: 'Validation', recovery: 'client' },
  ORD_ERR_MISSING_IDEMPOTENCY_KEY: { status: 400, title: 'Missing Idempotency-Key', category: 'Validation', recovery: 'client' },
  ORD_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', category: 'Validation', recovery: 'client' },
  ORD_ERR_BODY_TOO_LARGE: { status: 413, title: 'Payload Too Large', category: 'Validation', recovery: 'client' },
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
}

const slug = (code: ErrorCode): string => code.slice('ORD_ERR_'.length).toLowerCase().replaceAll('_', '-');

/** Maps any thrown value to problem+json; unknown errors never leak their message. */
export function toProblem(err: unknown, instance: string, now: Date = new Date()): Problem {
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
  };
}
