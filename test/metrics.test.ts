// The scrape of /actuator/prometheus, fed with sample sources: every metric the Grafana
// dashboard and the alert rules read is there (so a renamed metric fails here, not on
// an operator's empty panel), and the stream metrics carry what their sources say.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EngineState } from '../src/engine/engine-state.js';
import type { EngineStats } from '../src/engine/engine-stats.js';
import { newCounters } from '../src/engine/counters.js';
import { publishCommits, publishRequest } from '../src/http/observe.js';
import { createMetrics } from '../src/metrics.js';
import { dashboardExpressions, metricNames, ruleExpressions } from './support/promql.js';



function sampleStats(): EngineStats {
  const counters = newCounters({ resumed: 0, aborts: 0, replaced: 0, stuck: 0, waiting: '' });
  counters.processed = 120;
  counters.skipped = 2;
  counters.commits = 7;
  counters.aborts = 1;
  const task = { storeBytes: 4096, cacheHits: 9, cacheMisses: 1, cacheEntries: 10 };
  return {
    counters,
    tasks: [
      { ...task, partition: 0, thread: 0, state: 'RUNNING', processed: 100, skipped: 2 },
      { ...task, partition: 3, thread: 1, state: 'RESTORING', processed: 20, skipped: 0 },
      { ...task, partition: 4, thread: 1, state: 'STANDBY', processed: 0, skipped: 0 },
    ],
    restores: [{ partition: 3, restored: 1500, remaining: 500 }],
    consumerLag: [
      { topic: 'payment-orders', partition: 0, lag: 40 },
      { topic: 'stock-orders', partition: 0, lag: 2 },
    ],
    commitSeconds: [0.004, 0.03, 0.2],
    kafkaThreadHeap: { usedBytes: 40 * 1024 * 1024, limitBytes: 307 * 1024 * 1024 },
  };
}

async function scrape(state: EngineState = 'RUNNING'): Promise<string> {
  const stats = sampleStats();
  const registry = createMetrics({
    outbox: () => ({ published: 5, failures: 1, orphansFound: 0, orphansLanded: 0, orphansRepublished: 0 }),
    groupCommit: () => ({ batches: 1, items: 2, writes: 1, queued: 0, inFlight: 0 }),
    engine: () => stats,
    state: () => state,
    kafka: () => ({ up: true, since: 0, lastError: undefined, errors: {} }),
    storeQueries: () => 0,
  });
  publishCommits(stats.commitSeconds);
  publishRequest('GET', '/api/orders/:id', 200, process.hrtime.bigint());
  return registry.metrics();
}

/**
 * The sample names a scrape declares: each family of a `# TYPE` line with the series
 * names its type has (a histogram's _bucket, _sum and _count), whether or not a
 * labelled family has a series yet (GC durations appear with the first collection).
 */
function sampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

const sample = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('metricNames', () => {
  it.each([
    ['sum by (le, uri) (rate(http_server_requests_seconds_bucket{uri=~"/api/.*"}[5m]))', ['http_server_requests_seconds_bucket']],
    ['max(orders_stuck) > 0', ['orders_stuck']],
    ['a_sum / b_count > 1 and on(instance) up', ['a_sum', 'b_count', 'up']],
    ['histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval])))', ['x_bucket']],
    ['kafka_streams_state{state="RUNNING", instance=~"$instance"} != 1', ['kafka_streams_state']],
  ])('%s reads %j', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });
});

