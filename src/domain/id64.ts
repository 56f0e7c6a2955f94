// Order, customer and item ids as the original has them: Java longs. Its order ids are
// 64-bit TSIDs (about 9.1e17), past what a JS number holds exactly (2^53), while ours
// (ids.ts) and most others fit. So an id is a `number` while it is a safe integer and a
// `bigint` only beyond, never both for one value: `===`, Map and Set keys and template
// literals (the JSON writers) work unchanged, our own ids cost nothing extra, and the
// compiler refuses arithmetic on an id that could be either. Every reader of an id
// from text (JSON, a Kafka key, a path, Postgres int8) returns this canonical form.

import type { Ajv, ErrorObject } from 'ajv';

export type Id64 = number | bigint;

/** Long.MAX_VALUE: the largest id the original can have. */
export const MAX_ID64 = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const DECIMAL = /^(?:0|[1-9]\d{0,18})$/;

/** The canonical id of an integer value: a number when exact, else the bigint. */
export function canonicalId(value: bigint): Id64 {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
}

/**
 * An id written in plain decimal (no sign, no leading zeros, no exponent), in
 * `minimum`..2^63-1; undefined for anything else.
 */
export function parseId64(text: string, minimum = 0): Id64 | undefined {
  if (!DECIMAL.test(text)) return undefined;
  // 15 digits are always below 2^53: no bigint on the common path.
  const id = text.length <= 15 ? Number(text) : canonicalId(BigInt(text));
  return id > MAX_ID64 || id < minimum ? undefined : id;
}

/** True for a canonical id in `minimum`..2^63-1. */
export function isId64(value: unknown, minimum = 0): value is Id64 {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= minimum;
  return typeof value === 'bigint' && value > MAX_SAFE && value <= MAX_ID64;
}

/** Numeric order, for sorts (ids of either form compare exactly with < and >). */
export function compareIds(a: Id64, b: Id64): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A schema for an id (ajv keyword `id64`, see addId64Keyword): what parseJsonLossless made of a long. */
export const id64Schema = (minimum: number): { id64: number } => ({ id64: minimum });

/**
 * Teaches `ajv` the keyword `id64: minimum`: a canonical id from parseJsonLossless, in
 * minimum..2^63-1. `type: 'integer'` cannot say this: a bigint is not a JSON integer to
 * ajv. Its errors read as ajv's own type, minimum and maximum errors, so a client is
 * told what it was told before ids grew to 64 bits.
 */
export function addId64Keyword(ajv: Ajv): void {
  // ajv reads `errors` only after a false: the valid path (every record) allocates nothing.
  const validate: ((minimum: number, data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] } = (minimum, data) => {
    if (isId64(data, minimum)) return true;
    validate.errors = [id64Error(minimum, data)];
    return false;
  };
  ajv.addKeyword({ keyword: 'id64', schemaType: 'number', errors: true, validate });
}

function id64Error(minimum: number, data: unknown): Partial<ErrorObject> {
  const integer = typeof data === 'bigint' || (typeof data === 'number' && Number.isInteger(data));
  if (!integer) return { keyword: 'type', message: 'must be integer', params: { type: 'integer' } };
  if ((data) < minimum) return { keyword: 'minimum', message: `must be >= ${minimum}`, params: { comparison: '>=', limit: minimum } };
  if ((data) > MAX_ID64) return { keyword: 'maximum', message: `must be <= ${MAX_ID64}`, params: { comparison: '<=', limit: String(MAX_ID64) } };
  // A double past 2^53: only an exponent form gets here (a plain literal is a bigint), and it may be rounded.
  return { keyword: 'id64', message: 'must be an integer written out in full past 2^53, not in exponent form', params: {} };
}
