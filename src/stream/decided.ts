// Whether an OrderDto is a decided order (CONFIRMED, REJECTED or ROLLBACK) or a
// creation (NEW): a cheap look at its status field, without parsing the whole DTO.
const STATUS = /"status"\s*:\s*"([A-Z_]+)"/;
const DECIDED: ReadonlySet<string> = new Set(['CONFIRMED', 'REJECTED', 'ROLLBACK']);
const decoder = new TextDecoder();

const statusOf = (orderDto: Uint8Array): string | undefined => STATUS.exec(decoder.decode(orderDto))?.[1];

export function isDecided(orderDto: Uint8Array): boolean {
  const status = statusOf(orderDto);
  return status !== undefined && DECIDED.has(status);
}

/** An order's creation record (status NEW). */
export function isCreation(orderDto: Uint8Array): boolean {
  return statusOf(orderDto) === 'NEW';
}
