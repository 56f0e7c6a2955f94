// A seeded pseudo-random sequence (xorshift32) for property-style tests: a failing
// seed reproduces the same operations, keys and values.
export function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}
