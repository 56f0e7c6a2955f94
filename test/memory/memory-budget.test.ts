import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { heapFlag, heapLimitMismatch } from '../../src/memory/kafka-thread-heap.js';
import { kDefaultMemoryLimit, memoryBudget, parseMemoryQuantity, type BudgetInputs } from '../../src/memory/memory-budget.js';

const MiB = 1024 * 1024;
const inputs = (over: Partial<BudgetInputs> = {}): BudgetInputs => ({
  memoryLimit: undefined,
  cacheMaxBytes: undefined,
  numPartitions: 6,
  numStreamThreads: 2,
  constrainedMemory: undefined,
  ...over,
});

/** Everything the budget bounds, in bytes, as the service applies it. */
function bounded(b: ReturnType<typeof memoryBudget>, i: BudgetInputs): number {
  return (
    (b.heapMb.kafkaThread + b.heapMb.httpThread + b.heapMb.streamThread * i.numStreamThreads) * MiB +
    b.recordCacheBytes +
    (b.store.blockCacheBytes + b.store.writeBufferBytes) * i.numPartitions * 2 +
    Object.values(b.kafkaKbytes).reduce((a, c) => a + c, 0) * 1024
  );
}

describe('parseMemoryQuantity', () => {
  it.each([
    ['2Gi', 2 * 1024 * MiB],
    ['1536Mi', 1536 * MiB],
    ['2G', 2e9],
    ['2147483648', 2 ** 31],
    ['1.5Gi', 1.5 * 1024 * MiB],
    ['512MiB', 512 * MiB],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseMemoryQuantity(text)).toBe(bytes);
  });

  it.each(['', 'lots', '2 GB of RAM', '-1Gi', '100Mi', '2Pi'])('rejects %j with a ConfigError naming MEMORY_LIMIT', (text) => {
    expect(() => parseMemoryQuantity(text)).toThrow(ConfigError);
    expect(() => parseMemoryQuantity(text)).toThrow(/MEMORY_LIMIT/);
  });
});

describe('memoryBudget', () => {
  it('takes MEMORY_LIMIT first, then the cgroup, then 2 GiB', () => {
    expect(memoryBudget(inputs({ memoryLimit: '1Gi', constrainedMemory: 4 * 1024 * MiB }))).toMatchObject({ limitBytes: 1024 * MiB, source: 'MEMORY_LIMIT' });
    expect(memoryBudget(inputs({ constrainedMemory: 4 * 1024 * MiB }))).toMatchObject({ limitBytes: 4 * 1024 * MiB, source: 'cgroup' });
    expect(memoryBudget(inputs())).toMatchObject({ limitBytes: kDefaultMemoryLimit, source: 'default' });
  });

  it('ignores what an unlimited cgroup reports (0, or a huge number under cgroup v1)', () => {
    expect(memoryBudget(inputs({ constrainedMemory: 0 })).source).toBe('default');
    expect(memoryBudget(inputs({ constrainedMemory: 2 ** 64 })).source).toBe('default');
    expect(memoryBudget(inputs({ constrainedMemory: 9_223_372_036_854_771_712 })).source).toBe('default');
  });

  it.each([
    ['512Mi', 6, 1],
    ['2Gi', 6, 2],
    ['2Gi', 24, 4],
    ['8Gi', 64, 8],
  ])('at %s, %d partitions, %d threads, what it bounds fits the limit with a reserve of at least 15%%', (limit, numPartitions, numStreamThreads) => {
    const i = inputs({ memoryLimit: limit, numPartitions, numStreamThreads });
    const b = memoryBudget(i);
    expect(bounded(b, i)).toBeLessThanOrEqual(b.limitBytes * 0.85);
    expect(b.reserveBytes).toBe(b.limitBytes - bounded(b, i));
  });

  it('grows every share with the limit', () => {
    const small = memoryBudget(inputs({ memoryLimit: '2Gi' }));
    const big = memoryBudget(inputs({ memoryLimit: '4Gi' }));
    expect(big.recordCacheBytes).toBe(small.recordCacheBytes * 2);
    expect(big.heapMb.kafkaThread).toBeGreaterThan(small.heapMb.kafkaThread);
    expect(big.store.blockCacheBytes).toBeGreaterThan(small.store.blockCacheBytes);
    expect(big.kafkaKbytes.streamConsumer).toBeGreaterThan(small.kafkaKbytes.streamConsumer);
  });

  it('splits RocksDB memory over every store an instance may hold, and stream heaps over threads', () => {
    const six = memoryBudget(inputs({ numPartitions: 6, numStreamThreads: 2 }));
    const twelve = memoryBudget(inputs({ numPartitions: 12, numStreamThreads: 4 }));
    expect(twelve.store.blockCacheBytes).toBeCloseTo(six.store.blockCacheBytes / 2, -1);
    expect(twelve.heapMb.streamThread).toBeCloseTo(six.heapMb.streamThread / 2, 0);
  });

  it('lets CACHE_MAX_BYTES win over the cache share, 0 included', () => {
    expect(memoryBudget(inputs({ cacheMaxBytes: 10 * MiB })).recordCacheBytes).toBe(10 * MiB);
    expect(memoryBudget(inputs({ cacheMaxBytes: 0 })).recordCacheBytes).toBe(0);
  });

  it("keeps librdkafka's settings inside their valid ranges", () => {
    const tiny = memoryBudget(inputs({ memoryLimit: '256Mi' }));
    for (const kb of Object.values(tiny.kafkaKbytes)) expect(kb).toBeGreaterThanOrEqual(1024);
    const huge = memoryBudget(inputs({ memoryLimit: '1024Gi' }));
    expect(huge.kafkaKbytes.streamConsumer).toBeLessThanOrEqual(2_097_151);
  });
});

describe('the kafka thread heap', () => {
  const budget = memoryBudget(inputs());
  it('is sized by a flag at start', () => {
    expect(heapFlag(budget)).toBe(`--max-old-space-size=${budget.heapMb.kafkaThread}`);
  });
  it('is reported when the running limit is well above its share', () => {
    expect(heapLimitMismatch(budget, (budget.heapMb.kafkaThread + 40) * MiB)).toBeUndefined();
    expect(heapLimitMismatch(budget, 4096 * MiB)).toMatch(/--max-old-space-size=/);
  });
});
