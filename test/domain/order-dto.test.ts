import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { parseOrderDto, serializeOrderDto, type OrderDto } from '../../src/domain/order-dto.js';

const dto: OrderDto = {
  orderId: 8_123_456_789_012,
  customerId: 42,
  status: 'REJECT',
  source: 'PAYMENT',
  items: [
    { itemId: 11, productId: 'P1', quantity: 2, productPrice: 12 },
    { itemId: 12, productId: 'P2', quantity: 1, productPrice: 0.05 },
  ],
};

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function reasonOf(input: Buffer): string {
  try {
    parseOrderDto(input);
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('ORD_ERR_VALIDATION');
    return (err as EngineError).message;
  }
  throw new Error('expected a validation error');
}

describe('serializeOrderDto', () => {
  it('writes the OrderDto fields in the spec order, prices with two decimals', () => {
    expect(serializeOrderDto(dto).toString()).toBe(
      '{"orderId":8123456789012,"customerId":42,"status":"REJECT","source":"PAYMENT","items":[' +
        '{"itemId":11,"productId":"P1","quantity":2,"productPrice":12.00},' +
        '{"itemId":12,"productId":"P2","quantity":1,"productPrice":0.05}]}',
    );
  });

  it('writes a null source and an empty item list', () => {
    expect(serializeOrderDto({ ...dto, source: null, items: [] }).toString()).toBe(
      '{"orderId":8123456789012,"customerId":42,"status":"REJECT","source":null,"items":[]}',
    );
  });

  it('writes prices that are not exact in binary (0.29, 1.15) as their two decimals', () => {
    const text = serializeOrderDto({ ...dto, items: [{ itemId: 1, productId: 'P', quantity: 1, productPrice: 0.29 }, { itemId: 2, productId: 'Q', quantity: 1, productPrice: 1.15 }] }).toString();
    expect(text).toContain('"productPrice":0.29}');
    expect(text).toContain('"productPrice":1.15}');
  });
});

describe('64-bit ids (the original service writes its TSIDs as JSON numbers)', () => {
  // As the original's participants write an answer: Jackson, a Long per id.
  const upstream =
    '{"orderId":910000000000000123,"customerId":910000000000000001,"status":"ACCEPT","source":"PAYMENT","items":[' +
    '{"itemId":910000000000000124,"productId":"P1","quantity":2,"productPrice":12.50}]}';

  it('reads every id exactly and writes the same bytes back', () => {
    const parsed = parseOrderDto(Buffer.from(upstream));
    expect(parsed).toEqual({
      orderId: 910_000_000_000_000_123n,
      customerId: 910_000_000_000_000_001n,
      status: 'ACCEPT',
      source: 'PAYMENT',
      items: [{ itemId: 910_000_000_000_000_124n, productId: 'P1', quantity: 2, productPrice: 12.5 }],
    });
    expect(serializeOrderDto(parsed).toString()).toBe(upstream);
  });

  it.each<[string, number | bigint]>([
    ['2^53 - 1', Number.MAX_SAFE_INTEGER],
    ['2^53', 2n ** 53n],
    ['2^53 + 1', 2n ** 53n + 1n],
    ['2^63 - 1', 2n ** 63n - 1n],
  ])('round-trips an orderId, customerId and itemId of %s exactly', (_name, id) => {
    const dto64: OrderDto = { ...dto, orderId: id, customerId: id, items: [{ itemId: id, productId: 'P', quantity: 1, productPrice: 1 }] };
    const text = serializeOrderDto(dto64).toString();
    expect(text).toContain(`"orderId":${id},"customerId":${id},`);
    expect(text).toContain(`"itemId":${id},`);
    expect(parseOrderDto(Buffer.from(text))).toEqual(dto64);
  });

  it.each([
    ['an orderId of 2^63', '9223372036854775808', /orderId must be <= 9223372036854775807/],
    ['a negative orderId past 2^53', '-910000000000000123', /orderId must be >= 1/],
    ['a fractional orderId past 2^53', '910000000000000123.5', /orderId must be an integer written out in full/],
    ['an orderId in exponent form', '9.10000000000000123e17', /orderId must be an integer written out in full/],
    ['a quoted orderId', '"910000000000000123"', /orderId must be integer/],
  ])('refuses %s', (_name, literal, reason) => {
    expect(reasonOf(Buffer.from(upstream.replace('910000000000000123', literal)))).toMatch(reason);
  });

  it('refuses an itemId beyond 2^63 - 1', () => {
    expect(reasonOf(Buffer.from(upstream.replace('910000000000000124', '18446744073709551615')))).toMatch(/itemId must be <= 9223372036854775807/);
  });
});

describe('parseOrderDto', () => {
  it('reads back what serializeOrderDto writes', () => {
    expect(parseOrderDto(serializeOrderDto(dto))).toEqual(dto);
  });

  it('reads a missing source as null and drops unknown properties', () => {
    const parsed = parseOrderDto(bytes({ orderId: 1, customerId: 2, status: 'NEW', items: [{ itemId: 3, productId: 'X', quantity: 1, productPrice: 1.5, extra: true }], type: 'x' }));
    expect(parsed).toEqual({ orderId: 1, customerId: 2, status: 'NEW', source: null, items: [{ itemId: 3, productId: 'X', quantity: 1, productPrice: 1.5 }] });
  });

  it.each([
    ['empty bytes', '', /not valid JSON/],
    ['not JSON', 'garbage{', /not valid JSON/],
    ['a JSON string', '"NEW"', /OrderDto must be object/],
    ['null', 'null', /OrderDto must be object/],
    ['an array', '[]', /OrderDto must be object/],
  ])('rejects %s', (_what, text, reason) => {
    expect(reasonOf(bytes(text))).toMatch(reason);
  });

  const valid = JSON.parse(serializeOrderDto(dto).toString()) as Record<string, unknown>;
  const item = (dto.items[0] as unknown) as Record<string, unknown>;
  it.each([
    ['no orderId', { ...valid, orderId: undefined }, /must have required property 'orderId'/],
    ['an orderId beyond 2^63 - 1', { ...valid, orderId: 1e19 }, /orderId must be <= 9223372036854775807/],
    ['a zero orderId', { ...valid, orderId: 0 }, /orderId must be >= 1/],
    ['a string orderId', { ...valid, orderId: '1' }, /orderId must be integer/],
    ['a fractional customerId', { ...valid, customerId: 1.5 }, /customerId must be integer/],
    ['a numeric status', { ...valid, status: 1 }, /status must be string/],
    ['an empty status', { ...valid, status: '' }, /status must NOT have fewer than 1 characters/],
    ['a numeric source', { ...valid, source: 5 }, /source must be string,null/],
    ['no items', { ...valid, items: undefined }, /must have required property 'items'/],
    ['items not an array', { ...valid, items: {} }, /items must be array/],
    ['an item without productId', { ...valid, items: [{ ...item, productId: undefined }] }, /items\/0 must have required property 'productId'/],
    ['a zero quantity', { ...valid, items: [{ ...item, quantity: 0 }] }, /items\/0\/quantity must be >= 1/],
    ['a price with three decimals', { ...valid, items: [{ ...item, productPrice: 1.005 }] }, /items\/0\/productPrice must be multiple of 0.01/],
    ['a negative price', { ...valid, items: [{ ...item, productPrice: -1 }] }, /items\/0\/productPrice must be >= 0/],
  ])('rejects %s, naming the field in the reason', (_what, value, reason) => {
    expect(reasonOf(bytes(value))).toMatch(reason);
  });
});
