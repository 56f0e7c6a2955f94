// What the load benchmarks send: order bodies and the open-loop schedule, shared by
// the single-scenario benches (intake.load.ts, saga.load.ts) and bench:load's drivers.

/** One fixed, valid order (intake: every request the same, so only the service varies). */
export const FIXED_ORDER_BODY = JSON.stringify({
  customerId: 42,
  items: [
    { productCode: 'P001', quantity: 2, productPrice: 100 },
    { productCode: 'P002', quantity: 1, productPrice: 250.5 },
  ],
  deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
});

/** A valid order with random customer, products and quantities (the saga: spread over keys and stock). */
export function randomOrderBody(): string {
  return JSON.stringify({
    customerId: 1 + Math.floor(Math.random() * 100),
    items: [
      { productCode: `P00${1 + Math.floor(Math.random() * 9)}`, quantity: 1 + Math.floor(Math.random() * 5), productPrice: 100 },
      { productCode: `P0${10 + Math.floor(Math.random() * 90)}`, quantity: 1, productPrice: 250.5 },
    ],
    deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
  });
}

/**
 * When each next order is due, shared by every sender of a run: now in a closed loop
 * (rate undefined); at a fixed rate, its slot of the schedule from `started` (waited
 * for), so a slow answer does not push the next send back (open loop, no coordinated
 * omission). Returns the due time, from which latency is measured.
 */
export function schedule(started: number, rate: number | undefined): () => Promise<number> {
  let due = 0;
  return async () => {
    if (rate === undefined) return performance.now();
    const at = started + (due++ * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return at;
  };
}
