// The payment service's books: each customer's available balance and the funds
// reserved per order, in integer cents. NEW reserves the order total, CONFIRMED
// charges it (the reservation leaves the account), a ROLLBACK caused by inventory
// gives it back. Pure and in memory: a simulator, seeded generously and topped up
// when a customer runs short, so that only the configured share is ever rejected.
import { toCents } from '../domain/money.js';
import type { OrderDto } from '../domain/order-dto.js';
import { touchLru } from './lru.js';
import { SimulatedService, type Ledger } from './simulated-service.js';

export interface Balance {
  readonly available: number;
  readonly reserved: number;
}

export interface FundsLedgerOptions {
  /** What a customer seen for the first time holds, and what a top-up leaves over the order. */
  readonly seedBalanceCents: number;
  /** Least recently active customers beyond this are forgotten (and re-seeded if they return). */
  readonly maxAccounts: number;
  /**
   * Reservations beyond this are expired oldest first and given back: an order the
   * saga never decided (its answers fell outside the join window, or no stream task
   * runs) must not hold memory and funds forever.
   */
  readonly maxReservations: number;
}

interface Reservation {
  readonly customerId: number;
  readonly amountCents: number;
}

const defaults: FundsLedgerOptions = { seedBalanceCents: 100_000_00, maxAccounts: 1_000_000, maxReservations: 200_000 };

/** The order total in cents: Σ quantity × unit price. */
export function orderTotalCents(order: OrderDto): number {
  let total = 0;
  for (const item of order.items) total += item.quantity * toCents(item.productPrice);
  return total;
}

export class FundsLedger implements Ledger {
  readonly #options: FundsLedgerOptions;
  // Maps keep insertion order: the first key is the least recently touched / oldest.
  readonly #accounts = new Map<number, { available: number; reserved: number }>();
  readonly #reservations = new Map<number, Reservation>();

  constructor(options: Partial<FundsLedgerOptions> = {}) {
    this.#options = { ...defaults, ...options };
  }

  balanceOf(customerId: number): Balance | undefined {
    const account = this.#accounts.get(customerId);
    return account === undefined ? undefined : { ...account };
  }

  get reservations(): number {
    return this.#reservations.size;
  }

  replenish(order: OrderDto): boolean {
    const account = this.#account(order.customerId);
    const total = orderTotalCents(order);
    if (account.available >= total) return false;
    account.available = total + this.#options.seedBalanceCents;
    return true;
  }

  reserve(order: OrderDto): boolean {
    if (this.#reservations.has(order.orderId)) return true;
    const account = this.#account(order.customerId);
    const total = orderTotalCents(order);
    if (account.available < total) return false;
    account.available -= total;
    account.reserved += total;
    if (this.#reservations.size >= this.#options.maxReservations) {
      const [oldest] = this.#reservations.keys();
      if (oldest !== undefined) this.release(oldest);
    }
    this.#reservations.set(order.orderId, { customerId: order.customerId, amountCents: total });
    return true;
  }

  commit(orderId: number): boolean {
    return this.#settle(orderId, false);
  }

  release(orderId: number): boolean {
    return this.#settle(orderId, true);
  }

  #settle(orderId: number, giveBack: boolean): boolean {
    const reservation = this.#reservations.get(orderId);
    if (reservation === undefined) return false;
    this.#reservations.delete(orderId);
    // The account may have been forgotten since; then there is nothing left to adjust.
    const account = this.#accounts.get(reservation.customerId);
    if (account !== undefined) {
      account.reserved -= reservation.amountCents;
      if (giveBack) account.available += reservation.amountCents;
    }
    return true;
  }

  /** The customer's account, created with the seed balance, moved to most recently used. */
  #account(customerId: number): { available: number; reserved: number } {
    return touchLru(this.#accounts, customerId, this.#options.maxAccounts, () => ({ available: this.#options.seedBalanceCents, reserved: 0 }));
  }
}

/** Salt of the payment side's reject share (independent of inventory's). */
export const PAYMENT_SALT = 'payment-service:';

/** The payment participant: answers on payment-orders with source PAYMENT. */
export function paymentService(rejectRate: number, ledger: Ledger = new FundsLedger(), recentIds?: number): SimulatedService {
  return new SimulatedService(ledger, { source: 'PAYMENT', releaseOn: 'INVENTORY', rejectRate, salt: PAYMENT_SALT, ...(recentIds === undefined ? {} : { recentIds }) });
}
