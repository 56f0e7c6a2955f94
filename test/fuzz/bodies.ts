// Hostile bodies: a valid order with one fault put in (a NUL, a lone surrogate, bytes
// that are not UTF-8, a number out of range, a reserved key, deep nesting), or too big.
// Each is owed a 400 (413 for the size) naming what is wrong; none may store a row.
import fc from 'fast-check';
import { CONTEXT_PATH } from './routes.js';
import { fuzzCase, httpRequest, problem, rarely, type CaseClass, type Expectation, type FuzzCase, type WireRequest } from './wire.js';

/** Raw JSON texts for the parts of an order; members in `top`, `item`, `addr` end with a comma. */
interface OrderParts {
  readonly customerId?: string;
  readonly productCode?: string;
  readonly quantity?: string;
  readonly productPrice?: string;
  /** The whole `items` value. */
  readonly items?: string;
  readonly address?: Readonly<Partial<Record<AddressField, string>>>;
  readonly top?: string;
  readonly item?: string;
  readonly addr?: string;
}

const ADDRESS_FIELDS = ['addressLine1', 'addressLine2', 'city', 'state', 'zipCode', 'country'] as const;
type AddressField = (typeof ADDRESS_FIELDS)[number];
const ADDRESS: Record<AddressField, string> = { addressLine1: '1 Main Street', addressLine2: 'Suite 4', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' };

/** A valid order's JSON with some parts replaced (valid only when nothing is). */
export function orderJson(p: OrderParts = {}): string {
  const address = { ...Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, JSON.stringify(ADDRESS[f])])), ...p.address };
  const addr = `{${p.addr ?? ''}${Object.entries(address)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
  const item = `{${p.item ?? ''}"productCode":${p.productCode ?? '"P001"'},"quantity":${p.quantity ?? '1'},"productPrice":${p.productPrice ?? '1.5'}}`;
  return `{${p.top ?? ''}"customerId":${p.customerId ?? '4242'},"items":${p.items ?? `[${item}]`},"deliveryAddress":${addr}}`;
}

/** The string fields of an order: the field name a violation must carry and how to set its raw JSON. */
const STRING_FIELDS: readonly { readonly field: string; readonly base: string; readonly set: (json: string) => OrderParts }[] = [
  { field: 'items[0].productCode', base: 'P001', set: (json) => ({ productCode: json }) },
  ...ADDRESS_FIELDS.map((f) => ({ field: `deliveryAddress.${f}`, base: ADDRESS[f], set: (json: string): OrderParts => ({ address: { [f]: json } }) })),
];

/** Where a body goes: POST /api/orders or PUT /api/orders/{id} of an order that cannot exist. */
const bodyTarget = fc.record({ put: fc.boolean(), prefix: fc.boolean(), id: fc.integer({ min: 1, max: 999 }) }).map(({ put, prefix, id }) => ({
  method: put ? 'PUT' : 'POST',
  target: `${prefix ? CONTEXT_PATH : ''}/api/orders${put ? `/${id}` : ''}`,
}));

/** A string field's JSON text with `insert` (already JSON text) put at some position of its value. */
const stringFieldWith = (insert: fc.Arbitrary<string>): fc.Arbitrary<{ field: string; parts: OrderParts }> =>
  fc.record({ f: fc.constantFrom(...STRING_FIELDS), at: fc.nat(), insert }).map(({ f, at, insert: text }) => {
    const i = at % (f.base.length + 1);
    return { field: f.field, parts: f.set(`"${f.base.slice(0, i)}${text}${f.base.slice(i)}"`) };
  });

function bodyCase(cls: CaseClass, target: { method: string; target: string }, body: Buffer | string, expect: Expectation): FuzzCase {
  return fuzzCase(cls, [{ cls, method: target.method, bytes: httpRequest(target.method, target.target, { body }), expect }]);
}

export const nulCharacter = fc
  .tuple(bodyTarget, fc.oneof(stringFieldWith(fc.constantFrom('\\u0000', '\\u0000\\u0000', 'a\\u0000')), fc.constant(undefined)), fc.constantFrom(...STRING_FIELDS))
  .map(([target, escaped, raw]) =>
    escaped !== undefined
      ? bodyCase('nul-character', target, orderJson(escaped.parts), problem(400, 'ORD_ERR_VALIDATION', { field: escaped.field }))
      : // A raw NUL byte inside a JSON string is a control character JSON forbids.
        bodyCase('nul-character', target, orderJson(raw.set(`"${raw.base}\u0000"`)), problem(400, 'ORD_ERR_MALFORMED_JSON')),
  );

export const loneSurrogate = fc
  .tuple(bodyTarget, stringFieldWith(fc.constantFrom('\\ud800', '\\udfff', '\\udbff', '\\ud83d', '\\ude00x', '\\ude00\\ud83d')))
  .map(([target, { field, parts }]) => bodyCase('lone-surrogate', target, orderJson(parts), problem(400, 'ORD_ERR_VALIDATION', { field })));

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80],
  [0xc3, 0x28],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xf0, 0x9f, 0x98],
  [0xc3],
  [0xf4, 0x90, 0x80, 0x80],
];

export const invalidUtf8 = fc
  .tuple(bodyTarget, stringFieldWith(fc.constant('@@BYTES@@')), fc.constantFrom(...INVALID_UTF8))
  .map(([target, { parts }, bytes]) => {
    const [before, after] = orderJson(parts).split('@@BYTES@@') as [string, string];
    const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    return bodyCase('invalid-utf8-body', target, body, problem(400, 'ORD_ERR_MALFORMED_JSON'));
  });

// Each value is out of range for its field (all of them invalid there, on purpose).
const NUMBER_FIELDS: readonly { readonly field: string; readonly values: readonly string[]; readonly set: (json: string) => OrderParts }[] = [
  { field: 'customerId', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '-9007199254740993', '9.1e17', '1e-400', '-1', '1e308', '0.001', '1.005', '2.5'], set: (v) => ({ customerId: v }) },
  { field: 'items[0].quantity', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '4294967296', '1e-400', '-1', '1e308', '0.001', '2.5', '1000001'], set: (v) => ({ quantity: v }) },
  { field: 'items[0].productPrice', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '4294967296', '1e-400', '-1', '1e308', '0.001', '1.005', '1000000000.01'], set: (v) => ({ productPrice: v }) },
];

export const numberOutOfRange = fc
  .tuple(
    bodyTarget,
    fc.constantFrom(...NUMBER_FIELDS).chain((f) => fc.constantFrom(...f.values).map((v) => ({ f, v }))),
    rarely(fc.constantFrom('NaN', 'Infinity', '-Infinity', '0x10', '+1', '.5', '1.', '01', '1e', '--1')),
  )
  .map(([target, { f, v }, token]) =>
    token === null
      ? bodyCase('number-out-of-range', target, orderJson(f.set(v)), problem(400, 'ORD_ERR_VALIDATION', { field: f.field }))
      : bodyCase('number-out-of-range', target, orderJson(f.set(token)), problem(400, 'ORD_ERR_MALFORMED_JSON')),
  );

export const prototypePollution = fc
  .tuple(
    bodyTarget,
    fc.constantFrom(['__proto__', '"__proto__"'], ['__proto__', '"\\u005f_proto__"'], ['constructor', '"constructor"'], ['prototype', '"prototype"']),
    fc.constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', 'null', '1', '[]', '{"isAdmin":true,"status":"CONFIRMED"}'),
    fc.constantFrom('top', 'item', 'addr'),
  )
  .map(([target, [key, keyJson], value, where]) => {
    const member = `${keyJson}:${value},`;
    const path = where === 'top' ? key : where === 'item' ? `items[0].${key}` : `deliveryAddress.${key}`;
    return bodyCase('prototype-pollution-key', target, orderJson({ [where]: member }), problem(400, 'ORD_ERR_VALIDATION', { field: path }));
  });

/** Nesting well past what an order needs (3 levels), kept under the 64 KiB body limit. */
export const deepJson = fc
  .tuple(bodyTarget, fc.constantFrom('arrays', 'objects'), fc.constantFrom('top', 'items', 'addr', 'whole'), fc.integer({ min: 33, max: 9_000 }))
  .map(([target, kind, where, depth]) => {
    const nest = kind === 'arrays' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body =
      where === 'whole' ? nest : where === 'top' ? orderJson({ top: `"extra":${nest},` }) : where === 'addr' ? orderJson({ addr: `"extra":${nest},` }) : orderJson({ items: nest });
    return bodyCase('deep-json', target, body, problem(400, 'ORD_ERR_VALIDATION'));
  });

export const oversizeBody = fc.tuple(bodyTarget, fc.integer({ min: 65_537, max: 80_000 })).map(([target, size]) => {
  const body = `{"customerId":1,"pad":"${'x'.repeat(size)}"}`;
  // The answer may be lost: the server answers before reading the rest and closes.
  return bodyCase('oversize-body', target, body, problem(413, 'ORD_ERR_BODY_TOO_LARGE', { optional: true }));
});

export const bodyOnGet = fc
  .tuple(fc.integer({ min: 1, max: 999 }), fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 300 }))
  .map(([id, liveness, body]): WireRequest =>
    liveness
      ? { cls: 'body-on-get', method: 'GET', bytes: httpRequest('GET', '/actuator/health/liveness', { body: Buffer.from(body), contentType: null }), expect: { statuses: [200] } }
      : { cls: 'body-on-get', method: 'GET', bytes: httpRequest('GET', `/api/orders/${id}`, { body: Buffer.from(body) }), expect: problem(404, 'ORD_ERR_ORDER_NOT_FOUND') },
  );

/** An order that fails validation (customerId 0), for requests whose fault is elsewhere. */
export const INVALID_BODY = orderJson({ customerId: '0' });
