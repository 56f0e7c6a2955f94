import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import { ConfigError, EngineError, errorCodes, fromWire, recoveryOf, toProblem, toWire, type ErrorCode } from '../src/errors.js';

const codes = Object.keys(errorCodes) as ErrorCode[];
const NOW = new Date(Date.UTC(2026, 10, 25, 10, 20, 30, 123));

describe('errorCodes', () => {
  it('has unique codes and problem types', () => {
    expect(new Set(codes).size).toBe(codes.length);
    const types = codes.map((c) => toProblem(new EngineError(c, 'x'), '/').type);
    expect(new Set(types).size).toBe(codes.length);
  });

  it.each(codes)('%s starts with ORD_ERR_, has a status in 400..599, a title, a category and a recovery class', (code) => {
    const spec = errorCodes[code];
    expect(code).toMatch(/^ORD_ERR_[A-Z0-9_]+$/);
    expect(Number.isInteger(spec.status)).toBe(true);
    expect(spec.status).toBeGreaterThanOrEqual(400);
    expect(spec.status).toBeLessThanOrEqual(599);
    expect(spec.title.trim()).not.toBe('');
    expect(['Validation', 'NotFound', 'Unavailable', 'Generic', 'Configuration', 'Security', 'RateLimit']).toContain(spec.category);
    expect(['client', 'retry', 'wipe', 'fatal']).toContain(spec.recovery);
  });

  it('documents every ORD_ERR_ code used anywhere in src/', () => {
    const srcDir = fileURLToPath(new URL('../src', import.meta.url));
    const used = new Set<string>();
    for (const file of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const m of readFileSync(join(srcDir, file), 'utf8').matchAll(/ORD_ERR_[A-Z0-9_]*[A-Z0-9]/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((c) => !Object.hasOwn(errorCodes, c))).toEqual([]);
  });
});

describe('EngineError', () => {
  it('carries the code, status and recovery class of its code', () => {
    const err = new EngineError('ORD_ERR_ORDER_NOT_FOUND', 'order 7 does not exist');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'EngineError', code: 'ORD_ERR_ORDER_NOT_FOUND', status: 404, recovery: 'client', message: 'order 7 does not exist' });
    expect(err.violations).toBeUndefined();
  });

  it.each(codes)('%s: canRetry is true exactly for the retry class', (code) => {
    expect(new EngineError(code, 'x').canRetry).toBe(errorCodes[code].recovery === 'retry');
  });

  it('keeps its cause and violations', () => {
    const cause = new Error('socket hang up');
    const violations = [{ field: 'items[0].quantity', message: 'must be at least 1' }];
    const err = new EngineError('ORD_ERR_VALIDATION', 'bad', { cause, violations });
    expect(err.cause).toBe(cause);
    expect(err.violations).toEqual(violations);
  });
});

describe('toProblem', () => {
  it('maps an EngineError to problem+json with every field', () => {
    const problem = toProblem(new EngineError('ORD_ERR_ORDER_NOT_FOUND', 'order 7 does not exist'), '/api/orders/7', NOW);
    expect(problem).toEqual({
      type: 'https://order-engine.dev/problems/order-not-found',
      title: 'Order Not Found',
      status: 404,
      detail: 'order 7 does not exist',
      instance: '/api/orders/7',
      errorCategory: 'NotFound',
      timestamp: '2026-11-25T10:20:30.123Z',
      code: 'ORD_ERR_ORDER_NOT_FOUND',
    });
    expect('violations' in problem).toBe(false);
  });

  it('includes the violations when the error has them', () => {
    const violations = [
      { field: 'customerId', message: 'is required' },
      { field: 'items[1].productCode', message: 'duplicates items[0] (P1)' },
    ];
    const problem = toProblem(new EngineError('ORD_ERR_VALIDATION', 'the order request is invalid', { violations }), '/api/orders', NOW);
    expect(problem).toMatchObject({ status: 400, title: 'Validation Failed', errorCategory: 'Validation', code: 'ORD_ERR_VALIDATION', violations });
  });

  it.each(codes)('maps %s to its own status, title and category', (code) => {
    const problem = toProblem(new EngineError(code, 'detail'), '/x', NOW);
    expect(problem).toMatchObject({ code, status: errorCodes[code].status, title: errorCodes[code].title, errorCategory: errorCodes[code].category });
    expect(problem.type).toMatch(/^https:\/\/order-engine\.dev\/problems\/[a-z0-9-]+$/);
  });

  it('maps a ConfigError as ORD_ERR_CONFIG', () => {
    expect(toProblem(new ConfigError(['PORT="x": must be integer']), '/', NOW)).toMatchObject({ code: 'ORD_ERR_CONFIG', status: 500 });
  });

  it('carries the errorId of a logged failure, and none unless given', () => {
    expect(toProblem(new Error('db exploded'), '/api/orders', NOW, 'c0ffee00-0000-4000-8000-000000000000')).toMatchObject({
      status: 500,
      code: 'ORD_ERR_INTERNAL',
      errorId: 'c0ffee00-0000-4000-8000-000000000000',
    });
    expect('errorId' in toProblem(new Error('x'), '/', NOW)).toBe(false);
  });

  it('stamps the current time when none is given', () => {
    const before = Date.now();
    const stamp = Date.parse(toProblem(new EngineError('ORD_ERR_INTERNAL', 'x'), '/').timestamp);
    expect(stamp).toBeGreaterThanOrEqual(before);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('password=hunter2 at db.internal:5432')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'password=hunter2')")],
    ['an error with a code', Object.assign(new Error('password=hunter2'), { code: 'ECONNREFUSED', status: 404 })],
    ['a thrown string', 'password=hunter2'],
    ['a thrown object', { message: 'password=hunter2', status: 400, code: 'ORD_ERR_VALIDATION' }],
    ['undefined', undefined],
  ])('never leaks the message of %s: generic detail, status 500', (_, thrown) => {
    const problem = toProblem(thrown, '/api/orders', NOW);
    expect(problem).toEqual({
      type: 'https://order-engine.dev/problems/internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'an unexpected error occurred',
      instance: '/api/orders',
      errorCategory: 'Generic',
      timestamp: '2026-11-25T10:20:30.123Z',
      code: 'ORD_ERR_INTERNAL',
    });
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });
});

