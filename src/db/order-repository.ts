// SQL for orders, their items and the outbox. Reads are single round trips; a batch of
// new orders (see group-commit.ts) is one statement: orders, items and outbox rows go
// in together through data-modifying CTEs, atomically, with no BEGIN/COMMIT trips.
import type pg from 'pg';
import { parseId64, type Id64 } from '../domain/id64.js';
import { formatCents, parseNumericCents } from '../domain/money.js';
import type { Order, OrderItem, OrderRequest, OrderStatus } from '../domain/order.js';
import { textArray as textArrayLiteral } from './pg-array.js';
import { int4Array, int8Array, textArray, timestamptzArray } from './pg-binary-array.js';
import { dbError } from './pool.js';

export const ORDER_SORT_COLUMNS = {
  id: 'id',
  orderId: 'id',
  customerId: 'customer_id',
  status: 'status',
  createdDate: 'created_date',
  lastModifiedDate: 'last_modified_date',
} as const;
export type OrderSortField = keyof typeof ORDER_SORT_COLUMNS;

export interface PageQuery {
  readonly pageNo: number;
  readonly pageSize: number;
  readonly sortBy: OrderSortField;
  readonly sortDir: 'asc' | 'desc';
  readonly customerId?: Id64;
}

export interface OutboxEvent {
  readonly topic: string;
  readonly key: string;
  readonly payload: string;
}

export interface NewOrder {
  readonly order: Order;
  readonly event: OutboxEvent;
}

// int8 columns arrive as canonical ids (pool.ts).
interface OrderRow {
  id: Id64;
  customer_id: Id64;
  status: OrderStatus;
  source: string | null;
  delivery_address_line1: string;
  delivery_address_line2: string | null;
  delivery_address_city: string;
  delivery_address_state: string;
  delivery_address_zip_code: string;
  delivery_address_country: string;
  created_date: Date;
  items: { id: string; product_code: string; quantity: number; product_price: string }[] | null;
}

// Items come back as one JSON array per order; numeric stays text (exact cents), and
// so does the item id: pg reads json with JSON.parse, which rounds a long past 2^53.
const SELECT_ORDER = `
  select o.id, o.customer_id, o.status, o.source, o.delivery_address_line1, o.delivery_address_line2,
         o.delivery_address_city, o.delivery_address_state, o.delivery_address_zip_code,
         o.delivery_address_country, o.created_date,
         (select json_agg(json_build_object('id', i.id::text, 'product_code', i.product_code, 'quantity', i.quantity,
                                            'product_price', i.product_price::text) order by i.id)
            from order_items i where i.order_id = o.id) as items
    from orders o`;

// Named (see insertOrders): the read by id is planned once per connection.
const FIND_ORDER = `${SELECT_ORDER} where o.id = $1`;

function itemIdOf(text: string): Id64 {
  const id = parseId64(text);
  if (id === undefined) throw new Error(`order_items.id ${text} is not a 64-bit id`);
  return id;
}

function toOrder(row: OrderRow): Order {
  const items: OrderItem[] = (row.items ?? []).map((i) => ({
    itemId: itemIdOf(i.id),
    productCode: i.product_code,
    quantity: i.quantity,
    priceCents: parseNumericCents(i.product_price),
  }));
  return {
    orderId: row.id,
    customerId: row.customer_id,
    status: row.status,
    source: row.source,
    createdDate: row.created_date,
    deliveryAddress: {
      addressLine1: row.delivery_address_line1,
      addressLine2: row.delivery_address_line2,
      city: row.delivery_address_city,
      state: row.delivery_address_state,
      zipCode: row.delivery_address_zip_code,
      country: row.delivery_address_country,
    },
    items,
  };
}

export const INSERT_ORDERS = `
  with new_orders as (
    insert into orders (id, customer_id, status, source, delivery_address_line1, delivery_address_line2,
                        delivery_address_city, delivery_address_state, delivery_address_zip_code,
                        delivery_address_country, created_date, last_modified_date)
    select id, customer_id, status, source, l1, l2, city, state, zip, country, created, created
      from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                  $8::text[], $9::text[], $10::text[], $11::timestamptz[])
           as t(id, customer_id, status, source, l1, l2, city, state, zip, country, created)
  ), new_items as (
    insert into order_items (id, product_code, quantity, product_price, order_id)
    select * from unnest($12::bigint[], $13::text[], $14::integer[], $15::numeric[], $16::bigint[])
  )
  insert into outbox (aggregate_id, topic, event_key, payload)
  select * from unnest($1::bigint[], $17::text[], $18::text[], $19::text[])`;

/**
 * The 19 parameters of INSERT_ORDERS for a batch: one array per column, orders' columns
 * first, then the items', then the outbox's. Binary arrays (src/db/pg-binary-array.ts),
 * but for the prices: numeric's binary form is base-10000 digits, and a price's text
 * ("12.50") needs no escaping.
 */
