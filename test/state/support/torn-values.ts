// The values of the torn-read test: byte b repeated expectedLength(b) times. Lengths
// run from one slot to several, so writes both rewrite chains in place and reallocate.
export const expectedLength = (b: number): number => 1 + (b % 13) * 97;

export const tornTestValue = (counter: number): Uint8Array => {
  const b = counter & 0xff;
  return new Uint8Array(expectedLength(b)).fill(b);
};
