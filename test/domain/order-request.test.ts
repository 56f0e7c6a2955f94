import { describe, expect, it } from 'vitest';
import { EngineError, type Violation } from '../../src/errors.js';
import { MAX_ITEMS_PER_ORDER, MAX_JSON_DEPTH, parseOrderRequest } from '../../src/domain/order-request.js';
import { errorOf as errorOfCall } from '../support/error-of.js';

interface RawItem {
  productCode?: unknown;
  quantity?: unknown;
  productPrice?: unknown;
}

const validAddress = () => ({
  addressLine1: '1 Main Street',
  city: 'Springfield',
  state: 'IL',
  zipCode: '62701',
  country: 'US',
});

const validItem = (overrides: RawItem = {}): RawItem => ({ productCode: 'P100', quantity: 2, productPrice: 12.5, ...overrides });

const validBody = (): Record<string, unknown> => ({
  customerId: 42,
  items: [validItem()],
  deliveryAddress: validAddress(),
});

/** The EngineError parseOrderRequest throws for `body`; fails the test when it does not throw one. */
function errorOf(body: unknown): EngineError {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return errorOfCall(() => parseOrderRequest(text));
}

function violationsOf(body: unknown): readonly Violation[] {
  const err = errorOf(body);
  expect(err.code).toBe('ORD_ERR_VALIDATION');
  expect(err.status).toBe(400);
  return err.violations ?? [];
}

const fields = (vs: readonly Violation[]): string[] => vs.map((v) => v.field);

function withItem(item: RawItem): Record<string, unknown> {
  return { ...validBody(), items: [item] };
}

function withAddress(address: Record<string, unknown>): Record<string, unknown> {
  return { ...validBody(), deliveryAddress: address };
}

function without<T extends Record<string, unknown>>(obj: T, key: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...obj };
  delete copy[key];
  return copy;
}

describe('parseOrderRequest: a valid request', () => {
  it.each<[string, number | bigint]>([
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['9007199254740993', 2n ** 53n + 1n],
    ['910000000000000123', 910_000_000_000_000_123n],
    ['9223372036854775807', 2n ** 63n - 1n],
  ])('reads customerId %s exactly (a Java long in the original)', (literal, id) => {
    const text = JSON.stringify(validBody()).replace('"customerId":42', `"customerId":${literal}`);
    expect(parseOrderRequest(text).customerId).toBe(id);
  });

  it('parses every field, trims and upper-cases product codes and converts prices to cents', () => {
    const body = {
      customerId: 7,
      items: [
        { productCode: '  p100 ', quantity: 3, productPrice: 19.99 },
        { productCode: 'abc-9', quantity: 1, productPrice: 0.29 },
      ],
      deliveryAddress: { ...validAddress(), addressLine2: 'Apt 4' },
    };
    expect(parseOrderRequest(JSON.stringify(body))).toEqual({
      customerId: 7,
      items: [
        { productCode: 'P100', quantity: 3, priceCents: 1999 },
        { productCode: 'ABC-9', quantity: 1, priceCents: 29 },
      ],
      deliveryAddress: { ...validAddress(), addressLine2: 'Apt 4' },
    });
  });

  it('accepts a Buffer body the same as a string body', () => {
    const text = JSON.stringify(validBody());
    expect(parseOrderRequest(Buffer.from(text, 'utf8'))).toEqual(parseOrderRequest(text));
  });

  it('decodes a Buffer body as UTF-8', () => {
    const body = { ...validBody(), deliveryAddress: { ...validAddress(), city: 'Zürich' } };
    expect(parseOrderRequest(Buffer.from(JSON.stringify(body), 'utf8')).deliveryAddress.city).toBe('Zürich');
  });

  it.each([
    ['missing', validAddress()],
    ['null', { ...validAddress(), addressLine2: null }],
  ])('defaults addressLine2 to null when it is %s', (_, address) => {
    expect(parseOrderRequest(JSON.stringify(withAddress(address))).deliveryAddress.addressLine2).toBeNull();
  });

  it('accepts a blank addressLine2 as given (it is optional, not non-blank)', () => {
    const parsed = parseOrderRequest(JSON.stringify(withAddress({ ...validAddress(), addressLine2: '' })));
    expect(parsed.deliveryAddress.addressLine2).toBe('');
  });

  it(`accepts exactly MAX_ITEMS_PER_ORDER (${MAX_ITEMS_PER_ORDER}) items`, () => {
    const items = Array.from({ length: MAX_ITEMS_PER_ORDER }, (_, i) => validItem({ productCode: `P${i}` }));
    expect(parseOrderRequest(JSON.stringify({ ...validBody(), items })).items).toHaveLength(MAX_ITEMS_PER_ORDER);
  });
});

