// The schemas of the OpenAPI document say what the service does: the request schema,
// converted from the validator's, accepts and refuses the bodies the validator does,
// and what the hand-written JSON writers and the problem mapper produce validates
// against the response schemas.
import { describe, expect, it } from 'vitest';
import { orderDtoJson, orderResponseJson, pagedResultJson } from '../../../src/domain/order-json.js';
import { MAX_ITEMS_PER_ORDER, parseOrderRequest } from '../../../src/domain/order-request.js';
import type { Order } from '../../../src/domain/order.js';
import { EngineError, errorCodes, toProblem, type ErrorCode } from '../../../src/errors.js';
import { toOpenApiSchema } from '../../../src/http/openapi/json-schema.js';
import { EXAMPLE_ORDER_REQUEST } from '../../../src/http/openapi/operations.js';
import { componentSchemas, schemaRef } from '../../../src/http/openapi/schemas.js';
import { schemaCompiler } from '../../support/openapi.js';

const compile = schemaCompiler({ components: { schemas: componentSchemas } });
const compiled = new Map<string, ReturnType<typeof compile>>();
const validate = (name: Parameters<typeof schemaRef>[0], value: unknown): unknown[] => {
  if (!compiled.has(name)) compiled.set(name, compile(schemaRef(name)));
  const v = compiled.get(name)!;
  return v(value) ? [] : (v.errors ?? []);
};

describe('toOpenApiSchema', () => {
  it('writes cents as multipleOf 0.01 and drops storable, keeping the rest as it is', () => {
    expect(toOpenApiSchema({ type: 'object', required: ['p'], properties: { p: { type: 'number', minimum: 0.01, cents: true }, s: { type: 'string', maxLength: 3, storable: true } } })).toEqual({
      type: 'object',
      required: ['p'],
      properties: { p: { type: 'number', minimum: 0.01, multipleOf: 0.01 }, s: { type: 'string', maxLength: 3 } },
    });
  });

  it.each([
    ['a keyword it does not know', { type: 'string', format: 'email' }, "#/format: the keyword 'format'"],
    ['a tuple items (draft-07; prefixItems in 2020-12)', { type: 'array', items: [{ type: 'string' }] }, "#/items: the keyword 'items'"],
    ['definitions (draft-07; $defs in 2020-12)', { definitions: {} }, "#/definitions: the keyword 'definitions'"],
    ['an unknown keyword deep inside', { properties: { a: { properties: { b: { dependencies: {} } } } } }, '#/properties/a/properties/b/dependencies'],
  ])('refuses %s', (_name, schema, message) => {
    expect(() => toOpenApiSchema(schema)).toThrow(message);
  });
});

describe('OrderRequest as documented', () => {
  const item = { productCode: 'P001', quantity: 2, productPrice: 10.5 };
  const body = (over: Record<string, unknown>): Record<string, unknown> => ({ ...EXAMPLE_ORDER_REQUEST, ...over });
  const accepts = (value: unknown): boolean => {
    try {
      parseOrderRequest(JSON.stringify(value));
      return true;
    } catch (err) {
      if (err instanceof EngineError && err.code === 'ORD_ERR_VALIDATION') return false;
      throw err;
    }
  };

  it.each([
    ['the example', EXAMPLE_ORDER_REQUEST],
    ['addressLine2 null', body({ deliveryAddress: { ...EXAMPLE_ORDER_REQUEST.deliveryAddress, addressLine2: null } })],
    ['no customerId', body({ customerId: undefined })],
    ['customerId 0', body({ customerId: 0 })],
    ['customerId 1.5', body({ customerId: 1.5 })],
    ['customerId as a string', body({ customerId: '1' })],
    ['no items', body({ items: [] })],
    ['too many items', body({ items: Array.from({ length: MAX_ITEMS_PER_ORDER + 1 }, (_, i) => ({ ...item, productCode: `P${i}` })) })],
    ['a blank product code', body({ items: [{ ...item, productCode: '  ' }] })],
    ['a product code of 65 characters', body({ items: [{ ...item, productCode: 'P'.repeat(65) }] })],
    ['quantity 0', body({ items: [{ ...item, quantity: 0 }] })],
    ['price 0', body({ items: [{ ...item, productPrice: 0 }] })],
    ['price with three decimals', body({ items: [{ ...item, productPrice: 1.005 }] })],
    ['price 0.29 (not a float multiple of 0.01)', body({ items: [{ ...item, productPrice: 0.29 }] })],
    ['no city', body({ deliveryAddress: { ...EXAMPLE_ORDER_REQUEST.deliveryAddress, city: undefined } })],
    ['a blank country', body({ deliveryAddress: { ...EXAMPLE_ORDER_REQUEST.deliveryAddress, country: '\t' } })],
    ['not an object', [1, 2]],
  ])('%s: the document and the validator agree', (_name, value) => {
    const documented = validate('OrderRequest', JSON.parse(JSON.stringify(value))).length === 0;
    expect(documented).toBe(accepts(value));
  });
});

describe('what the service writes validates against the documented responses', () => {
  const order: Order = {
    orderId: 2_000_000_000_001,
    customerId: 7,
    status: 'ROLLBACK',
    source: 'PAYMENT',
    deliveryAddress: { addressLine1: '1 Main St', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    createdDate: new Date(Date.UTC(2026, 10, 25, 10, 20, 30, 123)),
    items: [
      { itemId: 2_000_000_000_002, productCode: 'P001', quantity: 3, priceCents: 29 },
      { itemId: 2_000_000_000_003, productCode: 'P002', quantity: 1, priceCents: 100_000_000_000 },
    ],
  };

  it('OrderResponse', () => {
    expect(validate('OrderResponse', JSON.parse(orderResponseJson(order)))).toEqual([]);
    expect(validate('OrderResponse', { ...JSON.parse(orderResponseJson(order)), status: 'DONE' })).not.toEqual([]);
  });

  it('PagedOrderResponse, full and empty', () => {
    expect(validate('PagedOrderResponse', JSON.parse(pagedResultJson({ data: [order, order], totalElements: 5, pageNo: 1, pageSize: 2 }, orderResponseJson)))).toEqual([]);
    expect(validate('PagedOrderResponse', JSON.parse(pagedResultJson({ data: [], totalElements: 0, pageNo: 0, pageSize: 10 }, orderResponseJson)))).toEqual([]);
  });

  it('OrderDto', () => {
    expect(validate('OrderDto', JSON.parse(orderDtoJson(order)))).toEqual([]);
  });

  it.each(Object.keys(errorCodes) as ErrorCode[])('Problem of %s', (code) => {
    const problem = toProblem(new EngineError(code, 'detail', { violations: [{ field: 'items[0].quantity', message: 'must be at least 1' }] }), '/api/orders', new Date(), '6f1c1c1e-6e0a-4c7b-9d0e-2b8c6a1f0c11');
    expect(validate('Problem', JSON.parse(JSON.stringify(problem)))).toEqual([]);
  });
});
