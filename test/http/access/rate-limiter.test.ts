import { describe, expect, it } from 'vitest';
import { RateLimiter, retryAfter } from '../../../src/http/access/rate-limiter.js';

function fakeClock(): { now: number; clock: () => number } {
  const c = { now: 1_000, clock: () => c.now };
  return c;
}

describe('RateLimiter (token bucket)', () => {
  it('lets a burst through, then refuses with the time until the next token', () => {
    const t = fakeClock();
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, t.clock);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBeCloseTo(0.5);
    t.now += 250;
    expect(limiter.take('a')).toBeCloseTo(0.25);
    t.now += 250;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeCloseTo(0.5);
  });

  it('refills at the sustained rate and never above the burst', () => {
    const t = fakeClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 5 }, t.clock);
    for (let i = 0; i < 5; i++) expect(limiter.take('a')).toBe(0);
    t.now += 60_000; // a quiet minute: 600 tokens earned, 5 kept
    const taken = Array.from({ length: 8 }, () => limiter.take('a'));
    expect(taken.filter((w) => w === 0)).toHaveLength(5);
  });

  it('keeps one bucket per client', () => {
    const t = fakeClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, t.clock);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(limiter.take('b')).toBe(0);
  });

  it('a refused request takes nothing: a client hammering at the limit gets in at the sustained rate', () => {
    const t = fakeClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 1 }, t.clock);
    let admitted = 0;
    for (let ms = 0; ms < 1_000; ms++) {
      if (limiter.take('a') === 0) admitted++;
      t.now += 1;
    }
    expect(admitted).toBe(10);
  });

  it('forgets full buckets when it reaches maxBuckets, then the oldest half if a flood of new clients keeps it full', () => {
    const t = fakeClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, t.clock, 4);
    for (const c of ['a', 'b', 'c', 'd']) limiter.take(c);
    expect(limiter.size).toBe(4);
    t.now += 1_000; // each has 2 tokens again: full, so forgettable
    limiter.take('e');
    expect(limiter.size).toBe(1);
    for (const c of ['f', 'g', 'h']) limiter.take(c);
    expect(limiter.size).toBe(4); // none full: the oldest half goes
    limiter.take('i');
    expect(limiter.size).toBe(3);
  });

  it.each([
    [0, 1],
    [-1, 1],
    [1, 0],
  ])('refuses perSecond %d, burst %d', (perSecond, burst) => {
    expect(() => new RateLimiter({ perSecond, burst }, () => 0)).toThrow(RangeError);
  });
});

describe('retryAfter', () => {
  it.each([
    [0.001, '1'],
    [0.5, '1'],
    [1, '1'],
    [1.01, '2'],
    [59.5, '60'],
  ])('%d s is Retry-After %s', (seconds, header) => {
    expect(retryAfter(seconds)).toBe(header);
  });
});
