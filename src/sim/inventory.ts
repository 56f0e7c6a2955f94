// The inventory service's books: each product's available quantity and the units
// reserved per order. NEW reserves every item (all or nothing), CONFIRMED commits
// the reservation (the goods ship), a ROLLBACK caused by payment puts them back.
// Pure and in memory: a simulator, seeded generously and restocked when a product
// runs short, so that only the configured share is ever rejected.
import { LRUCache } from 'lru-cache';
import type { OrderDto } from '../domain/order-dto.js';
import { SimulatedService, type Ledger } from './simulated-service.js';
import type { Id64 } from '../domain/id64.js';

export interface StockLevel {
  readonly available: number;
  readonly reserved: number;
}

export interface StockLedgerOptions {
  /** Units of a product seen for the first time, and what a restock leaves over the order. */
  readonly seedStock: number;
  /** Least recently ordered products beyond this are forgotten (and re-seeded if they return). */
  readonly maxProducts: number;
  /** Reservations beyond this are expired oldest first and put back (see FundsLedgerOptions). */
  readonly maxReservations: number;
}

type Lines = ReadonlyMap<string, number>;

const defaults: StockLedgerOptions = { seedStock: 10_000, maxProducts: 100_000, maxReservations: 200_000 };

/** Units wanted per product; a product listed twice counts twice. */
export function unitsPerProduct(order: OrderDto): Lines {
  const lines = new Map<string, number>();
  for (const item of order.items) lines.set(item.productId, (lines.get(item.productId) ?? 0) + item.quantity);
  return lines;
}

export class StockLedger implements Ledger {
  readonly #options: StockLedgerOptions;
  // Bounded by lru-cache, as the payment side's accounts and reservations (payment.ts).
  readonly #products: LRUCache<string, { available: number; reserved: number }>;
  readonly #reservations: LRUCache<Id64, Lines>;

  constructor(options: Partial<StockLedgerOptions> = {}) {
    this.#options = { ...defaults, ...options };
    this.#products = new LRUCache({ max: this.#options.maxProducts });
    this.#reservations = new LRUCache({
      max: this.#options.maxReservations,
      dispose: (lines, _orderId, reason) => {
        if (reason === 'evict') this.#putBack(lines, true);
      },
    });
  }

  stockOf(productId: string): StockLevel | undefined {
    const level = this.#products.peek(productId);
    return level === undefined ? undefined : { ...level };
  }

  get reservations(): number {
    return this.#reservations.size;
  }

  replenish(order: OrderDto): boolean {
    let restocked = false;
    for (const [productId, units] of unitsPerProduct(order)) {
      const level = this.#product(productId);
      if (level.available >= units) continue;
      level.available = units + this.#options.seedStock;
      restocked = true;
    }
    return restocked;
  }

  reserve(order: OrderDto): boolean {
    if (this.#reservations.has(order.orderId)) return true;
    const lines = unitsPerProduct(order);
    for (const [productId, units] of lines) if (this.#product(productId).available < units) return false;
    for (const [productId, units] of lines) {
      const level = this.#product(productId);
      level.available -= units;
      level.reserved += units;
    }
    this.#reservations.set(order.orderId, lines);
    return true;
  }

  commit(orderId: Id64): boolean {
    return this.#settle(orderId, false);
  }

  release(orderId: Id64): boolean {
    return this.#settle(orderId, true);
  }

  #settle(orderId: Id64, putBack: boolean): boolean {
    const lines = this.#reservations.peek(orderId);
    if (lines === undefined) return false;
    this.#reservations.delete(orderId);
    this.#putBack(lines, putBack);
    return true;
  }

  /** Ends a reservation: its units leave the reserved count, and return if `putBack`. */
  #putBack(lines: Lines, putBack: boolean): void {
    for (const [productId, units] of lines) {
      // A product forgotten since has nothing left to adjust.
      const level = this.#products.peek(productId);
      if (level === undefined) continue;
      level.reserved -= units;
      if (putBack) level.available += units;
    }
  }

  /** The product's level, created with the seed stock, made the most recently used. */
  #product(productId: string): { available: number; reserved: number } {
    let level = this.#products.get(productId);
    if (level === undefined) {
      level = { available: this.#options.seedStock, reserved: 0 };
      this.#products.set(productId, level);
    }
    return level;
  }
}

/** Salt of the inventory side's reject share (independent of payment's). */
export const INVENTORY_SALT = 'inventory-service:';

/** The inventory participant: answers on stock-orders with source INVENTORY. */
export function inventoryService(rejectRate: number, ledger: Ledger = new StockLedger(), recentIds?: number): SimulatedService {
  return new SimulatedService(ledger, { source: 'INVENTORY', releaseOn: 'PAYMENT', rejectRate, salt: INVENTORY_SALT, ...(recentIds === undefined ? {} : { recentIds }) });
}
