import { describe, expect, it } from 'vitest';
import { partitionKey, partitionSpans } from '../../src/engine/commit-cycle.js';

const rec = (topic: string, partition: number, offset: number) => ({ topic, partition, offset });

describe('partitionSpans', () => {
  it('gives each topic-partition of a batch its first and last offset', () => {
    const spans = partitionSpans([rec('orders', 0, 10), rec('orders', 0, 11), rec('payment-orders', 0, 3), rec('orders', 1, 7), rec('orders', 0, 12), rec('payment-orders', 0, 4)]);
    expect([...spans.keys()]).toEqual([partitionKey('orders', 0), partitionKey('payment-orders', 0), partitionKey('orders', 1)]);
    expect(spans.get('orders:0')).toEqual({ topic: 'orders', partition: 0, first: 10, last: 12 });
    expect(spans.get('payment-orders:0')).toEqual({ topic: 'payment-orders', partition: 0, first: 3, last: 4 });
    expect(spans.get('orders:1')).toEqual({ topic: 'orders', partition: 1, first: 7, last: 7 });
  });

  it('takes the lowest and highest offset whatever the order of the records', () => {
    const spans = partitionSpans([rec('orders', 2, 5), rec('orders', 2, 3), rec('orders', 2, 9)]);
    expect(spans.get('orders:2')).toEqual({ topic: 'orders', partition: 2, first: 3, last: 9 });
  });

  it('is empty for an empty batch', () => {
    expect(partitionSpans([]).size).toBe(0);
  });
});
