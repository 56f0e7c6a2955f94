// The saga decision (spec "The saga decision"): what the join of a payment answer P
// and a stock answer S for the same order turns into. It starts from S, as the
// original's join does, so every field other than status and source comes from the
// stock record. Pure: the stream task calls it for each joined pair.
import type { OrderDto } from './order-dto.js';

/** P=ACCEPT & S=ACCEPT → CONFIRMED; both REJECT → REJECTED; one REJECT → ROLLBACK; else S. */
export function decide(payment: OrderDto, stock: OrderDto): OrderDto {
  const p = payment.status;
  const s = stock.status;
  if (p === 'ACCEPT' && s === 'ACCEPT') return { ...stock, status: 'CONFIRMED', source: null };
  if (p === 'REJECT' && s === 'REJECT') return { ...stock, status: 'REJECTED', source: stock.source };
  // The source names who rejected, so the other side knows to release its reservation.
  if (p === 'REJECT' || s === 'REJECT') return { ...stock, status: 'ROLLBACK', source: p === 'REJECT' ? 'PAYMENT' : 'INVENTORY' };
  return stock;
}
