// The binary array parameters of the group commit (src/db/pg-binary-array.ts), read by
// Postgres itself: each array is sent as a binary parameter, cast as the insert casts
// it, and returned as text by the server, so what Postgres understood is compared with
// what was meant.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { int4Array, int8Array, textArray, timestamptzArray } from '../../src/db/pg-binary-array.js';
import { MAX_ID64 } from '../../src/domain/id64.js';
import { TEST_DATABASE_URL } from '../support/env.js';

const client = new pg.Client({ connectionString: TEST_DATABASE_URL });

beforeAll(async () => {
  await client.connect();
  await client.query("set timezone = 'UTC'");
});
afterAll(async () => {
  await client.end();
});

/** Each element as Postgres prints it (text), in order. */
async function elements(param: Buffer, cast: string): Promise<(string | null)[]> {
  const res = await client.query<{ v: string | null }>(`select x::text as v from unnest($1::${cast}) with ordinality as t (x, n) order by n`, [param]);
  return res.rows.map((r) => r.v);
}

it('reads bigint[] exactly past 2^53 and up to 2^63-1', async () => {
  const ids = [0, 42, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n + 1n, MAX_ID64];
  expect(await elements(int8Array(ids), 'bigint[]')).toEqual(ids.map(String));
});

it('reads integer[]', async () => {
  expect(await elements(int4Array([1, 2_147_483_647, -5]), 'integer[]')).toEqual(['1', '2147483647', '-5']);
});

it('reads text[] byte for byte: quotes, backslashes, braces, commas, NULL as a word and as a value, non-ASCII', async () => {
  const values = ['', 'NULL', null, '{"orderId":1,"s":"a \\"b\\""}', 'C:\\dir', '{x,y}', 'Zürich 東京 😀', ' padded '];
  expect(await elements(textArray(values), 'text[]')).toEqual(values);
});

it('reads timestamptz[] to the millisecond, before and after 2000', async () => {
  const dates = [new Date('2026-11-28T10:20:30.123Z'), new Date('1999-12-31T23:59:59.999Z'), new Date('2000-01-01T00:00:00.000Z')];
  expect(await elements(timestamptzArray(dates), 'timestamptz[]')).toEqual(['2026-11-28 10:20:30.123+00', '1999-12-31 23:59:59.999+00', '2000-01-01 00:00:00+00']);
});

it('reads empty arrays of every type', async () => {
  for (const [param, cast] of [[int8Array([]), 'bigint[]'], [int4Array([]), 'integer[]'], [textArray([]), 'text[]'], [timestamptzArray([]), 'timestamptz[]']] as const) {
    expect(await elements(param, cast)).toEqual([]);
  }
});

it('refuses an array whose element type is not the cast one', async () => {
  await expect(client.query('select $1::integer[] as v', [int8Array([1])])).rejects.toThrow(/element type 20 \(bigint\) instead of expected 23/);
});
