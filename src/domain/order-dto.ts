// The OrderDto as it travels on Kafka (spec "Shapes", "Kafka"): the value of
// `orders`, `payment-orders` and `stock-orders`. Reading is strict, because a record
// that fails here goes to the DLQ with the reason, and an id or price that JSON
// cannot carry exactly must not slip through as a rounded number. Writing reuses the
// hand-written OrderDto writer of order-json.ts, so every producer of the engine puts
// the same bytes on the wire (field order, prices with two decimals).
import { Ajv } from 'ajv';
import { EngineError } from '../errors.js';
import { addId64Keyword, id64Schema, type Id64 } from './id64.js';
import { parseJsonLossless } from './lossless-json.js';
import { toCents } from './money.js';
import { orderDtoJson } from './order-json.js';
import { MAX_ITEMS_PER_ORDER } from './order-request.js';

export interface OrderDtoItem {
  readonly itemId: Id64;
  /** The product code. */
  readonly productId: string;
  readonly quantity: number;
  /** Unit price, a number with at most two decimals (BigDecimal scale 2 in the original). */
  readonly productPrice: number;
}

export interface OrderDto {
  readonly orderId: Id64;
  readonly customerId: Id64;
  /** On `orders` an OrderStatus; on payment-orders and stock-orders ACCEPT or REJECT. */
  readonly status: string;
  readonly source: string | null;
  readonly items: readonly OrderDtoItem[];
}

/** What the payment and inventory services answer. */
export type ParticipantAnswer = 'ACCEPT' | 'REJECT';
/** Who answered, or who caused a ROLLBACK. */
export type ParticipantSource = 'PAYMENT' | 'INVENTORY';

export const orderDtoSchema = {
  type: 'object',
  // A missing source reads as null, as Jackson would read it.
  required: ['orderId', 'customerId', 'status', 'items'],
  properties: {
    // Java longs, as the original writes them (its TSIDs are about 9.1e17): read exactly
    // by parseJsonLossless, never rounded by JSON.parse into another order's key.
    orderId: id64Schema(1),
    customerId: id64Schema(1),
    status: { type: 'string', minLength: 1, maxLength: 32 },
    source: { type: ['string', 'null'], maxLength: 64 },
    items: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_ORDER,
      items: {
        type: 'object',
        required: ['itemId', 'productId', 'quantity', 'productPrice'],
        properties: {
          itemId: id64Schema(0),
          productId: { type: 'string', minLength: 1, maxLength: 64 },
          quantity: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          productPrice: { type: 'number', minimum: 0, maximum: 1_000_000_000, multipleOf: 0.01 },
        },
      },
    },
  },
} as const;

// multipleOfPrecision: 0.29 / 0.01 is 28.999999999999996 in floating point (see
// order-request.ts). The first error is reason enough for a DLQ record.
const ajv = new Ajv({ multipleOfPrecision: 8 });
addId64Keyword(ajv);
const validate = ajv.compile<RawOrderDto>(orderDtoSchema);

interface RawOrderDto {
  orderId: Id64;
  customerId: Id64;
  status: string;
  source?: string | null;
  items: OrderDtoItem[];
}

/** Reads a Kafka value; throws EngineError('ORD_ERR_VALIDATION', reason) on anything that is not an OrderDto. */
export function parseOrderDto(bytes: Buffer): OrderDto {
  let value: unknown;
  try {
    value = parseJsonLossless(bytes.toString('utf8'));
  } catch (err) {
    throw new EngineError('ORD_ERR_VALIDATION', `OrderDto is not valid JSON: ${(err as Error).message}`);
  }
  if (!validate(value)) {
    throw new EngineError('ORD_ERR_VALIDATION', `invalid OrderDto: ${ajv.errorsText(validate.errors, { dataVar: 'OrderDto' })}`);
  }
  // A fresh object: unknown properties are dropped, so they never travel further.
  return {
    orderId: value.orderId,
    customerId: value.customerId,
    status: value.status,
    source: value.source ?? null,
    items: value.items.map((i) => ({ itemId: i.itemId, productId: i.productId, quantity: i.quantity, productPrice: i.productPrice })),
  };
}

/** Writes the Kafka value: the field order and 2-decimal prices of orderDtoJson. */
export function serializeOrderDto(dto: OrderDto): Buffer {
  return Buffer.from(
    orderDtoJson({
      orderId: dto.orderId,
      customerId: dto.customerId,
      status: dto.status,
      source: dto.source,
      items: dto.items.map((i) => ({ itemId: i.itemId, productCode: i.productId, quantity: i.quantity, priceCents: toCents(i.productPrice) })),
    }),
    'utf8',
  );
}