describe('parseOrderRequest: malformed or non-object bodies', () => {
  it.each(['{', '', 'not json', '{"customerId": 1,}', "{'customerId': 1}"])('rejects malformed JSON %j with ORD_ERR_MALFORMED_JSON', (text) => {
    const err = errorOf(text);
    expect(err.code).toBe('ORD_ERR_MALFORMED_JSON');
    expect(err.status).toBe(400);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"order"'],
    ['a number', '42'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('rejects a body that is %s with a type violation on (body)', (_, text) => {
    const err = errorOf(text);
    expect(err.code).toBe('ORD_ERR_VALIDATION');
    expect(err.status).toBe(400);
    expect(err.violations).toEqual([{ field: '(body)', message: 'must be object' }]);
  });
});

describe('parseOrderRequest: wrong types', () => {
  it.each<[string, Record<string, unknown>, string, string]>([
    ['customerId "x"', { ...validBody(), customerId: 'x' }, 'customerId', 'must be integer'],
    ['customerId 1.5', { ...validBody(), customerId: 1.5 }, 'customerId', 'must be integer'],
    ['quantity 1.5', withItem(validItem({ quantity: 1.5 })), 'items[0].quantity', 'must be integer'],
    ['quantity "2"', withItem(validItem({ quantity: '2' })), 'items[0].quantity', 'must be integer'],
    ['productPrice "10"', withItem(validItem({ productPrice: '10' })), 'items[0].productPrice', 'must be number'],
    ['productCode 5', withItem(validItem({ productCode: 5 })), 'items[0].productCode', 'must be string'],
    ['items an object', { ...validBody(), items: {} }, 'items', 'must be array'],
    ['an item that is a string', { ...validBody(), items: ['P1'] }, 'items[0]', 'must be object'],
    ['deliveryAddress a string', { ...validBody(), deliveryAddress: 'here' }, 'deliveryAddress', 'must be object'],
    ['city a number', withAddress({ ...validAddress(), city: 12 }), 'deliveryAddress.city', 'must be string'],
    ['addressLine2 a number', withAddress({ ...validAddress(), addressLine2: 3 }), 'deliveryAddress.addressLine2', 'must be string or null'],
  ])('rejects %s with a violation naming the field', (_, body, field, message) => {
    expect(violationsOf(body)).toEqual([{ field, message }]);
  });
});

describe('parseOrderRequest: missing fields', () => {
  it.each(['customerId', 'items', 'deliveryAddress'])('reports the missing request field %s', (key) => {
    expect(violationsOf(without(validBody(), key))).toEqual([{ field: key, message: 'is required' }]);
  });

  it.each(['productCode', 'quantity', 'productPrice'])('reports the missing item field items[0].%s', (key) => {
    expect(violationsOf(withItem(without(validItem() as Record<string, unknown>, key)))).toEqual([
      { field: `items[0].${key}`, message: 'is required' },
    ]);
  });

  it('names the index of the item that misses a field', () => {
    const body = { ...validBody(), items: [validItem({ productCode: 'A' }), without(validItem({ productCode: 'B' }) as Record<string, unknown>, 'quantity')] };
    expect(violationsOf(body)).toEqual([{ field: 'items[1].quantity', message: 'is required' }]);
  });

  it.each(['addressLine1', 'city', 'state', 'zipCode', 'country'])('reports the missing address field deliveryAddress.%s', (key) => {
    expect(violationsOf(withAddress(without(validAddress(), key)))).toEqual([{ field: `deliveryAddress.${key}`, message: 'is required' }]);
  });

  it('reports every missing field at once', () => {
    expect(fields(violationsOf({})).sort()).toEqual(['customerId', 'deliveryAddress', 'items']);
    const body = { customerId: 1, items: [{}], deliveryAddress: {} };
    expect(fields(violationsOf(body)).sort()).toEqual(
      [
        'items[0].productCode',
        'items[0].quantity',
        'items[0].productPrice',
        'deliveryAddress.addressLine1',
        'deliveryAddress.city',
        'deliveryAddress.state',
        'deliveryAddress.zipCode',
        'deliveryAddress.country',
      ].sort(),
    );
  });
});

describe('parseOrderRequest: numeric ranges', () => {
  it.each<[string, Record<string, unknown>, Violation]>([
    ['customerId 0', { ...validBody(), customerId: 0 }, { field: 'customerId', message: 'must be at least 1' }],
    ['customerId -5', { ...validBody(), customerId: -5 }, { field: 'customerId', message: 'must be at least 1' }],
    ['quantity 0', withItem(validItem({ quantity: 0 })), { field: 'items[0].quantity', message: 'must be at least 1' }],
    ['quantity -1', withItem(validItem({ quantity: -1 })), { field: 'items[0].quantity', message: 'must be at least 1' }],
    ['quantity above 1,000,000', withItem(validItem({ quantity: 1_000_001 })), { field: 'items[0].quantity', message: 'must be at most 1000000' }],
    ['productPrice 0', withItem(validItem({ productPrice: 0 })), { field: 'items[0].productPrice', message: 'must be at least 0.01' }],
    ['productPrice -1', withItem(validItem({ productPrice: -1 })), { field: 'items[0].productPrice', message: 'must be at least 0.01' }],
    ['productPrice 0.001', withItem(validItem({ productPrice: 0.001 })), { field: 'items[0].productPrice', message: 'must be at least 0.01' }],
    ['productPrice above 1e9', withItem(validItem({ productPrice: 1_000_000_000.01 })), { field: 'items[0].productPrice', message: 'must be at most 1000000000' }],
  ])('rejects %s', (_, body, violation) => {
    expect(violationsOf(body)).toContainEqual(violation);
  });

  it.each([0.001, 0.015, 12.345, 19.999, 1.0000001])('rejects productPrice %s: more than 2 decimal places', (productPrice) => {
    expect(violationsOf(withItem(validItem({ productPrice })))).toContainEqual({
      field: 'items[0].productPrice',
      message: 'must have at most 2 decimal places',
    });
  });

  // 0.29 / 0.01 is 28.999999999999996 in floating point: an exact multipleOf check
  // would refuse prices a client sends in good faith.
  it.each<[number, number]>([
    [0.01, 1],
    [0.07, 7],
    [0.29, 29],
    [0.57, 57],
    [1.1, 110],
    [4.35, 435],
    [19.99, 1999],
    [100, 10000],
    [1234.56, 123456],
  ])('accepts productPrice %s (float multipleOf trap) as %i cents', (productPrice, cents) => {
    expect(parseOrderRequest(JSON.stringify(withItem(validItem({ productPrice })))).items[0]?.priceCents).toBe(cents);
  });

  it('accepts every 2-decimal price from 0.01 to 100.00', () => {
    const refused: number[] = [];
    for (let cents = 1; cents <= 10_000; cents++) {
      const productPrice = cents / 100;
      try {
        if (parseOrderRequest(JSON.stringify(withItem(validItem({ productPrice })))).items[0]?.priceCents !== cents) refused.push(productPrice);
      } catch {
        refused.push(productPrice);
      }
    }
    expect(refused).toEqual([]);
  });

  // Regression: multipleOf 0.01 with multipleOfPrecision 8 divided the price by 0.01
  // and demanded the quotient be within 1e-8 of an integer. From about 1e8 cents on,
  // the quotient's rounding error alone exceeds 1e-8, so valid prices from 894784.94
  // up to MAX_PRICE were rejected now and then with "must have at most 2 decimal places".
  it.each([894_784.94, 1_000_000.19, 14_316_557.79, 114_532_461.32, 999_999_999.06])(
    'accepts the 2-decimal price %s, which is below MAX_PRICE',
    (productPrice) => {
      expect(parseOrderRequest(JSON.stringify(withItem(validItem({ productPrice })))).items[0]?.priceCents).toBe(Math.round(productPrice * 100));
    },
  );
});

describe('parseOrderRequest: strings', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['productCode', withItem(validItem({ productCode: '  ' })), 'items[0].productCode'],
    ['productCode (empty)', withItem(validItem({ productCode: '' })), 'items[0].productCode'],
    ['productCode (tab and newline)', withItem(validItem({ productCode: '\t\n' })), 'items[0].productCode'],
    ['addressLine1', withAddress({ ...validAddress(), addressLine1: '  ' }), 'deliveryAddress.addressLine1'],
    ['city', withAddress({ ...validAddress(), city: '  ' }), 'deliveryAddress.city'],
    ['state', withAddress({ ...validAddress(), state: '  ' }), 'deliveryAddress.state'],
    ['zipCode', withAddress({ ...validAddress(), zipCode: '  ' }), 'deliveryAddress.zipCode'],
    ['country', withAddress({ ...validAddress(), country: '  ' }), 'deliveryAddress.country'],
  ])('rejects a blank %s', (_, body, field) => {
    expect(violationsOf(body)).toEqual([{ field, message: 'must not be blank' }]);
  });

  it('rejects a productCode longer than 64 characters and accepts one of exactly 64', () => {
    expect(violationsOf(withItem(validItem({ productCode: 'X'.repeat(65) })))).toEqual([
      { field: 'items[0].productCode', message: 'must be at most 64 characters' },
    ]);
    expect(parseOrderRequest(JSON.stringify(withItem(validItem({ productCode: 'x'.repeat(64) })))).items[0]?.productCode).toBe('X'.repeat(64));
  });

  it('rejects an address line longer than 255 characters', () => {
    expect(violationsOf(withAddress({ ...validAddress(), addressLine1: 'a'.repeat(256) }))).toEqual([
      { field: 'deliveryAddress.addressLine1', message: 'must be at most 255 characters' },
    ]);
  });
});

