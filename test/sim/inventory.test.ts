import { describe, expect, it } from 'vitest';
import type { OrderDto } from '../../src/domain/order-dto.js';
import { INVENTORY_SALT, inventoryService, StockLedger, unitsPerProduct } from '../../src/sim/inventory.js';
import { simulatedShortage } from '../../src/sim/simulated-service.js';

const SEED = 100;

function order(orderId: number, status = 'NEW', source: string | null = null, items = [{ productId: 'P001', quantity: 2 }, { productId: 'P002', quantity: 1 }]): OrderDto {
  return { orderId, customerId: 9, status, source, items: items.map((i, n) => ({ itemId: n + 1, productPrice: 5, ...i })) };
}

function setup(rejectRate = 0, options: ConstructorParameters<typeof StockLedger>[0] = {}) {
  const ledger = new StockLedger({ seedStock: SEED, ...options });
  return { ledger, service: inventoryService(rejectRate, ledger) };
}

describe('unitsPerProduct', () => {
  it('adds up a product listed twice', () => {
    expect([...unitsPerProduct(order(1, 'NEW', null, [{ productId: 'A', quantity: 2 }, { productId: 'B', quantity: 1 }, { productId: 'A', quantity: 3 }]))]).toEqual([
      ['A', 5],
      ['B', 1],
    ]);
  });
});

describe('inventory service: NEW', () => {
  it('accepts when every product has enough, reserving each, and answers with the order fields and source INVENTORY', () => {
    const { ledger, service } = setup();
    expect(service.handle(order(1))).toEqual({ ...order(1), status: 'ACCEPT', source: 'INVENTORY' });
    expect(ledger.stockOf('P001')).toEqual({ available: SEED - 2, reserved: 2 });
    expect(ledger.stockOf('P002')).toEqual({ available: SEED - 1, reserved: 1 });
    expect(service.stats).toMatchObject({ answered: 1, accepted: 1, rejected: 0 });
  });

  it('rejects every order with SIM_INVENTORY_REJECT_RATE=1, reserving nothing', () => {
    const { ledger, service } = setup(1);
    for (let id = 1; id <= 100; id++) expect(service.handle(order(id))).toMatchObject({ orderId: id, status: 'REJECT', source: 'INVENTORY' });
    expect(ledger.reservations).toBe(0);
    expect(service.stats).toMatchObject({ answered: 100, accepted: 0, rejected: 100 });
  });

  it('rejects exactly the orders the hash selects', () => {
    const { service } = setup(0.25);
    for (let id = 5_000; id < 6_000; id++) {
      expect(service.handle(order(id))?.status).toBe(simulatedShortage(id, INVENTORY_SALT, 0.25) ? 'REJECT' : 'ACCEPT');
    }
  });

  it('never drifts into rejecting everything: 10,000 orders of the same products are restocked', () => {
    const { ledger, service } = setup(0);
    for (let id = 1; id <= 10_000; id++) expect(service.handle(order(id))?.status).toBe('ACCEPT');
    expect(service.stats.replenished).toBeGreaterThan(0);
    expect(ledger.stockOf('P001')!.reserved).toBe(20_000);
  });

  it('answers an order id seen twice as NEW once, and reserves once', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    expect(service.handle(order(1))).toBeUndefined();
    expect(ledger.stockOf('P001')).toEqual({ available: SEED - 2, reserved: 2 });
    expect(service.stats).toMatchObject({ answered: 1, duplicates: 1 });
  });
});

describe('inventory service: decisions', () => {
  it('commits on CONFIRMED: the reserved units ship', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    expect(service.handle(order(1, 'CONFIRMED'))).toBeUndefined();
    expect(ledger.stockOf('P001')).toEqual({ available: SEED - 2, reserved: 0 });
    expect(service.stats.committed).toBe(1);
  });

  it('releases on ROLLBACK with source PAYMENT', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    service.handle(order(1, 'ROLLBACK', 'PAYMENT'));
    expect(ledger.stockOf('P001')).toEqual({ available: SEED, reserved: 0 });
    expect(ledger.stockOf('P002')).toEqual({ available: SEED, reserved: 0 });
    expect(service.stats.released).toBe(1);
  });

  it('keeps the reservation on ROLLBACK with source INVENTORY (its own rejection reserved nothing)', () => {
    const { ledger, service } = setup();
    service.handle(order(1));
    service.handle(order(1, 'ROLLBACK', 'INVENTORY'));
    expect(ledger.stockOf('P001')).toEqual({ available: SEED - 2, reserved: 2 });
    expect(service.stats).toMatchObject({ released: 0, ignored: 1 });
  });

  it.each(['ACCEPT', 'REJECT', 'REJECTED', 'FAILED'])('ignores %s records without answering', (status) => {
    const { ledger, service } = setup();
    expect(service.handle(order(1, status, 'PAYMENT'))).toBeUndefined();
    expect(ledger.reservations).toBe(0);
  });
});

describe('StockLedger', () => {
  it('reserves all or nothing: one short product books no unit of the others', () => {
    const ledger = new StockLedger({ seedStock: 5 });
    const big = order(1, 'NEW', null, [{ productId: 'A', quantity: 3 }, { productId: 'B', quantity: 6 }]);
    expect(ledger.reserve(big)).toBe(false);
    expect(ledger.stockOf('A')).toEqual({ available: 5, reserved: 0 });
    expect(ledger.replenish(big)).toBe(true);
    expect(ledger.stockOf('A')).toEqual({ available: 5, reserved: 0 });
    expect(ledger.stockOf('B')).toEqual({ available: 11, reserved: 0 });
    expect(ledger.reserve(big)).toBe(true);
  });

  it('expires the oldest reservation beyond maxReservations, putting its units back', () => {
    const ledger = new StockLedger({ seedStock: SEED, maxReservations: 2 });
    for (const id of [1, 2, 3]) ledger.reserve(order(id));
    expect(ledger.reservations).toBe(2);
    expect(ledger.stockOf('P001')).toEqual({ available: SEED - 4, reserved: 4 });
  });

  it('forgets the least recently ordered product beyond maxProducts', () => {
    const ledger = new StockLedger({ seedStock: SEED, maxProducts: 2 });
    ledger.reserve(order(1, 'NEW', null, [{ productId: 'A', quantity: 1 }]));
    ledger.reserve(order(2, 'NEW', null, [{ productId: 'B', quantity: 1 }]));
    ledger.reserve(order(3, 'NEW', null, [{ productId: 'C', quantity: 1 }]));
    expect(ledger.stockOf('A')).toBeUndefined();
    expect(ledger.release(1)).toBe(true);
    expect(ledger.stockOf('A')).toBeUndefined();
  });
});
