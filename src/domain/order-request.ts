// Parses and validates an OrderRequest body. Everything a client can get wrong is
// reported at once, one violation per field, and nothing reaches the database
// unless the whole request is valid.
import { Ajv, type ErrorObject } from 'ajv';
import { EngineError, type Violation } from '../errors.js';
import { addId64Keyword, id64Schema, type Id64 } from './id64.js';
import { parseJsonLossless } from './lossless-json.js';
import { toCents } from './money.js';
import type { Address, OrderRequest } from './order.js';

// Every string is stored in Postgres `text` and published as JSON, so it must be text
// both can hold exactly (the `storable` keyword below).
const nonBlank = (maxLength: number): Record<string, unknown> => ({ type: 'string', pattern: '\\S', maxLength, storable: true });

export const MAX_ITEMS_PER_ORDER = 100;
const MAX_QUANTITY = 1_000_000;
const MAX_PRICE = 1_000_000_000; // numeric(19,2) holds far more; this keeps cents sums exact.

export const orderRequestSchema = {
  type: 'object',
  required: ['customerId', 'items', 'deliveryAddress'],
  properties: {
    // A Java long, as in the original: read exactly past 2^53 (lossless-json.ts).
    customerId: id64Schema(1),
    items: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ITEMS_PER_ORDER,
      items: {
        type: 'object',
        required: ['productCode', 'quantity', 'productPrice'],
        properties: {
          productCode: nonBlank(64),
          quantity: { type: 'integer', minimum: 1, maximum: MAX_QUANTITY },
          productPrice: { type: 'number', minimum: 0.01, maximum: MAX_PRICE, cents: true },
        },
      },
    },
    deliveryAddress: {
      type: 'object',
      required: ['addressLine1', 'city', 'state', 'zipCode', 'country'],
      properties: {
        addressLine1: nonBlank(255),
        addressLine2: { type: ['string', 'null'], maxLength: 255, storable: true },
        city: nonBlank(255),
        state: nonBlank(255),
        zipCode: nonBlank(255),
        country: nonBlank(255),
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true });
// "At most two decimals", decided on the double the JSON parser produced: the nearest
// double to a 2-decimal literal survives the round trip through cents. ajv's
// multipleOf: 0.01 cannot say this (0.29 / 0.01 is 28.999999999999996) and its
// multipleOfPrecision tolerance wrongly refuses large prices such as 894784.94.
ajv.addKeyword({
  keyword: 'cents',
  type: 'number',
  schemaType: 'boolean',
  errors: false,
  validate: (_schema: boolean, data: number) => Math.round(data * 100) / 100 === data,
});
// Strings Postgres cannot store as sent. U+0000: `text` cannot hold it at all (the
// insert failed, a 500). Unpaired UTF-16 surrogates (JSON's "\ud800" escape): they
// have no UTF-8 form, so the driver would write U+FFFD instead and the order would be
// stored with other text than the client sent; a 400 says so instead of changing data.
// With the u flag a surrogate pair is one code point: only a lone surrogate matches.
const LONE_SURROGATE = /\p{Cs}/u;
const storable: ((schema: boolean, data: string) => boolean) & { errors?: Partial<ErrorObject>[] } = (_schema, data) => {
  const message = data.includes('\u0000') ? 'must not contain NUL characters (U+0000)' : LONE_SURROGATE.test(data) ? 'must not contain unpaired UTF-16 surrogates' : undefined;
  storable.errors = message === undefined ? [] : [{ keyword: 'storable', message, params: {} }];
  return message === undefined;
};
ajv.addKeyword({ keyword: 'storable', type: 'string', schemaType: 'boolean', errors: true, validate: storable });
addId64Keyword(ajv);
const validateShape = ajv.compile(orderRequestSchema);

/** "/items/0/quantity" → "items[0].quantity" */
function fieldName(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function violationOf(e: ErrorObject): Violation {
  const field = fieldName(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { field: field ? `${field}.${String(p.missingProperty)}` : String(p.missingProperty), message: 'is required' };
    case 'type':
      return { field: field || '(body)', message: `must be ${String(p.type).replace(',', ' or ')}` };
    case 'pattern':
      return { field, message: 'must not be blank' };
    case 'minimum':
      return { field, message: `must be at least ${String(p.limit)}` };
    case 'maximum':
      return { field, message: `must be at most ${String(p.limit)}` };
    case 'cents':
      return { field, message: 'must have at most 2 decimal places' };
    case 'minItems':
      return { field, message: 'must not be empty' };
    case 'maxItems':
      return { field, message: `must have at most ${String(p.limit)} entries` };
    case 'maxLength':
      return { field, message: `must be at most ${String(p.limit)} characters` };
    case 'storable':
      return { field, message: e.message ?? 'is not storable text' };
    default:
      return { field: field || '(body)', message: e.message ?? 'is invalid' };
  }
}

interface RawItem { productCode: string; quantity: number; productPrice: number }
interface RawRequest { customerId: Id64; items: RawItem[]; deliveryAddress: Omit<Address, 'addressLine2'> & { addressLine2?: string | null } }

/** Deeper than any order (3 levels) by far; a body nested past it is refused, not walked. */
export const MAX_JSON_DEPTH = 32;
/** Keys that mean something to JavaScript objects: refused wherever they appear. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// Invalid UTF-8 in the body (RFC 8259 §8.1: JSON text is UTF-8) is a 400. Decoding
// leniently, as Buffer.toString does, would replace each bad sequence with U+FFFD and
// store text the client never sent. ignoreBOM keeps a BOM in the text, where JSON.parse
// refuses it, as it always did.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBody(body: Buffer | string): string {
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new EngineError('ORD_ERR_MALFORMED_JSON', 'request body is not valid UTF-8');
  }
}

/**
 * Walks the parsed body without recursion (a body can nest tens of thousands of
 * levels within 64 KiB) and refuses reserved keys, which could reach an object's
 * prototype in code that copies or merges the body, and nesting past MAX_JSON_DEPTH.
 * Other unknown keys are ignored, as before.
 */
function structureViolations(value: unknown): Violation[] {
  const violations: Violation[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node.value !== 'object' || node.value === null) continue;
    if (node.depth >= MAX_JSON_DEPTH) {
      violations.push({ field: node.path || '(body)', message: `must not nest objects or arrays more than ${MAX_JSON_DEPTH} levels deep` });
      continue;
    }
    if (Array.isArray(node.value)) {
      node.value.forEach((v, i) => stack.push({ value: v, path: `${node.path}[${i}]`, depth: node.depth + 1 }));
      continue;
    }
    for (const [key, v] of Object.entries(node.value)) {
      const path = node.path === '' ? key : `${node.path}.${key}`;
      if (RESERVED_KEYS.has(key)) violations.push({ field: path, message: 'is a reserved name and not allowed' });
      else stack.push({ value: v, path, depth: node.depth + 1 });
    }
  }
  return violations;
}

/** Parses a JSON body into a validated OrderRequest, or throws a coded EngineError. */
export function parseOrderRequest(body: Buffer | string): OrderRequest {
  const text = decodeBody(body);
  let value: unknown;
  try {
    value = parseJsonLossless(text);
  } catch (err) {
    throw new EngineError('ORD_ERR_MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
  const structure = structureViolations(value);
  if (structure.length > 0) throw new EngineError('ORD_ERR_VALIDATION', 'the order request is invalid', { violations: structure });
  if (!validateShape(value)) {
    const violations = (validateShape.errors ?? []).map(violationOf);
    throw new EngineError('ORD_ERR_VALIDATION', 'the order request is invalid', { violations });
  }
  const raw: RawRequest = value;
  const seen = new Map<string, number>();
  const violations: Violation[] = [];
  const items = raw.items.map((item, i) => {
    const productCode = item.productCode.trim().toUpperCase();
    const first = seen.get(productCode);
    // order_items is unique on (product_code, order_id): say so instead of failing in SQL.
    if (first !== undefined) violations.push({ field: `items[${i}].productCode`, message: `duplicates items[${first}] (${productCode})` });
    else seen.set(productCode, i);
    return { productCode, quantity: item.quantity, priceCents: toCents(item.productPrice) };
  });
  if (violations.length > 0) throw new EngineError('ORD_ERR_VALIDATION', 'the order request is invalid', { violations });
  const a = raw.deliveryAddress;
  return {
    customerId: raw.customerId,
    items,
    deliveryAddress: {
      addressLine1: a.addressLine1,
      addressLine2: a.addressLine2 ?? null,
      city: a.city,
      state: a.state,
      zipCode: a.zipCode,
      country: a.country,
    },
  };
}
