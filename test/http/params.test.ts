import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/error-of.js';
import { MAX_PAGE_SIZE, parseBatchSize, parseCustomerQuery, parseListQuery, parseOrderId, parseOrderIdBatch } from '../../src/http/params.js';

const q = (query: string): URLSearchParams => new URLSearchParams(query);

function badFields(fn: () => unknown): string[] {
  const err = errorOf(fn);
  expect(err.code).toBe('ORD_ERR_BAD_PARAMETER');
  expect(err.status).toBe(400);
  return (err.violations ?? []).map((v) => v.field);
}

describe('parseListQuery', () => {
  it('defaults to pageNo 0, pageSize 10, sortBy id, sortDir asc', () => {
    expect(parseListQuery(q(''))).toEqual({ pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'asc' });
  });

  it('treats empty values as unset', () => {
    expect(parseListQuery(q('pageNo=&pageSize=&sortBy=&sortDir='))).toEqual({ pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'asc' });
  });

  it.each([
    ['pageNo=3&pageSize=25&sortBy=customerId&sortDir=desc', { pageNo: 3, pageSize: 25, sortBy: 'customerId', sortDir: 'desc' }],
    ['pageSize=1', { pageNo: 0, pageSize: 1, sortBy: 'id', sortDir: 'asc' }],
    [`pageSize=${MAX_PAGE_SIZE}`, { pageNo: 0, pageSize: MAX_PAGE_SIZE, sortBy: 'id', sortDir: 'asc' }],
    ['pageNo=1000000', { pageNo: 1_000_000, pageSize: 10, sortBy: 'id', sortDir: 'asc' }],
    ['sortBy=orderId', { pageNo: 0, pageSize: 10, sortBy: 'orderId', sortDir: 'asc' }],
    ['sortBy=status', { pageNo: 0, pageSize: 10, sortBy: 'status', sortDir: 'asc' }],
    ['sortBy=createdDate', { pageNo: 0, pageSize: 10, sortBy: 'createdDate', sortDir: 'asc' }],
    ['sortBy=lastModifiedDate', { pageNo: 0, pageSize: 10, sortBy: 'lastModifiedDate', sortDir: 'asc' }],
    ['sortDir=DESC', { pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'desc' }],
    ['sortDir=Asc', { pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'asc' }],
  ])('parses %s', (query, expected) => {
    expect(parseListQuery(q(query))).toEqual(expected);
  });

  it.each([
    ['pageNo=-1', 'pageNo'],
    ['pageNo=1.5', 'pageNo'],
    ['pageNo=abc', 'pageNo'],
    ['pageNo=1000001', 'pageNo'],
    ['pageNo=1e3', 'pageNo'],
    ['pageNo=%2B1', 'pageNo'],
    ['pageNo=%201', 'pageNo'],
    ['pageNo=99999999999999999999', 'pageNo'],
    ['pageSize=0', 'pageSize'],
    ['pageSize=1001', 'pageSize'],
    ['pageSize=-10', 'pageSize'],
    ['pageSize=1.5', 'pageSize'],
    ['pageSize=abc', 'pageSize'],
    ['sortBy=price', 'sortBy'],
    ['sortBy=customer_id', 'sortBy'],
    ['sortBy=constructor', 'sortBy'],
    ['sortBy=__proto__', 'sortBy'],
    ['sortBy=ID', 'sortBy'],
    ['sortDir=up', 'sortDir'],
    ['sortDir=descending', 'sortDir'],
  ])('rejects %s with ORD_ERR_BAD_PARAMETER naming %s', (query, field) => {
    expect(badFields(() => parseListQuery(q(query)))).toEqual([field]);
  });

  it('quotes the bad value in the violation message and in the detail', () => {
    const err = errorOf(() => parseListQuery(q('pageSize=abc')));
    expect(err.violations?.[0]?.message).toContain("'abc'");
    expect(err.message).toContain('pageSize');
  });

  it('reports several bad values together', () => {
    expect(badFields(() => parseListQuery(q('pageNo=-1&pageSize=0&sortBy=price&sortDir=up'))).sort()).toEqual(['pageNo', 'pageSize', 'sortBy', 'sortDir']);
    expect(badFields(() => parseListQuery(q('pageSize=1001&sortDir=sideways'))).sort()).toEqual(['pageSize', 'sortDir']);
  });
});

