// Kafka's default partitioner for keyed records: toPositive(murmur2(utf8(key))) % n,
// byte for byte what the Java client's BuiltInPartitioner and librdkafka's
// murmur2_random give, so the same order id lands on the same partition number in
// every co-partitioned topic whoever produced it. This is the pure-JS version; a
// native twin (src/native) computes the same, and bench/partitioner.bench.ts decides
// which one routes: the JS version wins for order-id-sized keys (the N-API call and
// string conversion cost more than the hash), so partitionFor is this one.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 over bytes, as a signed 32-bit int (Java's Utils.murmur2). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail, folded from its last byte down (Java's switch with fall-through).
  const rest = length & 3;
  if (rest === 3) h ^= data[blocks + 2]! << 16;
  if (rest >= 2) h ^= data[blocks + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[blocks]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** murmur2 of a string's UTF-8 bytes; ASCII keys (order ids) skip the encoder. */
export function murmur2String(key: string): number {
  const length = key.length;
  let ascii = true;
  for (let i = 0; i < length; i++) {
    if (key.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return murmur2(Buffer.from(key, 'utf8'));
  let h = (SEED ^ length) | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= key.charCodeAt(blocks + 2) << 16;
  if (rest >= 2) h ^= key.charCodeAt(blocks + 1) << 8;
  if (rest >= 1) h = Math.imul(h ^ key.charCodeAt(blocks), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner gives a string key. */
export function partitionFor(key: string, numPartitions: number): number {
  return (murmur2String(key) & 0x7fffffff) % numPartitions;
}
