// The payment service's books: each customer's available balance and the funds
// reserved per order, in integer cents. NEW reserves the order total, CONFIRMED
// charges it (the reservation leaves the account), a ROLLBACK caused by inventory
// gives it back. Pure and in memory: a simulator, seeded generously and topped up
// when a customer runs short, so that only the configured share is ever rejected.
import { LRUCache } from 'lru-cache';
import { toCents } from '../domain/money.js';
import type { OrderDto } from '../domain/order-dto.js';
import { SimulatedService, type Ledger } from './simulated-service.js';
import type { Id64 } from '../domain/id64.js';

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
  readonly customerId: Id64;
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
  // Bounded by lru-cache: the least recently active customer goes first. Reads that
  // are not activity (balanceOf, a settlement) peek, so they do not reorder.
  readonly #accounts: LRUCache<Id64, { available: number; reserved: number }>;
  // Reservations are never read before they are settled, so least recently used is
  // oldest first; an evicted one gives its funds back.
  readonly #reservations: LRUCache<Id64, Reservation>;

  constructor(options: Partial<FundsLedgerOptions> = {}) {
    this.#options = { ...defaults, ...options };
    this.#accounts = new LRUCache({ max: this.#options.maxAccounts });
    this.#reservations = new LRUCache({
      max: this.#options.maxReservations,
      dispose: (reservation, _orderId, reason) => {
        if (reason === 'evict') this.#giveBack(reservation, true);
      },
    });
  }

  balanceOf(customerId: Id64): Balance | undefined {
    const account = this.#accounts.peek(customerId);
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
    this.#reservations.set(order.orderId, { customerId: order.customerId, amountCents: total });
    return true;
  }

  commit(orderId: Id64): boolean {
    return this.#settle(orderId, false);
  }

  release(orderId: Id64): boolean {
    return this.#settle(orderId, true);
  }

  #settle(orderId: Id64, giveBack: boolean): boolean {
    const reservation = this.#reservations.peek(orderId);
    if (reservation === undefined) return false;
    this.#reservations.delete(orderId);
    this.#giveBack(reservation, giveBack);
    return true;
  }

  /** Ends a reservation: it leaves the account, and its funds return if `giveBack`. */
  #giveBack(reservation: Reservation, giveBack: boolean): void {
    // The account may have been forgotten since; then there is nothing left to adjust.
    const account = this.#accounts.peek(reservation.customerId);
    if (account === undefined) return;
    account.reserved -= reservation.amountCents;
    if (giveBack) account.available += reservation.amountCents;
  }

  /** The customer's account, created with the seed balance, made the most recently used. */
  #account(customerId: Id64): { available: number; reserved: number } {
    let account = this.#accounts.get(customerId);
    if (account === undefined) {
      account = { available: this.#options.seedBalanceCents, reserved: 0 };
      this.#accounts.set(customerId, account);
    }
    return account;
  }
}

/** Salt of the payment side's reject share (independent of inventory's). */
export const PAYMENT_SALT = 'payment-service:';

/** The payment participant: answers on payment-orders with source PAYMENT. */
export function paymentService(rejectRate: number, ledger: Ledger = new FundsLedger(), recentIds?: number): SimulatedService {
  return new SimulatedService(ledger, { source: 'PAYMENT', releaseOn: 'INVENTORY', rejectRate, salt: PAYMENT_SALT, ...(recentIds === undefined ? {} : { recentIds }) });
}
