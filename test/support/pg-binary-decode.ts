// Reads a one-dimensional array in array_recv's binary format back into JS values, so
// unit tests can check src/db/pg-binary-array.ts byte for byte without a server
// (test/integration/pg-binary-array.test.ts checks it against Postgres itself).
import { canonicalId, type Id64 } from '../../src/domain/id64.js';

export interface DecodedArray {
  readonly oid: number;
  readonly hasNull: boolean;
  readonly values: readonly (Id64 | number | string | Date | null)[];
}

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

export function decodeBinaryArray(buf: Buffer): DecodedArray {
  const ndim = buf.readInt32BE(0);
  const hasNull = buf.readInt32BE(4) === 1;
  const oid = buf.readUInt32BE(8);
  if (ndim === 0) {
    if (buf.length !== 12) throw new Error(`an empty array is 12 bytes, got ${buf.length}`);
    return { oid, hasNull, values: [] };
  }
  if (ndim !== 1) throw new Error(`expected one dimension, got ${ndim}`);
  const n = buf.readInt32BE(12);
  if (buf.readInt32BE(16) !== 1) throw new Error('lower bound is not 1');
  let at = 20;
  const values: (Id64 | number | string | Date | null)[] = [];
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len === -1) {
      values.push(null);
      continue;
    }
    const bytes = buf.subarray(at, at + len);
    at += len;
    if (oid === 20) values.push(canonicalId(bytes.readBigInt64BE(0)));
    else if (oid === 23) values.push(bytes.readInt32BE(0));
    else if (oid === 25) values.push(bytes.toString('utf8'));
    else if (oid === 1184) values.push(new Date(PG_EPOCH_MS + Number(bytes.readBigInt64BE(0)) / 1000));
    else throw new Error(`no decoder for element type ${oid}`);
  }
  if (at !== buf.length) throw new Error(`${buf.length - at} bytes past the last element`);
  return { oid, hasNull, values };
}
