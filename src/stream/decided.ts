// Whether an orders-store value is a decided order (CONFIRMED, REJECTED or ROLLBACK):
// a cheap look at its status field, without parsing the whole OrderDto.
const STATUS = /"status"\s*:\s*"([A-Z_]+)"/;
const DECIDED: ReadonlySet<string> = new Set(['CONFIRMED', 'REJECTED', 'ROLLBACK']);
const decoder = new TextDecoder();

export function isDecided(orderDto: Uint8Array): boolean {
  const m = STATUS.exec(decoder.decode(orderDto));
  return m !== null && DECIDED.has(m[1]!);
}