describe('parseCustomerQuery', () => {
  it('defaults to page 0, size 10, sorted by id ascending', () => {
    expect(parseCustomerQuery('42', q(''))).toEqual({ customerId: 42, pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'asc' });
  });

  it.each([
    ['sort=customerId,desc', { pageNo: 0, pageSize: 10, sortBy: 'customerId', sortDir: 'desc' }],
    ['sort=createdDate,DESC&page=2&size=50', { pageNo: 2, pageSize: 50, sortBy: 'createdDate', sortDir: 'desc' }],
    ['sort=status', { pageNo: 0, pageSize: 10, sortBy: 'status', sortDir: 'asc' }],
    ['sort=id,asc&size=1000', { pageNo: 0, pageSize: 1000, sortBy: 'id', sortDir: 'asc' }],
  ])('parses Spring Pageable parameters %s', (query, expected) => {
    expect(parseCustomerQuery('7', q(query))).toEqual({ customerId: 7, ...expected });
  });

  it('ignores the list endpoint parameter names (pageNo, pageSize, sortBy)', () => {
    expect(parseCustomerQuery('7', q('pageNo=5&pageSize=50&sortBy=status'))).toEqual({ customerId: 7, pageNo: 0, pageSize: 10, sortBy: 'id', sortDir: 'asc' });
  });

  it.each(['0', 'x', '-1', '1.5', '', ' 1', '9223372036854775808'])('rejects the customer id %j naming customerId', (id) => {
    expect(badFields(() => parseCustomerQuery(id, q('')))).toEqual(['customerId']);
  });

  it.each([
    ['page=-1', ['page']],
    ['size=0', ['size']],
    ['size=1001', ['size']],
    ['sort=price,asc', ['sort']],
    ['sort=id,up', ['sort']],
    ['sort=price,up', ['sort', 'sort']],
  ])('rejects %s naming %j', (query, fields) => {
    expect(badFields(() => parseCustomerQuery('7', q(query)))).toEqual(fields);
  });

  it('reads a customer id past 2^53 exactly (a Java long in the original)', () => {
    expect(parseCustomerQuery('910000000000000123', q('')).customerId).toBe(910_000_000_000_000_123n);
  });

  it('reports a bad customer id and bad paging together', () => {
    expect(badFields(() => parseCustomerQuery('x', q('page=-1&size=0'))).sort()).toEqual(['customerId', 'page', 'size']);
  });
});

describe('parseOrderId', () => {
  it.each<[string, number | bigint]>([
    ['1', 1],
    ['123', 123],
    ['8123456789012', 8_123_456_789_012],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    // The original service's ids are 64-bit TSIDs: exact, as bigints past 2^53.
    ['9007199254740992', 2n ** 53n],
    ['910000000000000123', 910_000_000_000_000_123n],
    ['9223372036854775807', 2n ** 63n - 1n],
  ])('parses %s', (raw, id) => {
    expect(parseOrderId(raw)).toBe(id);
  });

  it.each(['0', '-1', 'abc', '1.5', '', '1e3', '0x10', ' 12', '9223372036854775808', '09', '+5', '9.1e17'])('rejects %j naming id', (raw) => {
    expect(badFields(() => parseOrderId(raw))).toEqual(['id']);
  });
});

describe('parseOrderIdBatch', () => {
  const body = (text: string): Buffer => Buffer.from(text);

  it('reads ids past 2^53 exactly, each in its canonical form', () => {
    expect(parseOrderIdBatch(body('{"ids":[7,910000000000000123,910000000000000124,9007199254740991]}'), 8)).toEqual([
      7,
      910_000_000_000_000_123n,
      910_000_000_000_000_124n,
      Number.MAX_SAFE_INTEGER,
    ]);
  });

  it.each(['{"ids":[]}', '{"ids":[0]}', '{"ids":[1.5]}', '{"ids":["7"]}', '{"ids":[9223372036854775808]}', '{"ids":[1,2,3]}'])('refuses %s', (text) => {
    expect(() => parseOrderIdBatch(body(text), 2)).toThrow(/ids must be 1\.\.2 positive integer order ids/);
  });
});

describe('parseBatchSize', () => {
  it('defaults to 10000', () => {
    expect(parseBatchSize(q(''))).toBe(10_000);
  });

  it.each<[string, number]>([
    ['batchSize=1', 1],
    ['batchSize=250', 250],
    ['batchSize=10000', 10_000],
  ])('parses %s', (query, n) => {
    expect(parseBatchSize(q(query))).toBe(n);
  });

  it.each(['batchSize=0', 'batchSize=10001', 'batchSize=-5', 'batchSize=abc', 'batchSize=2.5'])('rejects %s naming batchSize', (query) => {
    expect(badFields(() => parseBatchSize(q(query)))).toEqual(['batchSize']);
  });
});
