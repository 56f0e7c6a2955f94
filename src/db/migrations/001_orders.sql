-- Orders and their items, as the original service's Flyway schema has them.
create table orders (
  id                      bigint primary key,
  customer_id             bigint not null,
  status                  text not null,
  source                  text,
  delivery_address_line1  text not null,
  delivery_address_line2  text,
  delivery_address_city   text not null,
  delivery_address_state  text not null,
  delivery_address_zip_code text not null,
  delivery_address_country text not null,
  version                 integer not null default 0,
  created_by              text,
  created_date            timestamptz not null default now(),
  last_modified_by        text,
  last_modified_date      timestamptz not null default now()
);
create index orders_customer_id_idx on orders (customer_id, id);
-- The republish job looks for NEW orders by their last change.
create index orders_new_last_modified_idx on orders (last_modified_date) where status = 'NEW';

create table order_items (
  id            bigint primary key,
  product_code  text not null,
  quantity      integer not null check (quantity > 0),
  product_price numeric(19, 2) not null,
  order_id      bigint not null references orders (id) on delete cascade,
  unique (product_code, order_id)
);
create index order_items_order_id_idx on order_items (order_id);

-- Transactional outbox (Spring Modulith's event publication table): a row per event,
-- written in the same transaction as the order; the relay publishes it and stamps
-- completed_at. Rows with completed_at null are republished after a restart.
create table outbox (
  id            bigserial primary key,
  aggregate_id  bigint not null,
  topic         text not null,
  event_key     text not null,
  payload       text not null,
  created_at    timestamptz not null default now(),
  completed_at  timestamptz,
  attempts      integer not null default 0
);
create index outbox_pending_idx on outbox (id) where completed_at is null;
create index outbox_completed_idx on outbox (completed_at) where completed_at is not null;

-- The built-in catalog used when CATALOG_SERVICE_URL is not set.
create table catalog_products (
  code        text primary key,
  name        text not null,
  price       numeric(19, 2) not null
);
insert into catalog_products (code, name, price)
select format('P%s', lpad(n::text, 3, '0')), format('Sample product %s', n), 100.00
from generate_series(1, 100) as n
on conflict do nothing;

-- Idempotency keys of POST /api/orders/generate: a repeated key does nothing more.
create table generate_requests (
  idempotency_key text primary key,
  batch_size      integer not null,
  created_at      timestamptz not null default now()
);
