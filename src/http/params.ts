// Query and path parameters: parsed strictly, each bad value named in a 400 problem.
import { isId64, MAX_ID64, parseId64, type Id64 } from '../domain/id64.js';
import { parseJsonLossless } from '../domain/lossless-json.js';
import { EngineError, type Violation } from '../errors.js';
import { ORDER_SORT_COLUMNS, type OrderSortField, type PageQuery } from '../db/order-repository.js';

export const MAX_PAGE_SIZE = 1000;

function bad(violations: Violation[]): EngineError {
  return new EngineError('ORD_ERR_BAD_PARAMETER', violations.map((v) => `${v.field} ${v.message}`).join('; '), { violations });
}

function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number, out: Violation[]): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    out.push({ field: name, message: `must be an integer in ${min}..${max}, got '${raw}'` });
    return def;
  }
  return n;
}

function sortField(raw: string, name: string, out: Violation[]): OrderSortField {
  if (Object.hasOwn(ORDER_SORT_COLUMNS, raw)) return raw as OrderSortField;
  out.push({ field: name, message: `must be one of ${Object.keys(ORDER_SORT_COLUMNS).join(', ')}, got '${raw}'` });
  return 'id';
}

function sortDir(raw: string, name: string, out: Violation[]): 'asc' | 'desc' {
  const dir = raw.toLowerCase();
  if (dir === 'asc' || dir === 'desc') return dir;
  out.push({ field: name, message: `must be asc or desc, got '${raw}'` });
  return 'asc';
}

/** GET /api/orders?pageNo=0&pageSize=10&sortBy=id&sortDir=asc */
export function parseListQuery(q: URLSearchParams): PageQuery {
  const v: Violation[] = [];
  const query: PageQuery = {
    pageNo: intParam(q, 'pageNo', 0, 0, 1_000_000, v),
    pageSize: intParam(q, 'pageSize', 10, 1, MAX_PAGE_SIZE, v),
    sortBy: sortField(q.get('sortBy') || 'id', 'sortBy', v),
    sortDir: sortDir(q.get('sortDir') || 'asc', 'sortDir', v),
  };
  if (v.length > 0) throw bad(v);
  return query;
}

/** GET /api/orders/store?pageNo=0&pageSize=10 */
export function parseStorePageQuery(q: URLSearchParams): { pageNo: number; pageSize: number } {
  const v: Violation[] = [];
  const query = { pageNo: intParam(q, 'pageNo', 0, 0, 1_000_000, v), pageSize: intParam(q, 'pageSize', 10, 1, MAX_PAGE_SIZE, v) };
  if (v.length > 0) throw bad(v);
  return query;
}

/** GET /internal/orders-store/partitions/{partition}?skip=0&limit=10 (instances only: a page's slice of one partition) */
export function parsePartitionSliceQuery(partition: string, q: URLSearchParams, numPartitions: number): { partition: number; skip: number; limit: number } {
  const v: Violation[] = [];
  const p = Number(partition);
  if (!/^\d+$/.test(partition) || p >= numPartitions) v.push({ field: 'partition', message: `must be an integer in 0..${numPartitions - 1}, got '${partition}'` });
  // skip reaches pageNo × pageSize of the public page: up to 1,000,000 × MAX_PAGE_SIZE.
  const query = { partition: p, skip: intParam(q, 'skip', 0, 0, 1_000_000 * MAX_PAGE_SIZE, v), limit: intParam(q, 'limit', 10, 1, MAX_PAGE_SIZE, v) };
  if (v.length > 0) throw bad(v);
  return query;
}

/** GET /api/orders/customer/{customerId}?page=0&size=10&sort=id,asc (Spring Pageable) */
export function parseCustomerQuery(customerId: string, q: URLSearchParams): PageQuery {
  const v: Violation[] = [];
  const id = parseId(customerId, 'customerId', v);
  const [by = 'id', dir = 'asc'] = (q.get('sort') || 'id,asc').split(',');
  const query: PageQuery = {
    customerId: id,
    pageNo: intParam(q, 'page', 0, 0, 1_000_000, v),
    pageSize: intParam(q, 'size', 10, 1, MAX_PAGE_SIZE, v),
    sortBy: sortField(by, 'sort', v),
    sortDir: sortDir(dir, 'sort', v),
  };
  if (v.length > 0) throw bad(v);
  return query;
}

// Ids are Java longs (the original's TSIDs are past 2^53): read exactly, as id64.ts says.
function parseId(raw: string, name: string, out: Violation[]): Id64 {
  const id = parseId64(raw, 1);
  if (id === undefined) {
    out.push({ field: name, message: `must be an integer in 1..${MAX_ID64}, got '${raw}'` });
    return 0;
  }
  return id;
}

/** An order id from the path. */
export function parseOrderId(raw: string): Id64 {
  const v: Violation[] = [];
  const id = parseId(raw, 'id', v);
  if (v.length > 0) throw bad(v);
  return id;
}

/** POST /internal/orders-store/keys {"ids":[…]} (instances only: a batch of forwarded key reads) */
export function parseOrderIdBatch(body: Buffer | undefined, max: number): Id64[] {
  let parsed: unknown;
  try {
    parsed = parseJsonLossless(body?.toString('utf8') ?? '');
  } catch {
    throw new EngineError('ORD_ERR_MALFORMED_JSON', 'the body is not JSON');
  }
  const ids = (parsed as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > max || !ids.every((id) => isId64(id, 1))) {
    throw bad([{ field: 'ids', message: `must be 1..${max} positive integer order ids` }]);
  }
  return ids;
}

/** POST /api/orders/generate?batchSize=1..10000 */
export function parseBatchSize(q: URLSearchParams): number {
  const v: Violation[] = [];
  const n = intParam(q, 'batchSize', 10_000, 1, 10_000, v);
  if (v.length > 0) throw bad(v);
  return n;
}
