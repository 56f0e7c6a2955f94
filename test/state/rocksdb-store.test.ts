import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { RocksStore } from '../../src/state/rocksdb-store.js';

const OPTIONS = { blockCacheBytes: 1024 * 1024, writeBufferBytes: 1024 * 1024 };
const b = (s: string): Buffer => Buffer.from(s);
const str = (entries: { key: Buffer; value: Buffer }[]): [string, string][] => entries.map((e) => [e.key.toString(), e.value.toString()]);

let tmp: string;
let open: RocksStore[];

beforeEach(() => {
  tmp = mkdtempSync(join(os.tmpdir(), 'order-engine-rocks-'));
  open = [];
});

afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

async function store(name = 'db', options = OPTIONS): Promise<RocksStore> {
  const s = await RocksStore.open(join(tmp, name), options);
  open.push(s);
  return s;
}

describe('RocksStore', () => {
  it('creates its directory recursively and returns what was written', async () => {
    const s = await store('task/0_1/orders-store');
    await s.write([
      { key: b('a'), value: b('1') },
      { key: b('b'), value: Buffer.alloc(0) },
    ]);
    expect(await s.get(b('a'))).toEqual(b('1'));
    expect(await s.get(b('b'))).toEqual(Buffer.alloc(0));
    expect(await s.get(b('zz'))).toBeUndefined();
    expect(await s.getMany([b('b'), b('zz'), b('a')])).toEqual([Buffer.alloc(0), undefined, b('1')]);
    expect(await s.getMany([])).toEqual([]);
  });

  it('applies a batch of puts and deletes as one write, the later write of a key winning', async () => {
    const s = await store();
    await s.write([
      { key: b('a'), value: b('1') },
      { key: b('b'), value: b('2') },
    ]);
    await s.write([
      { key: b('a'), value: null },
      { key: b('c'), value: b('3') },
      { key: b('c'), value: b('4') },
      { key: b('b'), value: null },
      { key: b('b'), value: b('5') },
    ]);
    expect(str(await s.range())).toEqual([
      ['b', '5'],
      ['c', '4'],
    ]);
  });

  describe('range', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    it.each([
      ['everything, in key order', {}, keys],
      ['from gte', { gte: b('c') }, ['c', 'd', 'e']],
      ['below lt', { lt: b('c') }, ['a', 'b']],
      ['between', { gte: b('b'), lt: b('d') }, ['b', 'c']],
      ['a limit', { limit: 2 }, ['a', 'b']],
      ['an offset', { offset: 3 }, ['d', 'e']],
      ['a page: offset and limit', { offset: 1, limit: 2 }, ['b', 'c']],
      ['a page inside a range', { gte: b('b'), offset: 1, limit: 10 }, ['c', 'd', 'e']],
      ['an offset past the end', { offset: 9 }, []],
      ['a zero limit', { limit: 0 }, []],
    ])('returns %s', async (_name, options, expected) => {
      const s = await store();
      await s.write([...keys].reverse().map((k) => ({ key: b(k), value: b(k.toUpperCase()) })));
      expect(str(await s.range(options))).toEqual(expected.map((k) => [k, k.toUpperCase()]));
    });

    it('orders keys by bytes, not by numbers written as text', async () => {
      const s = await store();
      await s.write(['10', '9', '100', '2'].map((k) => ({ key: b(k), value: b('') })));
      expect((await s.range()).map((e) => e.key.toString())).toEqual(['10', '100', '2', '9']);
    });

    it('pages through more entries than one iterator read returns', async () => {
      const s = await store();
      const n = 2500;
      await s.write(Array.from({ length: n }, (_, i) => ({ key: b(String(i).padStart(5, '0')), value: b(String(i)) })));
      const all = await s.range();
      expect(all).toHaveLength(n);
      expect(all.at(-1)!.value.toString()).toBe(String(n - 1));
      expect((await s.range({ offset: 1999, limit: 2 })).map((e) => e.value.toString())).toEqual(['1999', '2000']);
    });

    it.each([{ offset: -1 }, { limit: 1.5 }])('rejects %o', async (options) => {
      const s = await store();
      await expect(s.range(options)).rejects.toBeInstanceOf(EngineError);
    });
  });

  it('keeps its data across close and reopen', async () => {
    const s = await store();
    await s.write([{ key: b('k'), value: b('v') }], { sync: true });
    await s.close();
    const again = await store();
    expect(await again.get(b('k'))).toEqual(b('v'));
  });

  it('estimates its size and key count from RocksDB properties', async () => {
    // A write buffer large enough that nothing is flushed: the estimate is the memtable.
    const s = await store('db', { blockCacheBytes: 0, writeBufferBytes: 64 * 1024 * 1024 });
    const empty = await s.approximateSizeBytes();
    await s.write(Array.from({ length: 1000 }, (_, i) => ({ key: b(`key-${i}`), value: randomBytes(200) })));
    expect(await s.approximateSizeBytes()).toBeGreaterThanOrEqual(empty + 1000 * 200);
    const count = await s.approximateCount();
    expect(count).toBeGreaterThanOrEqual(900);
    expect(count).toBeLessThanOrEqual(1100);
  });

  describe('close', () => {
    it('waits for a get in flight, then rejects new operations with a coded error', async () => {
      const s = await store();
      await s.write([{ key: b('k'), value: b('v') }]);
      const order: string[] = [];
      const get = s.get(b('k')).then((v) => {
        order.push('get');
        return v;
      });
      const closed = s.close().then(() => order.push('close'));
      await expect(s.get(b('k'))).rejects.toThrow(/is closing: cannot get/);
      expect(await get).toEqual(b('v'));
      await closed;
      expect(order).toEqual(['get', 'close']);
      await expect(s.write([])).rejects.toBeInstanceOf(EngineError);
      await expect(s.approximateSizeBytes()).rejects.toThrow(/is closed/);
    });

    it('lets a range in flight page to its end (abstract-level would close its iterator)', async () => {
      const s = await store();
      const n = 5000;
      await s.write(Array.from({ length: n }, (_, i) => ({ key: b(String(i).padStart(5, '0')), value: b('v') })));
      const range = s.range();
      const closed = s.close();
      expect(await range).toHaveLength(n);
      await closed;
    });

    it('is idempotent', async () => {
      const s = await store();
      await Promise.all([s.close(), s.close()]);
      await s.close();
    });
  });

  describe('open and destroy', () => {
    it('refuses to open a store already open in this thread', async () => {
      await store();
      await expect(RocksStore.open(join(tmp, 'db'), OPTIONS)).rejects.toThrow(/already open/);
    });

    it('refuses to open a missing store when createIfMissing is false', async () => {
      await expect(RocksStore.open(join(tmp, 'missing'), { ...OPTIONS, createIfMissing: false })).rejects.toBeInstanceOf(EngineError);
      expect(existsSync(join(tmp, 'missing'))).toBe(false);
    });

    it.each([
      ['a block cache past the binding uint32', { blockCacheBytes: 2 ** 32, writeBufferBytes: 1024 * 1024 }],
      ['a negative write buffer', { blockCacheBytes: 0, writeBufferBytes: -1 }],
    ])('rejects %s', async (_name, options) => {
      await expect(RocksStore.open(join(tmp, 'db'), options)).rejects.toBeInstanceOf(EngineError);
    });

    it('refuses to destroy an open store', async () => {
      await store();
      await expect(RocksStore.destroy(join(tmp, 'db'))).rejects.toThrow(/it is open/);
    });

    it('wipes a corrupted store so it can be restored from scratch', async () => {
      const s = await store();
      await s.write([{ key: b('k'), value: b('v') }]);
      await s.close();
      writeFileSync(join(tmp, 'db', 'CURRENT'), 'garbage\n');
      await expect(RocksStore.open(join(tmp, 'db'), OPTIONS)).rejects.toThrow(/Corruption/);
      await expect(RocksStore.open(join(tmp, 'db'), OPTIONS)).rejects.toMatchObject({ code: 'ORD_ERR_STATE_CORRUPTED', recovery: 'wipe' });
      await RocksStore.destroy(join(tmp, 'db'));
      expect(existsSync(join(tmp, 'db'))).toBe(false);
      const fresh = await store();
      expect(await fresh.range()).toEqual([]);
    });

    it('does not call a store locked by another handle corrupt: wiping would not help, so it stays fatal', async () => {
      await store();
      // A second handle in this thread is refused before RocksDB; the LOCK error of another
      // process (two instances sharing STATE_DIR) is the same class: ORD_ERR_INTERNAL.
      await expect(RocksStore.open(join(tmp, 'db'), OPTIONS)).rejects.toMatchObject({ code: 'ORD_ERR_INTERNAL', recovery: 'fatal' });
    });

    it('destroys a missing store without complaint', async () => {
      await RocksStore.destroy(join(tmp, 'never-created'));
    });
  });
});
