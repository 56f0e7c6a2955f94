import { describe, expect, it } from 'vitest';
import type { EngineError } from '../../src/errors.js';
import { errorOf as errorOfCall } from '../support/error-of.js';
import { MAX_IDEMPOTENCY_KEY_LENGTH, parseIdempotencyKey } from '../../src/http/order-routes.js';

const errorOf = (raw: string): EngineError => errorOfCall(() => parseIdempotencyKey(raw));

describe('parseIdempotencyKey (POST /api/orders/generate)', () => {
  it.each(['gen-1764302400000', ' spaced-key ', 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH), 'clé-ünïcode-東京', '550e8400-e29b-41d4-a716-446655440000'])('accepts %j (trimmed)', (key) => {
    expect(parseIdempotencyKey(key)).toBe(key.trim());
  });

  it.each(['', '   '])('a missing or blank key %j is ORD_ERR_MISSING_IDEMPOTENCY_KEY', (key) => {
    expect(errorOf(key).code).toBe('ORD_ERR_MISSING_IDEMPOTENCY_KEY');
  });

  // Regression: a long key that does not compress under the btree row limit (~2.7 KB)
  // failed in the primary key's index, a 500 from Postgres.
  it.each<[string, string]>([
    ['a key longer than 255 characters', 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)],
    ['a key of 3000 characters', 'k'.repeat(3000)],
    ['a NUL', 'key\u0000x'],
    ['a control character', 'key\u0001x'],
    ['DEL', 'key\u007f'],
    ['bytes that were not UTF-8 (U+FFFD from uWS)', 'key\ufffd'],
  ])('refuses %s with a 400 naming the header', (_, key) => {
    const err = errorOf(key);
    expect(err).toMatchObject({ code: 'ORD_ERR_BAD_PARAMETER', status: 400 });
    expect(err.violations?.map((v) => v.field)).toEqual(['Idempotency-Key']);
  });
});