describe('parseOrderRequest: items', () => {
  it('rejects an empty items array', () => {
    expect(violationsOf({ ...validBody(), items: [] })).toEqual([{ field: 'items', message: 'must not be empty' }]);
  });

  it(`rejects more than MAX_ITEMS_PER_ORDER (${MAX_ITEMS_PER_ORDER}) items`, () => {
    const items = Array.from({ length: MAX_ITEMS_PER_ORDER + 1 }, (_, i) => validItem({ productCode: `P${i}` }));
    expect(violationsOf({ ...validBody(), items })).toEqual([{ field: 'items', message: `must have at most ${MAX_ITEMS_PER_ORDER} entries` }]);
  });

  it.each([
    ['the same code', 'P1', 'P1'],
    ['codes differing in case', 'abc', 'ABC'],
    ['codes differing in surrounding space', 'ABC', '  ABC '],
    ['codes differing in case and space', 'Abc', ' aBC\t'],
  ])('rejects %s twice, naming the second item', (_, first, second) => {
    const body = { ...validBody(), items: [validItem({ productCode: first }), validItem({ productCode: second })] };
    const vs = violationsOf(body);
    expect(vs).toHaveLength(1);
    expect(vs[0]?.field).toBe('items[1].productCode');
    expect(vs[0]?.message).toContain('items[0]');
  });

  it('names every duplicate and the item it repeats', () => {
    const body = {
      ...validBody(),
      items: [validItem({ productCode: 'a' }), validItem({ productCode: 'b' }), validItem({ productCode: 'A' }), validItem({ productCode: ' b' })],
    };
    const vs = violationsOf(body);
    expect(fields(vs)).toEqual(['items[2].productCode', 'items[3].productCode']);
    expect(vs[0]?.message).toContain('items[0]');
    expect(vs[1]?.message).toContain('items[1]');
  });

  it('reports violations of several items and fields together', () => {
    const body = {
      customerId: 0,
      items: [validItem({ quantity: 0 }), validItem({ productCode: 'Q', productPrice: 12.345 })],
      deliveryAddress: { ...validAddress(), city: ' ' },
    };
    expect(fields(violationsOf(body)).sort()).toEqual(['customerId', 'deliveryAddress.city', 'items[0].quantity', 'items[1].productPrice'].sort());
  });
});

