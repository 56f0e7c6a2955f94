// Prometheus metrics. The hot path never calls prom-client: HTTP timings arrive on a
// diagnostics channel, and counters kept by their owners are read at scrape time.
import client from 'prom-client';
import { httpRejectedChannel, httpRequestChannel, type RejectedEvent, type RequestEvent } from './http/observe.js';
import type { KafkaHealthSnapshot } from './kafka/kafka-health.js';
import { registerStreamMetrics, type StreamMetricSources } from './stream-metrics.js';
import type { JobStats } from './jobs/job-scheduler.js';
import { registerJobMetrics } from './jobs/job-metrics.js';

export interface MetricSources extends StreamMetricSources {
  outbox(): { published: number; failures: number; orphansFound: number; orphansLanded: number; orphansRepublished: number } | undefined;
  groupCommit(): { batches: number; items: number; writes: number; queued: number; inFlight: number };
  kafka(): KafkaHealthSnapshot | undefined;
  /** Store queries waiting for a stream thread's answer. */
  storeQueries(): number;
  /** The scheduled jobs as this instance sees them (src/jobs/); undefined while not started or disabled. */
  jobs?(): readonly JobStats[] | undefined;
}

export function createMetrics(sources: MetricSources): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });

  const http = new client.Histogram({
    name: 'http_server_requests_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'uri', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5],
    registers: [registry],
  });
  httpRequestChannel.subscribe((message) => {
    const e = message as RequestEvent;
    http.observe({ method: e.method, uri: e.route, status: String(e.status) }, e.seconds);
  });

  const rejected = new client.Counter({
    name: 'http_server_requests_rejected_total',
    help: 'Requests refused by the access gate, by reason: missing_key, invalid_key (401), forbidden (403), rate_limited (429), cors_rejected (403 preflight)',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Every reason from the start at 0, so a rate() over it exists before the first refusal.
  for (const reason of ['missing_key', 'invalid_key', 'forbidden', 'rate_limited', 'cors_rejected']) rejected.inc({ reason }, 0);
  httpRejectedChannel.subscribe((message) => rejected.inc({ reason: (message as RejectedEvent).reason }));

  const counterFrom = (name: string, help: string, read: () => number | undefined): void => {
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v !== undefined) {
          this.reset();
          this.inc(v);
        }
      },
    });
  };
  const gaugeFrom = (name: string, help: string, read: () => number): void => {
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  counterFrom('orders_outbox_published_total', 'Outbox events published to Kafka', () => sources.outbox()?.published);
  counterFrom('orders_outbox_failures_total', 'Outbox relay passes that failed and will be retried', () => sources.outbox()?.failures);
  counterFrom('orders_outbox_orphans_total', 'Outbox rows found claimed and never marked (crash, failed send, expired lease)', () => sources.outbox()?.orphansFound);
  counterFrom('orders_outbox_orphans_landed_total', 'Orphaned outbox rows found on the topic and marked without sending again', () => sources.outbox()?.orphansLanded);
  counterFrom('orders_outbox_orphans_republished_total', 'Orphaned outbox rows not on the topic, released to be sent again', () => sources.outbox()?.orphansRepublished);
  counterFrom('orders_db_group_commit_batches_total', 'Round trips that wrote new orders', () => sources.groupCommit().batches);
  counterFrom('orders_db_group_commit_orders_total', 'Orders written by group commit', () => sources.groupCommit().items);
  // Batches plus per-item rewrites: far above batches only when batches hold bad items.
  counterFrom('orders_db_group_commit_writes_total', 'Write round trips attempted by group commit', () => sources.groupCommit().writes);
  gaugeFrom('orders_db_group_commit_queued', 'Orders waiting for a database slot', () => sources.groupCommit().queued);

  // The seed's alerts read Kafka Streams' metrics; these carry the same meaning.
  counterFrom('kafka_streams_process_total', 'Records processed by the stream tasks', () => sources.engine()?.counters.processed);
  counterFrom('kafka_streams_skipped_records_total', 'Records sent to the DLQ instead of processed', () => sources.engine()?.counters.skipped);
  counterFrom('kafka_streams_commit_total', 'Committed transactions of the stream engine', () => sources.engine()?.counters.commits);
  const phases = new client.Counter({
    name: 'kafka_streams_commit_phase_seconds_total',
    help: 'Commit time by phase: prepare (cache flush, changelog), transaction (acks, offsets, commit), postCommit (RocksDB, checkpoint)',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const p = sources.engine()?.counters.commitPhases;
      if (p === undefined) return;
      this.reset();
      for (const [phase, seconds] of Object.entries(p)) this.inc({ phase }, seconds);
    },
  });
  void phases;
  const pacing = new client.Gauge({
    name: 'kafka_streams_commit_pacing_seconds',
    help: 'The commit pacer: cost (moving average of a commit), wait (the least time between commits now; COMMIT_INTERVAL_MS when fixed)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const p = sources.engine()?.counters.commitPacing;
      if (p === undefined) return;
      this.set({ kind: 'cost' }, p.costMs / 1000);
      this.set({ kind: 'wait' }, p.waitMs / 1000);
    },
  });
  void pacing;
  counterFrom('kafka_streams_aborted_total', 'Failed commit cycles (transaction aborted, tasks rolled back to committed state)', () => sources.engine()?.counters.aborts);
  counterFrom('kafka_streams_forwarded_records_total', 'Records forwarded to their key\'s partition through a repartition topic', () => sources.engine()?.counters.forwarded);
  counterFrom(
    'kafka_streams_duplicate_decisions_suppressed_total',
    'Decisions not made again because the order was decided already (a participant answered it twice)',
    () => sources.engine()?.counters.duplicateDecisions,
  );
  counterFrom('kafka_streams_restore_records_total', 'Changelog records applied by restores and standby updates', () => sources.engine()?.counters.restored);
  counterFrom(
    'kafka_streams_partition_flow_pauses_total',
    'Input partitions paused for holding too many records ahead of their task\'s other inputs (resumed once they caught up)',
    () => sources.engine()?.counters.flowPauses,
  );
  counterFrom(
    'kafka_streams_held_records_released_past_bound_total',
    'Records the stream loop released in fetch order rather than by timestamp because it held its bound of records',
    () => sources.engine()?.counters.heldReleasedPastBound,
  );
  counterFrom('kafka_streams_thread_lost_total', 'Stream threads that died and were replaced (their tasks reopened)', () => sources.engine()?.counters.threadsLost);
  const labelled = (name: string, help: string, label: string, read: () => Record<string, number> | undefined): void => {
    new client.Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        const values = read();
        if (values === undefined) return;
        this.reset();
        for (const [k, v] of Object.entries(values)) this.inc({ [label]: k }, v);
      },
    });
  };
  labelled(
    'kafka_streams_mispartitioned_records_total',
    'Input records whose key hashes to another partition than the one they arrived on (a producer not partitioning like Kafka\'s default partitioner)',
    'topic',
    () => sources.engine()?.counters.mispartitioned,
  );
  labelled('kafka_streams_transaction_events_total', 'Transactional producer events: calls resumed after a retriable error, aborts, producers replaced after a fatal error', 'event', () => {
    const t = sources.engine()?.counters.transactions;
    return t === undefined ? undefined : { resumed: t.resumed, aborted: t.aborts, replaced: t.replaced, stuck: t.stuck };
  });
  labelled('kafka_client_errors_total', 'librdkafka error events by client and error', 'client_error', () => sources.kafka()?.errors);
  gaugeFrom('kafka_broker_up', 'Whether the kafka thread reaches a broker (its metadata probe answered)', () => (sources.kafka()?.up === false ? 0 : 1));
  gaugeFrom('orders_store_queries_pending', 'Store queries waiting for a stream thread', () => sources.storeQueries());
  registerStreamMetrics(registry, sources);
  registerJobMetrics(registry, () => sources.jobs?.());
  return registry;
}
