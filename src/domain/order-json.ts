// JSON writers for the shapes other services and dashboards depend on (spec
// "Shapes"). Written by hand, not JSON.stringify, for two reasons: prices must be
// numbers with exactly two decimals (12.50, as Jackson writes a BigDecimal of scale
// 2), and these are the hottest serializations of the service.
import { formatCents } from './money.js';
import { itemPriceCents, totalPriceCents, type Address, type Order } from './order.js';

const str = JSON.stringify as (value: string | null) => string;

/** ISO local date-time (Java LocalDateTime), in UTC: 2026-11-25T10:20:30.123 */
export function localDateTime(date: Date): string {
  return date.toISOString().slice(0, -1);
}

function addressJson(a: Address): string {
  return (
    `{"addressLine1":${str(a.addressLine1)},"addressLine2":${str(a.addressLine2)},"city":${str(a.city)},` +
    `"state":${str(a.state)},"zipCode":${str(a.zipCode)},"country":${str(a.country)}}`
  );
}

/** OrderResponse: the REST view of an order. */
export function orderResponseJson(o: Order): string {
  let items = '';
  for (const item of o.items) {
    if (items !== '') items += ',';
    items +=
      `{"itemId":${item.itemId},"productId":${str(item.productCode)},"quantity":${item.quantity},` +
      `"productPrice":${formatCents(item.priceCents)},"price":${formatCents(itemPriceCents(item))}}`;
  }
  return (
    `{"orderId":${o.orderId},"customerId":${o.customerId},"status":${str(o.status)},"source":${str(o.source)},` +
    `"deliveryAddress":${addressJson(o.deliveryAddress)},"createdDate":${str(localDateTime(o.createdDate))},` +
    `"totalPrice":${formatCents(totalPriceCents(o.items))},"items":[${items}]}`
  );
}

/**
 * What an OrderDto carries. The status is any string, not an OrderStatus: on
 * payment-orders and stock-orders the participants answer ACCEPT or REJECT, and
 * REJECT is not an order status.
 */
export interface OrderDtoFields extends Pick<Order, 'orderId' | 'customerId' | 'source' | 'items'> {
  readonly status: string;
}

/** OrderDto: the Kafka value on `orders`, `payment-orders`, `stock-orders` (JSON, no type information). */
export function orderDtoJson(o: OrderDtoFields): string {
  let items = '';
  for (const item of o.items) {
    if (items !== '') items += ',';
    items +=
      `{"itemId":${item.itemId},"productId":${str(item.productCode)},"quantity":${item.quantity},` +
      `"productPrice":${formatCents(item.priceCents)}}`;
  }
  return `{"orderId":${o.orderId},"customerId":${o.customerId},"status":${str(o.status)},"source":${str(o.source)},"items":[${items}]}`;
}

export interface Page<T> {
  readonly data: readonly T[];
  readonly totalElements: number;
  /** 0-based, as requested. */
  readonly pageNo: number;
  readonly pageSize: number;
}

/** PagedResult: pageNumber is 1-based, as the original service returns it. */
export function pagedResultJson<T>(page: Page<T>, write: (item: T) => string): string {
  const totalPages = page.pageSize === 0 ? 1 : Math.ceil(page.totalElements / page.pageSize);
  const hasNext = page.pageNo + 1 < totalPages;
  const hasPrevious = page.pageNo > 0;
  return (
    `{"data":[${page.data.map(write).join(',')}],"totalElements":${page.totalElements},` +
    `"pageNumber":${page.pageNo + 1},"totalPages":${totalPages},"isFirst":${!hasPrevious},` +
    `"isLast":${!hasNext},"hasNext":${hasNext},"hasPrevious":${hasPrevious}}`
  );
}