// Regressions of issue 6 (item 1): text Postgres cannot store as sent reached it. A
// NUL failed the insert (a 500); lone surrogates and invalid UTF-8 were silently
// stored as U+FFFD, other text than the client sent (a 201). Each is a 400 now.
describe('parseOrderRequest: text that cannot be stored as sent', () => {
  const STRING_FIELDS: [string, (v: string) => Record<string, unknown>][] = [
    ['items[0].productCode', (v) => withItem(validItem({ productCode: v }))],
    ...(['addressLine1', 'addressLine2', 'city', 'state', 'zipCode', 'country'] as const).map(
      (f): [string, (v: string) => Record<string, unknown>] => [`deliveryAddress.${f}`, (v) => withAddress({ ...validAddress(), [f]: v })],
    ),
  ];

  it.each(STRING_FIELDS)('rejects a NUL (U+0000) in %s, naming the field', (field, body) => {
    expect(violationsOf(body('Spring\u0000field'))).toEqual([{ field, message: 'must not contain NUL characters (U+0000)' }]);
  });

  it.each(STRING_FIELDS)('rejects a lone surrogate in %s, naming the field', (field, body) => {
    for (const lone of ['\ud800', 'a\udfff', '\ude00\ud83d', 'x\udbff']) {
      expect(violationsOf(body(lone))).toEqual([{ field, message: 'must not contain unpaired UTF-16 surrogates' }]);
    }
  });

  it('keeps surrogate pairs (characters beyond the BMP) and other Unicode as sent', () => {
    const city = 'Zürich 🚀 東京';
    expect(parseOrderRequest(JSON.stringify(withAddress({ ...validAddress(), city }))).deliveryAddress.city).toBe(city);
  });

  it('rejects a lone surrogate written as a JSON escape, as clients send it', () => {
    const text = JSON.stringify(validBody()).replace('"Springfield"', '"Spring\\ud800field"');
    expect(fields(violationsOf(text))).toEqual(['deliveryAddress.city']);
  });

  it.each<[string, number[]]>([
    ['a lone continuation byte', [0x80]],
    ['a truncated two-byte sequence', [0xc3, 0x28]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a surrogate encoded in UTF-8 (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xFF', [0xff]],
  ])('rejects a body with %s as not UTF-8 (ORD_ERR_MALFORMED_JSON), never stores U+FFFD', (_, bytes) => {
    const [before, after] = JSON.stringify(validBody()).split('Springfield') as [string, string];
    const body = Buffer.concat([Buffer.from(`${before}Spring`), Buffer.from(bytes), Buffer.from(`field${after}`)]);
    let thrown: unknown;
    try {
      parseOrderRequest(body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(EngineError);
    expect(thrown).toMatchObject({ code: 'ORD_ERR_MALFORMED_JSON', status: 400, message: 'request body is not valid UTF-8' });
  });

  it('still refuses a body that starts with a byte order mark, as before', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(validBody()))]);
    expect(() => parseOrderRequest(body)).toThrow(expect.objectContaining({ code: 'ORD_ERR_MALFORMED_JSON' }));
  });
});

