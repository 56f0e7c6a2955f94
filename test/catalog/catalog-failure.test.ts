// How a failed catalog call is classified: whether it may be retried, whether it counts
// toward opening the breaker, and the 503 the client gets.
import { describe, expect, it } from 'vitest';
import { BREAKER_OPEN, BREAKER_TIMEOUT, BULKHEAD_FULL, CatalogCallError, catalogUnavailable, countsAgainstService, isRetriable } from '../../src/catalog/catalog-failure.js';
import { EngineError } from '../../src/errors.js';

const status = (s: number): CatalogCallError => new CatalogCallError('status', `HTTP ${s}`, { status: s });
const opossum = (code: string): Error => Object.assign(new Error(code), { code });

describe('catalog failures', () => {
  it.each<[string, unknown, boolean, boolean, string]>([
    // what                    error                                   retry  counts  the client's detail
    ['HTTP 400', status(400), false, false, 'the catalog service refused the check (HTTP 400)'],
    ['HTTP 404', status(404), false, false, 'the catalog service refused the check (HTTP 404)'],
    ['HTTP 409', status(409), false, false, 'the catalog service refused the check (HTTP 409)'],
    ['HTTP 429', status(429), true, true, 'the catalog service is limiting our calls (HTTP 429); retry shortly'],
    ['HTTP 500', status(500), true, true, 'the catalog service failed (HTTP 500)'],
    ['HTTP 503', status(503), true, true, 'the catalog service failed (HTTP 503)'],
    ['a network error', new CatalogCallError('network', 'ECONNREFUSED'), true, true, 'the catalog service could not be reached: ECONNREFUSED'],
    ['a timed-out request', new CatalogCallError('timeout', 'no answer in time'), true, true, 'the catalog service did not answer in time'],
    ['an unreadable answer', new CatalogCallError('bad-answer', 'the answer is not JSON'), false, true, 'the catalog service gave an answer that cannot be read: the answer is not JSON'],
    ["opossum's timeout", opossum(BREAKER_TIMEOUT), true, true, 'the catalog service did not answer in time'],
    ['an open breaker', opossum(BREAKER_OPEN), false, true, 'the catalog service is unavailable (circuit open); retry shortly'],
    ['a full bulkhead', opossum(BULKHEAD_FULL), false, false, 'too many catalog calls in flight; retry shortly'],
    ['a bug', new TypeError('x is not a function'), false, true, 'the catalog check failed unexpectedly'],
  ])('%s: retriable %s, counts against the service %s', (_, err, retriable, counts, detail) => {
    expect(isRetriable(err)).toBe(retriable);
    expect(countsAgainstService(err)).toBe(counts);
    const problem = catalogUnavailable(err);
    expect(problem).toBeInstanceOf(EngineError);
    expect(problem).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', status: 503, recovery: 'retry', message: detail });
    expect(problem.cause).toBe(err);
  });
});
