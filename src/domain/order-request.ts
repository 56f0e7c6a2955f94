// Parses and validates an OrderRequest body. Everything a client can get wrong is
// reported at once, one violation per field, and nothing reaches the database
// unless the whole request is valid.
import { Ajv, type ErrorObject } from 'ajv';
import { EngineError, type Violation } from '../errors.js';
import { toCents } from './money.js';
import type { Address, OrderRequest } from './order.js';

const nonBlank = (maxLength: number): Record<string, unknown> => ({ type: 'string', pattern: '\\S', maxLength });

export const MAX_ITEMS_PER_ORDER = 100;
const MAX_QUANTITY = 1_000_000;
const MAX_PRICE = 1_000_000_000; // numeric(19,2) holds far more; this keeps cents sums exact.

export const orderRequestSchema = {
  type: 'object',
  required: ['customerId', 'items', 'deliveryAddress'],
  properties: {
    customerId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
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
        addressLine2: { type: ['string', 'null'], maxLength: 255 },
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
    default:
      return { field: field || '(body)', message: e.message ?? 'is invalid' };
  }
}

interface RawItem { productCode: string; quantity: number; productPrice: number }
interface RawRequest { customerId: number; items: RawItem[]; deliveryAddress: Omit<Address, 'addressLine2'> & { addressLine2?: string | null } }

/** Parses a JSON body into a validated OrderRequest, or throws a coded EngineError. */
export function parseOrderRequest(body: Buffer | string): OrderRequest {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new EngineError('ORD_ERR_MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
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
