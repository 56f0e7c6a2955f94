// An open-loop load of POST /api/orders: orders are due at a fixed rate whatever
// happens to the earlier ones, as independent clients would send them, so a stalled
// or dead service does not slow the load down and hide its own stall (coordinated
// omission). Keep-alive connections; every order answered 201 is kept with the
// moment it was due, every other answer is counted by status, every failed request
// (refused connection, reset, timeout) by its error code.
import { Agent, request } from 'node:http';
import { rng } from './rng.js';

export interface AcceptedOrder {
  readonly id: string;
  /** Where it was POSTed. */
  readonly baseUrl: string;
  /** performance.now() when the order was due (and sent, within a few ms). */
  readonly sentAt: number;
  readonly answeredAt: number;
}

export interface OrderLoadOptions {
  /** Where to POST; a function is asked for each order (several instances behind one load: it picks). */
  readonly baseUrl: string | (() => string | undefined);
  readonly ratePerS: number;
  /** Seeds the order contents (customers, products, quantities). */
  readonly seed: number;
  /** Requests on the wire at once; more wait in the agent's queue (default 64). */
  readonly maxSockets?: number;
  /** A request without an answer after this long counts as failed (default 15 s). */
  readonly timeoutMs?: number;
}

const TICK_MS = 5;

export class OrderLoad {
  readonly accepted: AcceptedOrder[] = [];
  /** Non-201 answers by HTTP status. */
  readonly refused: Record<string, number> = {};
  /** Requests that got no HTTP answer, by error code. */
  readonly failed: Record<string, number> = {};
  readonly #options: OrderLoadOptions;
  readonly #agent: Agent;
  readonly #random: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #sent = 0;

  constructor(options: OrderLoadOptions) {
    this.#options = options;
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
    this.#random = rng(options.seed);
  }

  get sent(): number {
    return this.#sent;
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops sending and waits for every request in flight to be answered or to fail. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#agent.destroy();
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#startedAt) * this.#options.ratePerS) / 1000);
    while (this.#sent < due) {
      const dueAt = this.#startedAt + (this.#sent * 1000) / this.#options.ratePerS;
      this.#sent++;
      const p = this.#post(dueAt).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  #body(): string {
    const r = this.#random;
    return JSON.stringify({
      customerId: 1 + Math.floor(r() * 1000),
      items: [
        { productCode: `P00${1 + Math.floor(r() * 9)}`, quantity: 1 + Math.floor(r() * 5), productPrice: 100 },
        { productCode: `P0${10 + Math.floor(r() * 90)}`, quantity: 1, productPrice: 250.5 },
      ],
      deliveryAddress: { addressLine1: '1 Fault Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    });
  }

  async #post(sentAt: number): Promise<void> {
    const body = this.#body();
    const base = this.#options.baseUrl;
    const baseUrl = typeof base === 'string' ? base : base();
    if (baseUrl === undefined) {
      this.failed['NO_TARGET'] = (this.failed['NO_TARGET'] ?? 0) + 1;
      return;
    }
    try {
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          `${baseUrl}/api/orders`,
          { method: 'POST', agent: this.#agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.setTimeout(this.#options.timeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })));
        req.on('error', reject);
        req.end(body);
      });
      if (status === 201) {
        const id = (JSON.parse(text) as { orderId?: unknown }).orderId;
        if (typeof id !== 'number') throw Object.assign(new Error(`201 without an orderId: ${text}`), { code: 'BAD_201' });
        this.accepted.push({ id: String(id), baseUrl, sentAt, answeredAt: performance.now() });
      } else {
        this.refused[status] = (this.refused[status] ?? 0) + 1;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.failed[code] = (this.failed[code] ?? 0) + 1;
    }
  }
}
