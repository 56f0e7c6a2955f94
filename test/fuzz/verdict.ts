// What the fuzz holds every answer to, and how it names outcomes for its summary table.
import type { Expectation, WireRequest } from './wire.js';
import type { RawExchange, RawResponse } from '../support/raw-http.js';

interface ProblemBody {
  readonly status?: unknown;
  readonly title?: unknown;
  readonly detail?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly errorId?: unknown;
  readonly violations?: readonly { readonly field?: unknown }[];
}

function problemOf(res: RawResponse): ProblemBody | undefined {
  try {
    const body: unknown = JSON.parse(res.body.toString('utf8'));
    return typeof body === 'object' && body !== null ? (body) : undefined;
  } catch {
    return undefined;
  }
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * Why `res` is not an acceptable answer to `req`, or undefined when it is. Every answer:
 * no 500 (a bug), and any error status is problem+json with status, title, detail and
 * type. An answer owed an expectation must also meet it.
 */
export function responseFault(req: WireRequest | undefined, res: RawResponse): string | undefined {
  const isHead = req?.method === 'HEAD';
  const problem = isHead ? undefined : problemOf(res);
  if (res.status >= 500 && res.status !== 503) return `status ${res.status} (errorId ${String(problem?.errorId)})`;
  if (res.status >= 400) {
    const type = res.headers.get('content-type');
    if (type !== 'application/problem+json') return `status ${res.status} with Content-Type ${String(type)}, not application/problem+json`;
    if (!isHead) {
      if (problem === undefined) return `status ${res.status} with a body that is not a JSON object: ${JSON.stringify(res.body.toString('latin1').slice(0, 200))}`;
      if (problem.status !== res.status) return `problem status ${String(problem.status)} differs from the status line ${res.status}`;
      for (const field of ['title', 'detail', 'type'] as const) if (typeof problem[field] !== 'string') return `problem without a string ${field}`;
    }
  }
  const expect: Expectation | undefined = req?.expect;
  if (expect === undefined) return undefined;
  if (!expect.statuses.includes(res.status)) return `status ${res.status} (${String(problem?.code)}), expected ${expect.statuses.join(' or ')}`;
  if (res.status >= 400 && !isHead && expect.codes !== undefined && !expect.codes.includes(String(problem?.code))) {
    return `code ${String(problem?.code)}, expected ${expect.codes.join(' or ')} (${String(problem?.detail)})`;
  }
  if (expect.field !== undefined && !isHead) {
    const fields = (problem?.violations ?? []).map((v) => String(v.field));
    if (!fields.includes(expect.field)) return `violations name ${JSON.stringify(fields)}, expected ${expect.field}`;
  }
  if (expect.allow !== undefined) {
    const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    if (!sameSet(allow, expect.allow)) return `Allow: ${allow.join(', ')}, expected ${expect.allow.join(', ')}`;
  }
  return undefined;
}

/** A short name for what happened to a request, for the summary table. */
export function outcomeLabel(req: WireRequest | undefined, res: RawResponse | undefined, ex: RawExchange): string {
  if (res !== undefined) {
    if (req?.method === 'HEAD') return `${res.status} (HEAD, no body)`;
    if (res.status >= 400) return `${res.status} ${String(problemOf(res)?.code)}`;
    return String(res.status);
  }
  if (ex.socketError !== undefined) return `connection error ${ex.socketError}`;
  return ex.closedByServer ? 'closed by the server, no answer' : 'no answer, connection left open';
}
