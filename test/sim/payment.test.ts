import { describe, expect, it } from 'vitest';
import type { OrderDto } from '../../src/domain/order-dto.js';
import { FundsLedger, orderTotalCents, PAYMENT_SALT, paymentService } from '../../src/sim/payment.js';
import { simulatedShortage } from '../../src/sim/simulated-service.js';

const SEED = 1_000_00;

// Total 2 × 10.50 + 1 × 3.00 = 24.00.
function order(orderId: number, status = 'NEW', source: string | null = null, customerId = 7): OrderDto {
  return {
    orderId,
    customerId,
    status,
    source,
    items: [
      { itemId: 1, productId: 'P001', quantity: 2, productPrice: 10.5 },
      { itemId: 2, productId: 'P002', quantity: 1, productPrice: 3 },
    ],
  };
}

function setup(rejectRate = 0, options: ConstructorParameters<typeof FundsLedger>[0] = {}) {
  const ledger = new FundsLedger({ seedBalanceCents: SEED, ...options });
  return { ledger, service: paymentService(rejectRate, ledger) };
}

describe('orderTotalCents', () => {
  it('sums quantity × price in exact cents', () => {
    expect(orderTotalCents(order(1))).toBe(24_00);
    expect(orderTotalCents({ ...order(1), items: [{ itemId: 1, productId: 'X', quantity: 3, productPrice: 0.1 }] })).toBe(30);
  });
});

describe('payment service: NEW', () => {
  it('accepts when the balance covers the total, reserving it, and answers with the order fields and source PAYMENT', () => {
    const { ledger, service } = setup();
    expect(service.handle(order(1))).toEqual({ ...order(1), status: 'ACCEPT', source: 'PAYMENT' });
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 24_00, reserved: 24_00 });
    expect(service.stats).toMatchObject({ answered: 1, accepted: 1, rejected: 0 });
  });

  it('rejects every order with SIM_PAYMENT_REJECT_RATE=1, reserving nothing', () => {
    const { ledger, service } = setup(1);
    for (let id = 1; id <= 100; id++) expect(service.handle(order(id))).toMatchObject({ orderId: id, status: 'REJECT', source: 'PAYMENT' });
    expect(ledger.reservations).toBe(0);
    expect(service.stats).toMatchObject({ answered: 100, accepted: 0, rejected: 100 });
  });

  it('rejects exactly the orders the hash selects, the same on every run', () => {
    const { service } = setup(0.3);
    for (let id = 1_000; id < 2_000; id++) {
      const shortage = simulatedShortage(id, PAYMENT_SALT, 0.3);
      expect(service.handle(order(id))?.status).toBe(shortage ? 'REJECT' : 'ACCEPT');
    }
  });

  it('never drifts into rejecting everything: one customer ordering 10,000 times is topped up', () => {
    const { ledger, service } = setup(0);
    for (let id = 1; id <= 10_000; id++) expect(service.handle(order(id))?.status).toBe('ACCEPT');
    expect(service.stats.replenished).toBeGreaterThan(0);
    expect(ledger.balanceOf(7)!.reserved).toBe(10_000 * 24_00);
  });

  it('answers an order id seen twice as NEW once, and reserves once', () => {
    const { ledger, service } = setup();
    expect(service.handle(order(1))?.status).toBe('ACCEPT');
    expect(service.handle(order(1))).toBeUndefined();
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 24_00, reserved: 24_00 });
    expect(service.stats).toMatchObject({ answered: 1, duplicates: 1 });
  });

  it('answers a re-publication of the order (a new outbox id) again, the same, and reserves once', () => {
    const { ledger, service } = setup();
    expect(service.handle(order(1), '100')?.status).toBe('ACCEPT');
    // The same publication delivered again: a duplicate.
    expect(service.handle(order(1), '100')).toBeUndefined();
    // Published again by the stuck-order job: asked again, answered again.
    expect(service.handle(order(1), '250')).toEqual({ ...order(1), status: 'ACCEPT', source: 'PAYMENT' });
    expect(service.handle(order(1), '250')).toBeUndefined();
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 24_00, reserved: 24_00 });
    expect(service.stats).toMatchObject({ answered: 1, duplicates: 2, reanswered: 1 });
  });

  it('repeats a REJECT on re-publication, never reserving', () => {
    const ledger = new FundsLedger({ seedBalanceCents: SEED });
    const service = paymentService(1, ledger);
    expect(service.handle(order(5), '1')?.status).toBe('REJECT');
    expect(service.handle(order(5), '2')?.status).toBe('REJECT');
    expect(ledger.balanceOf(7)?.reserved ?? 0).toBe(0);
  });

  it('forgets answered ids beyond its capacity (memory stays bounded)', () => {
    const service = paymentService(0, new FundsLedger(), 2);
    for (const id of [1, 2, 3]) expect(service.handle(order(id))).toBeDefined();
    expect(service.handle(order(3))).toBeUndefined();
    expect(service.handle(order(1))?.status).toBe('ACCEPT');
  });
});

