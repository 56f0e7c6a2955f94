// /actuator/prometheus of the real service while the saga runs (the simulators answer
// every order): the per-task process counter moves, and the metrics the dashboard,
// the alerts and the seed's HPA read are there with live values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { waitFor } from '../support/wait.js';

let service: Service;
let sims: Simulators;

beforeAll(async () => {
  service = await startService({ APPLICATION_ID: `metrics-${Date.now()}` });
  sims = await startSimulators();
});

afterAll(async () => {
  await sims?.kill('SIGTERM');
  await service?.kill('SIGTERM');
});

async function scrape(): Promise<string> {
  const res = await fetch(`${service.baseUrl}/actuator/prometheus`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Every sample of a metric: labels → value. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

async function postOrders(n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await http(service.baseUrl, 'POST', '/api/orders', orderBody())).status).toBe(201);
}

describe('a scrape under load', () => {
  it('shows tasks processing, the consumer lag, commit latency and HTTP latency by route', async () => {
    await postOrders(20);
    // The answers arrive, are joined and decided: the per-task counter moves.
    const first = await waitFor('tasks to have processed answers', async () => {
      const text = await scrape();
      return total(samples(text, 'kafka_streams_task_process_total')) > 0 ? text : undefined;
    });
    const t0 = Date.now();
    await postOrders(40);
    const second = await waitFor('the process counter to move under more orders', async () => {
      const text = await scrape();
      return total(samples(text, 'kafka_streams_task_process_total')) > total(samples(first, 'kafka_streams_task_process_total')) ? text : undefined;
    });
    const seconds = (Date.now() - t0) / 1000;
    const perTask = samples(second, 'kafka_streams_task_process_total');
    const processRate = (total(perTask) - total(samples(first, 'kafka_streams_task_process_total'))) / seconds;
    expect(processRate).toBeGreaterThan(0);
    for (const labels of perTask.keys()) expect(labels).toMatch(/^\{partition="\d",thread="\d"\}$/);

    // Lag: one series per assigned input partition, and the sum the HPA reads.
    const lag = samples(second, 'kafka_consumer_records_lag');
    expect(lag.size).toBeGreaterThan(0);
    for (const labels of lag.keys()) expect(labels).toMatch(/^\{topic="(payment-orders|stock-orders|orders)",partition="\d"\}$/);
    const lagSum = samples(second, 'kafka_consumer_lag_sum').get('');
    expect(lagSum).toBe(total(lag));

    // Every commit's duration reaches the histogram: the kafka thread hands them over with the counters.
    const commits = samples(second, 'kafka_streams_commit_latency_seconds_count').get('');
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBe(samples(second, 'kafka_streams_commit_total').get(''));
    expect(samples(second, 'kafka_streams_state').get('{state="RUNNING"}')).toBe(1);
    expect(samples(second, 'http_server_requests_seconds_count').get('{method="POST",uri="/api/orders",status="201"}')).toBeGreaterThanOrEqual(60);
    expect(samples(second, 'orders_store_cache_hit_ratio').size).toBeGreaterThan(0);
    // The kafka thread's own heap, not the HTTP thread's: in use below a limit the
    // service was started with (tests start it without the budget's flag: V8's own).
    const heapUsed = samples(second, 'nodejs_thread_heap_used_bytes').get('{thread="kafka"}');
    const heapLimit = samples(second, 'nodejs_thread_heap_limit_bytes').get('{thread="kafka"}');
    expect(heapUsed).toBeGreaterThan(1024 * 1024);
    expect(heapLimit).toBeGreaterThan(heapUsed ?? Infinity);
    expect(heapUsed).not.toBe(samples(second, 'nodejs_heap_size_used_bytes').get(''));

    const shown = second
      .split('\n')
      .filter((l) => /^(kafka_streams_task_process_total|kafka_consumer_lag_sum|kafka_consumer_records_lag|kafka_streams_commit_latency_seconds_(count|sum)|kafka_streams_commit_total|kafka_streams_state\{state="RUNNING"|orders_store_bytes)/.test(l));
    console.log(`process rate ${processRate.toFixed(1)} records/s over ${seconds.toFixed(1)} s\n${shown.join('\n')}`);
  }, 120_000);
});