// Regression: reserved keys and deep nesting in unknown properties were ignored and
// the order stored (a 201); a hostile body now gets a 400 and changes nothing.
describe('parseOrderRequest: reserved keys and deep nesting', () => {
  it.each<[string, string, string]>([
    ['__proto__ at the top', '{"__proto__":{"polluted":true},', '__proto__'],
    ['an escaped __proto__', '{"\\u005f_proto__":{"polluted":true},', '__proto__'],
    ['constructor.prototype at the top', '{"constructor":{"prototype":{"polluted":true}},', 'constructor'],
    ['prototype at the top', '{"prototype":1,', 'prototype'],
  ])('rejects %s, naming the key', (_, prefix, field) => {
    const text = prefix + JSON.stringify(validBody()).slice(1);
    expect(violationsOf(text)).toEqual([{ field, message: 'is a reserved name and not allowed' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses __proto__ and deep nesting in a body with a customer id past 2^53 (the lossless parser) as in any other', () => {
    const withTsid = JSON.stringify(validBody()).replace('"customerId":42', '"customerId":910000000000000123');
    expect(violationsOf(`{"__proto__":{"polluted":true},${withTsid.slice(1)}`)).toEqual([{ field: '__proto__', message: 'is a reserved name and not allowed' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const depth of [40, 5000]) {
      const deep = withTsid.replace('{', `{"extra":${'['.repeat(depth)}${']'.repeat(depth)},`);
      expect(violationsOf(deep)[0]!.message).toBe(`must not nest objects or arrays more than ${MAX_JSON_DEPTH} levels deep`);
    }
  });

  it('names reserved keys inside the address and the items by their path', () => {
    const text = JSON.stringify(validBody())
      .replace('"deliveryAddress":{', '"deliveryAddress":{"__proto__":{"x":1},')
      .replace('"items":[{', '"items":[{"constructor":{},');
    expect(fields(violationsOf(text)).sort()).toEqual(['deliveryAddress.__proto__', 'items[0].constructor']);
  });

  it(`accepts unknown properties nested up to MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) levels, as before`, () => {
    const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    // The top object is level 1, so `extra` may hold MAX_JSON_DEPTH - 1 levels.
    expect(() => parseOrderRequest(JSON.stringify(validBody()).replace('{', `{"extra":${nest(MAX_JSON_DEPTH - 1)},`))).not.toThrow();
    expect(fields(violationsOf(JSON.stringify(validBody()).replace('{', `{"extra":${nest(MAX_JSON_DEPTH)},`)))).toEqual([`extra${'[0]'.repeat(MAX_JSON_DEPTH - 1)}`]);
  });

  it.each([1_000, 30_000, 200_000])('refuses %i levels of nesting with one violation, without overflowing the stack', (depth) => {
    for (const text of ['['.repeat(depth) + ']'.repeat(depth), `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`]) {
      const vs = violationsOf(text);
      expect(vs).toHaveLength(1);
      expect(vs[0]!.message).toBe(`must not nest objects or arrays more than ${MAX_JSON_DEPTH} levels deep`);
    }
  });
});

describe('parseOrderRequest: numbers out of range', () => {
  it.each<[string, string, string]>([
    ['customerId', '1e400', 'customerId'],
    ['customerId', '-0', 'customerId'],
    ['customerId', '9223372036854775808', 'customerId'],
    ['customerId', '-9007199254740993', 'customerId'],
    ['customerId', '92233720368547758070', 'customerId'],
    ['customerId', '9.1e17', 'customerId'],
    ['quantity', '1e400', 'items[0].quantity'],
    ['quantity', '-1e400', 'items[0].quantity'],
    ['quantity', '4294967296', 'items[0].quantity'],
    ['productPrice', '1e400', 'items[0].productPrice'],
    ['productPrice', '1e-400', 'items[0].productPrice'],
    ['productPrice', '-0', 'items[0].productPrice'],
  ])('rejects %s %s, naming the field', (key, literal, field) => {
    const text = JSON.stringify(validBody()).replace(new RegExp(`"${key}":[^,}]+`), `"${key}":${literal}`);
    expect(fields(violationsOf(text))).toContain(field);
  });
});
