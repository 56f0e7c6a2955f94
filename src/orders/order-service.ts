// The order use cases behind the REST API: the catalog check, id assignment, the
// group-committed write of order + items + outbox event, and the wake-up of the relay.
import type { ProductCatalog } from '../catalog/catalog.js';
import { GroupCommitter } from '../db/group-commit.js';
import type { NewOrder, OrderRepository, PageQuery } from '../db/order-repository.js';
import { EngineError } from '../errors.js';
import type { Id64 } from '../domain/id64.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Order, OrderRequest } from '../domain/order.js';
import { orderDtoJson } from '../domain/order-json.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';

export interface OrderServiceOptions {
  readonly maxBatch: number;
  readonly maxInFlight: number;
  readonly maxQueued: number;
}

export class OrderService {
  readonly #repo: OrderRepository;
  readonly #catalog: ProductCatalog;
  readonly #ids: IdGenerator;
  readonly #committer: GroupCommitter<NewOrder, void>;

  constructor(repo: OrderRepository, catalog: ProductCatalog, ids: IdGenerator, onCommitted: () => void, options: OrderServiceOptions) {
    this.#repo = repo;
    this.#catalog = catalog;
    this.#ids = ids;
    this.#committer = new GroupCommitter<NewOrder, void>(
      async (batch) => {
        await repo.insertOrders(batch);
        onCommitted();
        return batch.map(() => undefined);
      },
      options,
    );
  }

  get writeStats(): GroupCommitter<NewOrder, void>['stats'] {
    return this.#committer.stats;
  }

  async create(req: OrderRequest, now: Date = new Date()): Promise<Order> {
    await this.#checkProducts(req);
    const order: Order = {
      orderId: this.#ids.next(),
      customerId: req.customerId,
      status: 'NEW',
      source: null,
      deliveryAddress: req.deliveryAddress,
      createdDate: now,
      items: req.items.map((item) => ({ ...item, itemId: this.#ids.next() })),
    };
    const event = { topic: TOPIC_ORDERS, key: String(order.orderId), payload: orderDtoJson(order) };
    await this.#committer.submit({ order, event });
    return order;
  }

  async get(id: Id64): Promise<Order> {
    const order = await this.#repo.findById(id);
    if (order === undefined) throw notFound(id);
    return order;
  }

  list(q: PageQuery): Promise<{ orders: Order[]; total: number }> {
    return this.#repo.findPage(q);
  }

  async update(id: Id64, req: OrderRequest): Promise<Order> {
    await this.#checkProducts(req);
    const order = await this.#repo.update(id, req, req.items.map(() => this.#ids.next()));
    if (order === undefined) throw notFound(id);
    return order;
  }

  async delete(id: Id64): Promise<void> {
    if (!(await this.#repo.delete(id))) throw notFound(id);
  }

  async #checkProducts(req: OrderRequest): Promise<void> {
    const answer = await this.#catalog.check(req.items.map((i) => i.productCode));
    if (!answer.exists) {
      const which = answer.unknown === undefined ? '' : `: ${answer.unknown.join(', ')}`;
      throw new EngineError('ORD_ERR_PRODUCT_NOT_FOUND', `one or more product codes do not exist${which}`);
    }
  }
}

function notFound(id: Id64): EngineError {
  return new EngineError('ORD_ERR_ORDER_NOT_FOUND', `Order with Id ${id} not found`);
}