describe('errors across threads (toWire / fromWire)', () => {
  // Regression: structured clone keeps only name, message and stack, so a fatal
  // EngineError from a stream thread arrived as a plain Error and was retried forever.
  const viaPort = async (value: unknown): Promise<unknown> => {
    const { port1, port2 } = new MessageChannel();
    const received = new Promise((resolve) => port2.once('message', resolve));
    port1.postMessage(value);
    const out = await received;
    port1.close();
    port2.close();
    return out;
  };

  it('a bare EngineError loses its code when cloned: the reason for the wire form', async () => {
    const cloned = (await viaPort(new EngineError('ORD_ERR_ILLEGAL_STATE', 'bad move'))) as Record<string, unknown>;
    expect(cloned.code).toBeUndefined();
  });

  it.each(codes)('%s keeps its code, recovery class and message through a MessagePort', async (code) => {
    const err = fromWire((await viaPort(toWire(new EngineError(code, 'what happened')))) as ReturnType<typeof toWire>);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code, recovery: errorCodes[code].recovery, message: 'what happened' });
    expect(recoveryOf(err)).toBe(errorCodes[code].recovery);
  });

  it('keeps the cause chain, violations, stacks and drivers\' own codes', async () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const violations = [{ field: 'customerId', message: 'is required' }];
    const err = new EngineError('ORD_ERR_VALIDATION', 'outer', { cause: new EngineError('ORD_ERR_DATABASE_UNAVAILABLE', 'db down', { cause: root }), violations });
    const back = fromWire((await viaPort(toWire(err))) as ReturnType<typeof toWire>) as EngineError;
    expect(back).toMatchObject({ code: 'ORD_ERR_VALIDATION', violations });
    expect(back.stack).toBe(err.stack);
    const cause = back.cause as EngineError;
    expect(cause).toBeInstanceOf(EngineError);
    expect(cause.code).toBe('ORD_ERR_DATABASE_UNAVAILABLE');
    expect(cause.cause).toMatchObject({ message: root.message, code: 'ECONNREFUSED' });
  });

  it('turns non-errors and error-shaped objects (LibrdKafkaError) into plain errors with their code', () => {
    expect(fromWire(toWire('boom'))).toMatchObject({ message: 'boom' });
    expect(fromWire(toWire({ message: 'Local: Broker transport failure', code: -195 }))).toMatchObject({ message: 'Local: Broker transport failure', code: -195 });
  });

  it('stops at a bounded cause depth (a cyclic cause cannot loop)', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    let depth = 0;
    for (let w: ReturnType<typeof toWire> | undefined = toWire(a); w !== undefined; w = w.cause) depth++;
    expect(depth).toBeLessThanOrEqual(9);
  });

  it('classifies unknown errors as fatal: a bug is not retried', () => {
    expect(recoveryOf(new TypeError('x is undefined'))).toBe('fatal');
    expect(recoveryOf(new EngineError('ORD_ERR_KAFKA', 'broker down'))).toBe('retry');
    expect(recoveryOf(new EngineError('ORD_ERR_STATE_CORRUPTED', 'bad sst'))).toBe('wipe');
  });
});
