import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { consumerLags } from '../../bench/children.js';

async function page(sets: readonly [string, number][] | undefined): Promise<string> {
  const registry = new client.Registry();
  if (sets !== undefined) {
    const lag = new client.Gauge({ name: 'kafka_consumer_records_lag', help: 'lag', labelNames: ['topic', 'partition'], registers: [registry] });
    for (const [partition, value] of sets) lag.set({ topic: 'orders', partition }, value);
  }
  new client.Gauge({ name: 'kafka_consumer_lag_sum', help: 'sum', registers: [registry] }).set(7);
  return registry.metrics();
}

describe('consumerLags', () => {
  it('reads one figure per partition series', async () => {
    expect(consumerLags(await page([['0', 3], ['1', 0]]))).toEqual([3, 0]);
  });

  it('is empty while the metric has no series yet (no partition with a known end)', async () => {
    expect(consumerLags(await page([]))).toEqual([]);
  });

  it('is undefined for a build without the metric, which the wait must not wait for', async () => {
    expect(consumerLags(await page(undefined))).toBeUndefined();
  });
});
