// POST /api/orders/generate: builds random orders in the background and saves them
// through the normal path (catalog check, Postgres, outbox) in batches of 100. The
// Idempotency-Key is recorded first; a repeated key starts nothing.
import type pg from 'pg';
import { dbError } from '../db/pool.js';
import type { OrderRequest } from '../domain/order.js';
import type { Logger } from '../logger.js';
import type { OrderService } from './order-service.js';

const GENERATE_BATCH = 100;

/** The products seeded into the built-in catalog (src/db/migrations/001_orders.sql). */
export const SAMPLE_PRODUCT_CODES: readonly string[] = Array.from({ length: 100 }, (_, i) => `P${String(i + 1).padStart(3, '0')}`);

export class OrderGenerator {
  readonly #pool: pg.Pool;
  readonly #orders: OrderService;
  readonly #log: Logger;
  readonly #running = new Set<Promise<void>>();
  readonly #productCodes: readonly string[];

  constructor(pool: pg.Pool, orders: OrderService, log: Logger, productCodes: readonly string[]) {
    this.#pool = pool;
    this.#orders = orders;
    this.#log = log;
    this.#productCodes = productCodes;
  }

  /** Records the key; returns whether a new generation started. */
  async start(key: string, batchSize: number): Promise<boolean> {
    let inserted: number;
    try {
      const res = await this.#pool.query(
        'insert into generate_requests (idempotency_key, batch_size) values ($1, $2) on conflict do nothing',
        [key, batchSize],
      );
      inserted = res.rowCount ?? 0;
    } catch (err) {
      throw dbError(err, 'record idempotency key');
    }
    if (inserted === 0) {
      this.#log.info({ key }, 'generate: repeated Idempotency-Key, nothing to do');
      return false;
    }
    const job = this.#generate(key, batchSize).finally(() => this.#running.delete(job));
    this.#running.add(job);
    return true;
  }

  /** Waits for generations in flight (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  async #generate(key: string, total: number): Promise<void> {
    const started = Date.now();
    let saved = 0;
    let failed = 0;
    for (let done = 0; done < total; done += GENERATE_BATCH) {
      const n = Math.min(GENERATE_BATCH, total - done);
      const results = await Promise.allSettled(Array.from({ length: n }, () => this.#orders.create(this.randomOrder())));
      for (const r of results) if (r.status === 'fulfilled') saved++; else failed++;
      this.#log.info({ key, saved, failed, total }, 'generate: progress');
    }
    this.#log.info({ key, saved, failed, ms: Date.now() - started }, 'generate: done');
  }

  /** Customer 1..100, two distinct products, quantity 1..5, price 100 × quantity (spec). */
  randomOrder(): OrderRequest {
    const pick = (): string => this.#productCodes[Math.floor(Math.random() * this.#productCodes.length)]!;
    const first = pick();
    let second = pick();
    while (second === first && this.#productCodes.length > 1) second = pick();
    const item = (productCode: string): OrderRequest['items'][number] => {
      const quantity = 1 + Math.floor(Math.random() * 5);
      return { productCode, quantity, priceCents: 100 * quantity * 100 };
    };
    return {
      customerId: 1 + Math.floor(Math.random() * 100),
      items: [item(first), item(second)],
      deliveryAddress: { addressLine1: '1 Generated Street', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    };
  }
}