describe('payment service: decisions', () => {
  it('settles on CONFIRMED: the reservation leaves the account', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    expect(service.handle(order(1, 'CONFIRMED'))).toBeUndefined();
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 24_00, reserved: 0 });
    expect(service.stats.committed).toBe(1);
  });

  it('releases on ROLLBACK with source INVENTORY', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    expect(service.handle(order(1, 'ROLLBACK', 'INVENTORY'))).toBeUndefined();
    expect(ledger.balanceOf(7)).toEqual({ available: SEED, reserved: 0 });
    expect(service.stats.released).toBe(1);
  });

  it('keeps the reservation on ROLLBACK with source PAYMENT (its own rejection reserved nothing)', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    service.handle(order(1, 'ROLLBACK', 'PAYMENT'));
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 24_00, reserved: 24_00 });
    expect(service.stats).toMatchObject({ released: 0, ignored: 1 });
  });

  it('settles or releases once: a repeated decision finds no reservation', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    service.handle(order(1, 'ROLLBACK', 'INVENTORY'));
    service.handle(order(1, 'ROLLBACK', 'INVENTORY'));
    service.handle(order(1, 'CONFIRMED'));
    expect(ledger.balanceOf(7)).toEqual({ available: SEED, reserved: 0 });
    expect(service.stats).toMatchObject({ released: 1, committed: 0, ignored: 2 });
  });

  it.each(['ACCEPT', 'REJECT', 'REJECTED', 'FAILED', 'whatever'])('ignores %s records without answering', (status) => {
    const { ledger, service } = setup();
    expect(service.handle(order(1, status, 'INVENTORY'))).toBeUndefined();
    expect(ledger.reservations).toBe(0);
    expect(service.stats).toMatchObject({ answered: 0, ignored: 1 });
  });
});

describe('FundsLedger', () => {
  it('refuses a reservation the available balance does not cover, booking nothing', () => {
    const ledger = new FundsLedger({ seedBalanceCents: 20_00 });
    expect(ledger.reserve(order(1))).toBe(false);
    expect(ledger.balanceOf(7)).toEqual({ available: 20_00, reserved: 0 });
    expect(ledger.replenish(order(1))).toBe(true);
    expect(ledger.replenish(order(1))).toBe(false); // only a short account is topped up
    expect(ledger.reserve(order(1))).toBe(true);
    expect(ledger.balanceOf(7)).toEqual({ available: 20_00, reserved: 24_00 });
  });

  it('keeps customers apart', () => {
    const ledger = new FundsLedger({ seedBalanceCents: SEED });
    ledger.reserve(order(1, 'NEW', null, 1));
    ledger.reserve(order(2, 'NEW', null, 2));
    ledger.release(1);
    expect(ledger.balanceOf(1)).toEqual({ available: SEED, reserved: 0 });
    expect(ledger.balanceOf(2)).toEqual({ available: SEED - 24_00, reserved: 24_00 });
  });

  it('expires the oldest reservation beyond maxReservations, giving its funds back', () => {
    const ledger = new FundsLedger({ seedBalanceCents: SEED, maxReservations: 2 });
    for (const id of [1, 2, 3]) ledger.reserve(order(id));
    expect(ledger.reservations).toBe(2);
    expect(ledger.balanceOf(7)).toEqual({ available: SEED - 2 * 24_00, reserved: 2 * 24_00 });
    expect(ledger.release(1)).toBe(false);
    expect(ledger.release(3)).toBe(true);
  });

  it('forgets the least recently active customer beyond maxAccounts, and a decision for it is harmless', () => {
    const ledger = new FundsLedger({ seedBalanceCents: SEED, maxAccounts: 2 });
    ledger.reserve(order(1, 'NEW', null, 1));
    ledger.reserve(order(2, 'NEW', null, 2));
    ledger.reserve(order(3, 'NEW', null, 1)); // customer 1 is now the most recent
    ledger.reserve(order(4, 'NEW', null, 3));
    expect(ledger.balanceOf(2)).toBeUndefined();
    expect(ledger.balanceOf(1)).toBeDefined();
    expect(ledger.commit(2)).toBe(true);
    expect(ledger.balanceOf(2)).toBeUndefined();
  });

  it('does not count a balance lookup as activity: a customer only looked at is still forgotten first', () => {
    const ledger = new FundsLedger({ seedBalanceCents: SEED, maxAccounts: 2 });
    ledger.reserve(order(1, 'NEW', null, 1));
    ledger.reserve(order(2, 'NEW', null, 2));
    expect(ledger.balanceOf(1)).toBeDefined();
    ledger.reserve(order(3, 'NEW', null, 3));
    expect(ledger.balanceOf(1)).toBeUndefined();
    expect(ledger.balanceOf(2)).toBeDefined();
  });
});
