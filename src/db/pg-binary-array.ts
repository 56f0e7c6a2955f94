// Postgres arrays in the binary format of array_recv, for the group commit's columns.
// pg sends a Buffer parameter with format code 1 (binary), and the server reads it with
// the receive function of the type the statement casts it to ($1::bigint[]), so these
// must match the casts in order-repository.ts.
//
// Why not text literals ('{"a","b \"c\""}'): building them took the HTTP thread
// string concatenation, an escape scan of every element (an order's event JSON is full
// of quotes) and then pg's UTF-8 length and copy of the whole literal; Postgres then
// parsed the literal character by character, and each element again by its type's
// input function (timestamptz_in is a date parser). Binary, each element is written
// once, in place, and read back as it is.
//
// Layout (src/backend/utils/adt/arrayfuncs.c, array_recv): int32 number of dimensions,
// int32 has-nulls flag, uint32 element type OID; per dimension int32 length and int32
// lower bound; per element int32 byte length (-1: NULL) and the element in its
// type's binary form. All integers big-endian.
import type { Id64 } from '../domain/id64.js';

/** Element type OIDs (pg_type), checked by array_recv against the cast's element type. */
const OID_INT8 = 20;
const OID_INT4 = 23;
const OID_TEXT = 25;
const OID_TIMESTAMPTZ = 1184;

/** Header of a one-dimensional array of n elements (an empty array has no dimensions). */
const headerBytes = (n: number): number => (n === 0 ? 12 : 20);

function writeHeader(buf: Buffer, n: number, hasNull: boolean, oid: number): number {
  buf.writeInt32BE(n === 0 ? 0 : 1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeUInt32BE(oid, 8);
  if (n === 0) return 12;
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  return 20;
}

const TWO_32 = 2 ** 32;

/** A non-negative safe integer, or any bigint, as int64 at `at`. */
function writeInt64(buf: Buffer, value: number | bigint, at: number): void {
  if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    buf.writeUInt32BE(Math.floor(value / TWO_32), at);
    buf.writeUInt32BE(value >>> 0, at + 4);
  } else {
    buf.writeBigInt64BE(BigInt(value), at);
  }
}

/** An array of one fixed-width type: each element its length, then `write`'s bytes. */
function fixedWidthArray<T>(values: readonly T[], oid: number, width: number, write: (buf: Buffer, value: T, at: number) => void): Buffer {
  const n = values.length;
  const buf = Buffer.allocUnsafe(headerBytes(n) + n * (4 + width));
  let at = writeHeader(buf, n, false, oid);
  for (let i = 0; i < n; i++) {
    buf.writeInt32BE(width, at);
    write(buf, values[i]!, at + 4);
    at += 4 + width;
  }
  return buf;
}

/** bigint[]: ids (canonical Id64, numbers or bigints up to 2^63-1). */
export function int8Array(values: readonly Id64[]): Buffer {
  return fixedWidthArray(values, OID_INT8, 8, writeInt64);
}

/** integer[]: 32-bit integers (quantities). */
export function int4Array(values: readonly number[]): Buffer {
  return fixedWidthArray(values, OID_INT4, 4, (buf, value, at) => buf.writeInt32BE(value, at));
}

/** Microseconds from the Unix epoch to Postgres' (2000-01-01T00:00:00Z), in ms. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** An instant as Postgres' timestamptz: microseconds since 2000-01-01 UTC. */
function writeTimestamptz(buf: Buffer, date: Date, at: number): void {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('timestamptzArray: an invalid Date');
  // A safe integer for any Date (|ms| <= 8.64e15, so |µs| < 2^63); negative before 2000.
  const micros = (ms - PG_EPOCH_MS) * 1000;
  if (micros >= 0) writeInt64(buf, micros, at);
  else buf.writeBigInt64BE(BigInt(micros), at);
}

/** timestamptz[]: instants (Date; millisecond precision, as Date has). */
export function timestamptzArray(values: readonly Date[]): Buffer {
  return fixedWidthArray(values, OID_TIMESTAMPTZ, 8, writeTimestamptz);
}

// Up to this many UTF-16 units, a string is copied byte by byte when it is ASCII: most
// columns are a few characters (a status, a zip code, a key), and buf.write's call into
// C++ costs more than the copy.
const SHORT = 32;

/** Writes an ASCII string at `at` and returns its length; anything else through buf.write. */
function writeShort(buf: Buffer, v: string, at: number): number {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x80) return buf.write(v, at);
    buf[at + i] = c;
  }
  return v.length;
}

/** text[]: strings as UTF-8, null as NULL. No escaping: each element is length-prefixed. */
export function textArray(values: readonly (string | null)[]): Buffer {
  const n = values.length;
  // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2), so the
  // worst case is known without measuring each string first; the unused tail is cut.
  let bound = headerBytes(n) + n * 4;
  let hasNull = false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v === null) hasNull = true;
    else bound += v.length * 3;
  }
  const buf = Buffer.allocUnsafe(bound);
  let at = writeHeader(buf, n, hasNull, OID_TEXT);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v === null) {
      buf.writeInt32BE(-1, at);
      at += 4;
    } else {
      const bytes = v.length <= SHORT ? writeShort(buf, v, at + 4) : buf.write(v, at + 4);
      buf.writeInt32BE(bytes, at);
      at += 4 + bytes;
    }
  }
  return buf.subarray(0, at);
}