describe('the scrape has every metric the dashboard and the alerts read', async () => {
  const names = sampleNames(await scrape());
  const dashboard = JSON.parse(readFileSync('deploy/grafana/order-engine-dashboard.json', 'utf8'));
  const rules = readFileSync('deploy/prometheus/alerts.yml', 'utf8');

  it.each([
    ['deploy/grafana/order-engine-dashboard.json', dashboardExpressions(dashboard)],
    ['deploy/prometheus/alerts.yml', ruleExpressions(rules)],
  ])('%s', (_file, exprs) => {
    expect(exprs.length).toBeGreaterThan(5);
    const missing = exprs.flatMap((e) => metricNames(e)).filter((n) => !names.has(n));
    expect([...new Set(missing)]).toEqual([]);
  });

  it('every rule has an expression', () => {
    expect(ruleExpressions(rules).length).toBe([...rules.matchAll(/^\s*- alert:/gm)].length);
  });

  it('the dashboard takes its datasource from ${DS_PROMETHEUS} and its instance variable from an exported metric', () => {
    const uids = new Set<string>();
    const walk = (o: unknown): void => {
      if (o === null || typeof o !== 'object') return;
      const ds = (o as { datasource?: { uid?: string } }).datasource;
      if (ds?.uid !== undefined) uids.add(ds.uid);
      for (const v of Object.values(o)) walk(v);
    };
    walk(dashboard.panels);
    expect([...uids]).toEqual(['${DS_PROMETHEUS}']);
    const variable = dashboard.templating.list[0].definition as string;
    expect(names.has(/label_values\((\w+),/.exec(variable)![1]!)).toBe(true);
  });

  it.skipIf(!existsSync('/usr/bin/promtool'))('promtool accepts the rules', () => {
    expect(execFileSync('/usr/bin/promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml'], { encoding: 'utf8' })).toMatch(/SUCCESS: \d+ rules found/);
  });
});

describe('stream metrics', async () => {
  const text = await scrape('REBALANCING');

  it('kafka_consumer_lag_sum is the sum of the partitions\' lag', () => {
    expect(sample(text, 'kafka_consumer_records_lag', 'topic="payment-orders",partition="0"')).toBe(40);
    expect(sample(text, 'kafka_consumer_lag_sum', '')).toBe(42);
  });

  it('the kafka thread\'s heap, in use and its limit (the default nodejs_heap_* are the HTTP thread\'s)', () => {
    expect(sample(text, 'nodejs_thread_heap_used_bytes', 'thread="kafka"')).toBe(40 * 1024 * 1024);
    expect(sample(text, 'nodejs_thread_heap_limit_bytes', 'thread="kafka"')).toBe(307 * 1024 * 1024);
  });

  it('per task and thread: processed and dead-lettered records, active tasks only', () => {
    expect(sample(text, 'kafka_streams_task_process_total', 'partition="0",thread="0"')).toBe(100);
    expect(sample(text, 'kafka_streams_task_skipped_records_total', 'partition="0",thread="0"')).toBe(2);
    expect(sample(text, 'kafka_streams_task_process_total', 'partition="4",thread="1"')).toBeUndefined();
    expect(sample(text, 'orders_store_cache_hit_ratio', 'partition="0",thread="0"')).toBeCloseTo(0.9);
  });

  it('restore progress of a restoring task', () => {
    expect(sample(text, 'kafka_streams_restore_restored_records', 'partition="3"')).toBe(1500);
    expect(sample(text, 'kafka_streams_restore_remaining_records', 'partition="3"')).toBe(500);
  });

  it('the engine state: 1 for the current one, 0 for the others', () => {
    expect(sample(text, 'kafka_streams_state', 'state="REBALANCING"')).toBe(1);
    expect(sample(text, 'kafka_streams_state', 'state="RUNNING"')).toBe(0);
  });

  it('commit latency is a histogram of the commits handed over', () => {
    expect(sample(text, 'kafka_streams_commit_latency_seconds_count', '')).toBe(3);
    expect(sample(text, 'kafka_streams_commit_latency_seconds_bucket', 'le="0.005"')).toBe(1);
    expect(sample(text, 'kafka_streams_commit_latency_seconds_bucket', 'le="0.25"')).toBe(3);
  });

  it('HTTP requests are labelled with the route pattern, not the URL', () => {
    expect(sample(text, 'http_server_requests_seconds_count', 'method="GET",uri="/api/orders/:id",status="200"')).toBeGreaterThan(0);
  });
});
