// The order as the service knows it. Prices are integer cents inside the engine so
// sums are exact; they become 2-decimal numbers only at the JSON edges. Ids are Java
// longs (id64.ts): ours fit a number, the original's TSIDs need a bigint.
import type { Id64 } from './id64.js';

export const orderStatuses = ['NEW', 'ACCEPT', 'REJECTED', 'CONFIRMED', 'FAILED', 'ROLLBACK'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export interface Address {
  readonly addressLine1: string;
  readonly addressLine2: string | null;
  readonly city: string;
  readonly state: string;
  readonly zipCode: string;
  readonly country: string;
}

export interface OrderItemRequest {
  /** Trimmed and upper-cased by the parser. */
  readonly productCode: string;
  readonly quantity: number;
  readonly priceCents: number;
}

export interface OrderRequest {
  readonly customerId: Id64;
  readonly items: readonly OrderItemRequest[];
  readonly deliveryAddress: Address;
}

export interface OrderItem extends OrderItemRequest {
  readonly itemId: Id64;
}

export interface Order {
  readonly orderId: Id64;
  readonly customerId: Id64;
  readonly status: OrderStatus;
  readonly source: string | null;
  readonly deliveryAddress: Address;
  readonly createdDate: Date;
  readonly items: readonly OrderItem[];
}

export function itemPriceCents(item: OrderItemRequest): number {
  return item.quantity * item.priceCents;
}

export function totalPriceCents(items: readonly OrderItemRequest[]): number {
  let total = 0;
  for (const item of items) total += itemPriceCents(item);
  return total;
}
