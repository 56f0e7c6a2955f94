import { describe, expect, it } from 'vitest';
import { localDateTime, orderDtoJson, orderResponseJson, pagedResultJson, type Page } from '../../src/domain/order-json.js';
import type { Address, Order, OrderItem } from '../../src/domain/order.js';

const address: Address = {
  addressLine1: '1 Main Street',
  addressLine2: null,
  city: 'Springfield',
  state: 'IL',
  zipCode: '62701',
  country: 'US',
};

const CREATED = new Date(Date.UTC(2026, 10, 25, 10, 20, 30, 123));

function order(items: readonly OrderItem[], overrides: Partial<Order> = {}): Order {
  return {
    orderId: 8_123_456_789_012,
    customerId: 42,
    status: 'NEW',
    source: null,
    deliveryAddress: address,
    createdDate: CREATED,
    items,
    ...overrides,
  };
}

const item = (itemId: number, productCode: string, quantity: number, priceCents: number): OrderItem => ({ itemId, productCode, quantity, priceCents });

const sortedKeys = (value: unknown): string[] => Object.keys(value as object).sort();

describe('orderResponseJson', () => {
  it('writes exactly the OrderResponse fields of the spec', () => {
    const json = JSON.parse(orderResponseJson(order([item(1, 'P1', 2, 1200)]))) as Record<string, unknown>;
    expect(sortedKeys(json)).toEqual(['createdDate', 'customerId', 'deliveryAddress', 'items', 'orderId', 'source', 'status', 'totalPrice'].sort());
    expect(sortedKeys(json.deliveryAddress)).toEqual(['addressLine1', 'addressLine2', 'city', 'state', 'zipCode', 'country'].sort());
    const items = json.items as unknown[];
    expect(items).toHaveLength(1);
    expect(sortedKeys(items[0])).toEqual(['itemId', 'price', 'productId', 'productPrice', 'quantity']);
  });

  it('writes the values of the order', () => {
    const o = order([item(11, 'P1', 2, 1200), item(12, 'ABC-9', 3, 1999)], {
      status: 'CONFIRMED',
      source: 'PAYMENT',
      deliveryAddress: { ...address, addressLine2: 'Apt 4' },
    });
    expect(JSON.parse(orderResponseJson(o))).toEqual({
      orderId: 8_123_456_789_012,
      customerId: 42,
      status: 'CONFIRMED',
      source: 'PAYMENT',
      deliveryAddress: { ...address, addressLine2: 'Apt 4' },
      createdDate: '2026-11-25T10:20:30.123',
      totalPrice: 83.97,
      items: [
        { itemId: 11, productId: 'P1', quantity: 2, productPrice: 12, price: 24 },
        { itemId: 12, productId: 'ABC-9', quantity: 3, productPrice: 19.99, price: 59.97 },
      ],
    });
  });

  it('writes a null source and a null addressLine2 as JSON null', () => {
    const json = JSON.parse(orderResponseJson(order([item(1, 'P1', 1, 100)]))) as { source: unknown; deliveryAddress: { addressLine2: unknown } };
    expect(json.source).toBeNull();
    expect(json.deliveryAddress.addressLine2).toBeNull();
  });

  it('writes prices as numbers with exactly two decimals in the raw text', () => {
    const text = orderResponseJson(order([item(1, 'P1', 2, 1200)]));
    expect(text).toContain('"totalPrice":24.00');
    expect(text).toContain('"productPrice":12.00,"price":24.00');
  });

  it.each<[string, readonly OrderItem[], string[]]>([
    ['whole amounts', [item(1, 'A', 1, 500)], ['"productPrice":5.00', '"price":5.00', '"totalPrice":5.00']],
    ['cents below ten', [item(1, 'A', 1, 5)], ['"productPrice":0.05', '"price":0.05', '"totalPrice":0.05']],
    ['a trailing zero', [item(1, 'A', 1, 1250)], ['"productPrice":12.50', '"price":12.50', '"totalPrice":12.50']],
    ['the float trap 0.29 × 3', [item(1, 'A', 3, 29)], ['"productPrice":0.29', '"price":0.87', '"totalPrice":0.87']],
    ['0.10 × 3 (0.30000000000000004 in floats)', [item(1, 'A', 3, 10)], ['"productPrice":0.10', '"price":0.30', '"totalPrice":0.30']],
    [
      'a sum of several items',
      [item(1, 'A', 3, 10), item(2, 'B', 7, 1999), item(3, 'C', 1, 1)],
      ['"price":0.30', '"price":139.93', '"price":0.01', '"totalPrice":140.24'],
    ],
  ])('renders %s with two decimals and price = quantity × productPrice', (_, items, fragments) => {
    const text = orderResponseJson(order(items));
    for (const fragment of fragments) expect(text).toContain(fragment);
  });

  it('computes price = quantity × productPrice and totalPrice = their sum', () => {
    const items = [item(1, 'A', 4, 2599), item(2, 'B', 1_000, 1), item(3, 'C', 2, 99_999)];
    const json = JSON.parse(orderResponseJson(order(items))) as { totalPrice: number; items: { quantity: number; productPrice: number; price: number }[] };
    const cents = (n: number): number => Math.round(n * 100);
    for (const i of json.items) expect(cents(i.price)).toBe(i.quantity * cents(i.productPrice));
    expect(cents(json.totalPrice)).toBe(4 * 2599 + 1_000 * 1 + 2 * 99_999);
  });

  it('writes an order without items with an empty items array and a zero total', () => {
    const text = orderResponseJson(order([]));
    expect(text).toContain('"totalPrice":0.00');
    expect((JSON.parse(text) as { items: unknown[] }).items).toEqual([]);
  });

  it('writes createdDate as an ISO local date-time with milliseconds and no zone', () => {
    const json = JSON.parse(orderResponseJson(order([item(1, 'P1', 1, 100)]))) as { createdDate: string };
    expect(json.createdDate).toBe('2026-11-25T10:20:30.123');
    expect(json.createdDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
  });

  it.each([
    ['a quote and a backslash', 'He said "hi" \\ left'],
    ['control characters', 'line1\nline2\ttab\r\u0000\u001f'],
    ['non-ASCII letters', 'Zürich, Ελλάδα, 東京'],
    ['an astral-plane emoji', 'box 📦'],
    ['line and paragraph separators', 'a\u2028b\u2029c'],
    ['a lone surrogate', 'broken \ud800 pair'],
    ['a would-be closing sequence', '"}],"orderId":1,"x":"'],
  ])('escapes strings containing %s so they read back unchanged', (_, s) => {
    const o = order([item(1, s, 1, 100)], {
      source: s,
      deliveryAddress: { addressLine1: s, addressLine2: s, city: s, state: s, zipCode: s, country: s },
    });
    const json = JSON.parse(orderResponseJson(o)) as { orderId: number; source: string; deliveryAddress: Address; items: { productId: string }[] };
    expect(json.orderId).toBe(o.orderId);
    expect(json.source).toBe(s);
    expect(Object.values(json.deliveryAddress)).toEqual([s, s, s, s, s, s]);
    expect(json.items[0]?.productId).toBe(s);
  });

  it('keeps a 53-bit order id exact', () => {
    const json = JSON.parse(orderResponseJson(order([], { orderId: Number.MAX_SAFE_INTEGER }))) as { orderId: number };
    expect(json.orderId).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('writes 64-bit ids past 2^53 as exact JSON integers, as Jackson writes a Long', () => {
    const o = order([{ ...item(1, 'P1', 1, 100), itemId: 910_000_000_000_000_124n }], { orderId: 910_000_000_000_000_123n, customerId: 2n ** 63n - 1n });
    const text = orderResponseJson(o);
    expect(text).toMatch(/^\{"orderId":910000000000000123,"customerId":9223372036854775807,/);
    expect(text).toContain('"items":[{"itemId":910000000000000124,');
    expect(orderDtoJson({ ...o, status: 'NEW' })).toMatch(/^\{"orderId":910000000000000123,"customerId":9223372036854775807,.*"itemId":910000000000000124,/);
  });
});

describe('localDateTime', () => {
  it.each<[Date, string]>([
    [CREATED, '2026-11-25T10:20:30.123'],
    [new Date(Date.UTC(2025, 0, 1, 0, 0, 0, 0)), '2025-01-01T00:00:00.000'],
    [new Date(Date.UTC(2090, 11, 31, 23, 59, 59, 999)), '2090-12-31T23:59:59.999'],
  ])('writes %s as %s (UTC, no zone suffix)', (date, text) => {
    expect(localDateTime(date)).toBe(text);
  });
});

describe('orderDtoJson', () => {
  it('writes exactly the OrderDto fields of the spec and no address, date or totals', () => {
    const text = orderDtoJson(order([item(11, 'P1', 2, 1200), item(12, 'P2', 1, 5)], { status: 'ACCEPT', source: 'INVENTORY' }));
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(sortedKeys(json)).toEqual(['customerId', 'items', 'orderId', 'source', 'status']);
    for (const i of json.items as unknown[]) expect(sortedKeys(i)).toEqual(['itemId', 'productId', 'productPrice', 'quantity']);
    expect(json).toEqual({
      orderId: 8_123_456_789_012,
      customerId: 42,
      status: 'ACCEPT',
      source: 'INVENTORY',
      items: [
        { itemId: 11, productId: 'P1', quantity: 2, productPrice: 12 },
        { itemId: 12, productId: 'P2', quantity: 1, productPrice: 0.05 },
      ],
    });
    expect(text).not.toContain('deliveryAddress');
  });

  it('writes productPrice with two decimals in the raw text', () => {
    const text = orderDtoJson(order([item(1, 'P1', 2, 1200), item(2, 'P2', 1, 5)]));
    expect(text).toContain('"productPrice":12.00}');
    expect(text).toContain('"productPrice":0.05}');
  });

  it('writes a null source as JSON null and escapes strings', () => {
    const s = 'q"uo\\te ✓';
    const json = JSON.parse(orderDtoJson(order([item(1, s, 1, 100)]))) as { source: unknown; items: { productId: string }[] };
    expect(json.source).toBeNull();
    expect(json.items[0]?.productId).toBe(s);
  });
});

describe('pagedResultJson', () => {
  interface Flags {
    pageNumber: number;
    totalPages: number;
    isFirst: boolean;
    isLast: boolean;
    hasNext: boolean;
    hasPrevious: boolean;
  }

  const page = (totalElements: number, pageNo: number, pageSize: number, data: readonly number[] = []): Page<number> => ({ data, totalElements, pageNo, pageSize });

  it.each<[string, Page<number>, Flags]>([
    ['the first of three pages', page(25, 0, 10), { pageNumber: 1, totalPages: 3, isFirst: true, isLast: false, hasNext: true, hasPrevious: false }],
    ['a middle page', page(25, 1, 10), { pageNumber: 2, totalPages: 3, isFirst: false, isLast: false, hasNext: true, hasPrevious: true }],
    ['the last, partial page', page(25, 2, 10), { pageNumber: 3, totalPages: 3, isFirst: false, isLast: true, hasNext: false, hasPrevious: true }],
    ['the last, full page', page(20, 1, 10), { pageNumber: 2, totalPages: 2, isFirst: false, isLast: true, hasNext: false, hasPrevious: true }],
    ['the only page', page(5, 0, 10), { pageNumber: 1, totalPages: 1, isFirst: true, isLast: true, hasNext: false, hasPrevious: false }],
    ['an empty result', page(0, 0, 10), { pageNumber: 1, totalPages: 0, isFirst: true, isLast: true, hasNext: false, hasPrevious: false }],
    ['a page past the end', page(5, 3, 10), { pageNumber: 4, totalPages: 1, isFirst: false, isLast: true, hasNext: false, hasPrevious: true }],
    ['pages of one', page(3, 1, 1), { pageNumber: 2, totalPages: 3, isFirst: false, isLast: false, hasNext: true, hasPrevious: true }],
  ])('describes %s', (_, p, flags) => {
    const json = JSON.parse(pagedResultJson(p, String)) as Flags & { totalElements: number };
    expect(json).toMatchObject(flags);
    expect(json.totalElements).toBe(p.totalElements);
  });

  it('writes exactly the PagedResult fields of the spec, with pageNumber 1-based', () => {
    const json = JSON.parse(pagedResultJson(page(25, 0, 10, [1, 2]), String)) as Record<string, unknown>;
    expect(sortedKeys(json)).toEqual(['data', 'hasNext', 'hasPrevious', 'isFirst', 'isLast', 'pageNumber', 'totalElements', 'totalPages'].sort());
    expect(json.pageNumber).toBe(1);
  });

  it('writes each element of data with the given writer, in order', () => {
    const orders = [order([item(1, 'A', 1, 100)], { orderId: 1 }), order([item(2, 'B', 2, 250)], { orderId: 2 })];
    const text = pagedResultJson<Order>({ data: orders, totalElements: 2, pageNo: 0, pageSize: 10 }, orderResponseJson);
    const json = JSON.parse(text) as { data: { orderId: number; totalPrice: number }[] };
    expect(json.data.map((d) => d.orderId)).toEqual([1, 2]);
    expect(json.data[1]?.totalPrice).toBe(5);
    expect(text).toContain('"totalPrice":5.00');
  });

  it('writes an empty data array for an empty page', () => {
    expect((JSON.parse(pagedResultJson(page(0, 0, 10), String)) as { data: unknown[] }).data).toEqual([]);
  });
});