export function insertOrdersParams(batch: readonly NewOrder[]): (Buffer | string)[] {
  const ids: Id64[] = [];
  const customers: Id64[] = [];
  const statuses: string[] = [];
  const sources: (string | null)[] = [];
  const line1: string[] = [];
  const line2: (string | null)[] = [];
  const cities: string[] = [];
  const states: string[] = [];
  const zips: string[] = [];
  const countries: string[] = [];
  const created: Date[] = [];
  const itemIds: Id64[] = [];
  const codes: string[] = [];
  const quantities: number[] = [];
  const prices: string[] = [];
  const itemOrders: Id64[] = [];
  const topics: string[] = [];
  const keys: string[] = [];
  const payloads: string[] = [];
  for (const { order: o, event } of batch) {
    const a = o.deliveryAddress;
    ids.push(o.orderId);
    customers.push(o.customerId);
    statuses.push(o.status);
    sources.push(o.source);
    line1.push(a.addressLine1);
    line2.push(a.addressLine2);
    cities.push(a.city);
    states.push(a.state);
    zips.push(a.zipCode);
    countries.push(a.country);
    created.push(o.createdDate);
    for (const item of o.items) {
      itemIds.push(item.itemId);
      codes.push(item.productCode);
      quantities.push(item.quantity);
      prices.push(formatCents(item.priceCents));
      itemOrders.push(o.orderId);
    }
    topics.push(event.topic);
    keys.push(event.key);
    payloads.push(event.payload);
  }
  return [
    int8Array(ids),
    int8Array(customers),
    textArray(statuses),
    textArray(sources),
    textArray(line1),
    textArray(line2),
    textArray(cities),
    textArray(states),
    textArray(zips),
    textArray(countries),
    timestamptzArray(created),
    int8Array(itemIds),
    textArray(codes),
    int4Array(quantities),
    textArrayLiteral(prices),
    int8Array(itemOrders),
    textArray(topics),
    textArray(keys),
    textArray(payloads),
  ];
}

export class OrderRepository {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Inserts orders, their items and their outbox events in one atomic statement. */
  async insertOrders(batch: readonly NewOrder[]): Promise<void> {
    try {
      // Named: each connection parses and plans the statement once, then only binds.
      await this.#pool.query({ name: 'insert-orders', text: INSERT_ORDERS, values: insertOrdersParams(batch) });
    } catch (err) {
      throw dbError(err, 'insert orders');
    }
  }

  async findById(id: Id64): Promise<Order | undefined> {
    try {
      const { rows } = await this.#pool.query<OrderRow>({ name: 'find-order', text: FIND_ORDER, values: [id] });
      return rows[0] === undefined ? undefined : toOrder(rows[0]);
    } catch (err) {
      throw dbError(err, 'find order');
    }
  }

  async findPage(q: PageQuery): Promise<{ orders: Order[]; total: number }> {
    const column = ORDER_SORT_COLUMNS[q.sortBy];
    const dir = q.sortDir === 'desc' ? 'desc' : 'asc';
    const where = q.customerId === undefined ? '' : 'where o.customer_id = $3';
    const params: unknown[] = [q.pageSize, q.pageNo * q.pageSize];
    if (q.customerId !== undefined) params.push(q.customerId);
    // The tie-break on id keeps pages stable when the sort column repeats.
    const sql = `${SELECT_ORDER} ${where} order by o.${column} ${dir}, o.id ${dir} limit $1 offset $2`;
    const countSql = `select count(*)::bigint as total from orders o ${q.customerId === undefined ? '' : 'where o.customer_id = $1'}`;
    try {
      const [page, count] = await Promise.all([
        this.#pool.query<OrderRow>(sql, params),
        this.#pool.query<{ total: number }>(countSql, q.customerId === undefined ? [] : [q.customerId]),
      ]);
      return { orders: page.rows.map(toOrder), total: count.rows[0]?.total ?? 0 };
    } catch (err) {
      throw dbError(err, 'list orders');
    }
  }

  /** Replaces the order's customer, address and items; undefined when it does not exist. */
  async update(id: Id64, req: OrderRequest, itemIds: readonly Id64[]): Promise<Order | undefined> {
    const client = await this.#pool.connect().catch((err: unknown) => {
      throw dbError(err, 'update order');
    });
    try {
      await client.query('begin');
      const a = req.deliveryAddress;
      const updated = await client.query(
        `update orders set customer_id = $2, delivery_address_line1 = $3, delivery_address_line2 = $4,
                delivery_address_city = $5, delivery_address_state = $6, delivery_address_zip_code = $7,
                delivery_address_country = $8, version = version + 1, last_modified_date = now()
          where id = $1`,
        [id, req.customerId, a.addressLine1, a.addressLine2, a.city, a.state, a.zipCode, a.country],
      );
      if (updated.rowCount === 0) {
        await client.query('rollback');
        return undefined;
      }
      await client.query('delete from order_items where order_id = $1', [id]);
      await client.query(
        `insert into order_items (id, product_code, quantity, product_price, order_id)
         select id, code, qty, price, $5 from unnest($1::bigint[], $2::text[], $3::integer[], $4::numeric[]) as t(id, code, qty, price)`,
        [itemIds, req.items.map((i) => i.productCode), req.items.map((i) => i.quantity), req.items.map((i) => formatCents(i.priceCents)), id],
      );
      const { rows } = await client.query<OrderRow>(`${SELECT_ORDER} where o.id = $1`, [id]);
      await client.query('commit');
      return rows[0] === undefined ? undefined : toOrder(rows[0]);
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw dbError(err, 'update order');
    } finally {
      client.release();
    }
  }

  async delete(id: Id64): Promise<boolean> {
    try {
      const { rowCount } = await this.#pool.query('delete from orders where id = $1', [id]);
      return (rowCount ?? 0) > 0;
    } catch (err) {
      throw dbError(err, 'delete order');
    }
  }
}
