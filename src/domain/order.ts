// The order as the service knows it. Prices are integer cents inside the engine so
// sums are exact; they become 2-decimal numbers only at the JSON edges.

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
  readonly customerId: number;
  readonly items: readonly OrderItemRequest[];
  readonly deliveryAddress: Address;
}

export interface OrderItem extends OrderItemRequest {
  readonly itemId: number;
}

export interface Order {
  readonly orderId: number;
  readonly customerId: number;
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
