// The stream engine's Prometheus metrics: per task and thread, restores, consumer lag,
// the engine's state and the commit latency histogram. Names follow Kafka Streams'
// metrics as the seed's alerts read them (process rate, commit latency, skipped
// records, state), with the `kafka_streams_` prefix the other engine metrics use, and
// `kafka_consumer_lag_sum` exactly as the seed's HorizontalPodAutoscaler asks for it.
import client from 'prom-client';
import type { EngineState } from './engine/engine-state.js';
import type { EngineStats, ThreadTaskStats } from './engine/engine-stats.js';
import { streamCommitsChannel } from './http/observe.js';

export const ENGINE_STATES: readonly EngineState[] = ['CREATED', 'STARTING', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'DEAD', 'ERROR'];

export interface StreamMetricSources {
  engine(): EngineStats | undefined;
  /** The engine's state as the kafka thread last reported it. */
  state(): EngineState;
}

export function registerStreamMetrics(registry: client.Registry, sources: StreamMetricSources): void {
  const registers = [registry];
  const commitLatency = new client.Histogram({
    name: 'kafka_streams_commit_latency_seconds',
    help: 'Duration of a commit of the stream engine: prepare (cache flush), transaction commit (acks, offsets), postCommit (RocksDB)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  streamCommitsChannel.subscribe((message) => {
    for (const seconds of message as readonly number[]) commitLatency.observe(seconds);
  });

  const taskLabels = (t: ThreadTaskStats): { partition: string; thread: string } => ({ partition: String(t.partition), thread: String(t.thread) });
  // Counters kept by each task since it opened: a task that moves or reopens starts
  // again from zero, which rate() reads as a counter reset.
  const perTaskCounter = (name: string, help: string, read: (t: ThreadTaskStats) => number): void => {
    new client.Counter({
      name,
      help,
      labelNames: ['partition', 'thread'],
      registers,
      collect() {
        this.reset();
        for (const t of sources.engine()?.tasks ?? []) if (t.state !== 'STANDBY') this.inc(taskLabels(t), read(t));
      },
    });
  };
  perTaskCounter('kafka_streams_task_process_total', 'Records processed by the task', (t) => t.processed);
  perTaskCounter('kafka_streams_task_skipped_records_total', 'Records of the task sent to the DLQ (recovererDLQ) instead of processed', (t) => t.skipped);

  const perTaskGauge = (name: string, help: string, read: (t: ThreadTaskStats) => number): void => {
    new client.Gauge({
      name,
      help,
      labelNames: ['partition', 'thread'],
      registers,
      collect() {
        this.reset();
        for (const t of sources.engine()?.tasks ?? []) this.set(taskLabels(t), read(t));
      },
    });
  };
  perTaskGauge('orders_store_bytes', 'Approximate RocksDB size of the task stores', (t) => t.storeBytes);
  perTaskGauge('orders_store_cache_entries', 'Entries in the task cache slice', (t) => t.cacheEntries);
  perTaskGauge('orders_store_cache_hit_ratio', 'Cache hits / (hits + misses) of the task slice', (t) =>
    t.cacheHits + t.cacheMisses === 0 ? 0 : t.cacheHits / (t.cacheHits + t.cacheMisses),
  );
  new client.Gauge({
    name: 'kafka_streams_task',
    help: 'Tasks of this instance by partition and state (RESTORING, RUNNING, STANDBY): 1 per task',
    labelNames: ['partition', 'state'],
    registers,
    collect() {
      this.reset();
      for (const t of sources.engine()?.tasks ?? []) this.set({ partition: String(t.partition), state: t.state }, 1);
    },
  });

  new client.Gauge({
    name: 'kafka_streams_restore_restored_records',
    help: 'Changelog records applied so far by the restore of an active task (while it restores)',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const r of sources.engine()?.restores ?? []) this.set({ partition: String(r.partition) }, r.restored);
    },
  });
  new client.Gauge({
    name: 'kafka_streams_restore_remaining_records',
    help: 'Changelog records left to restore for an active task: its changelogs\' end offsets at the start of the restore less what is applied',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const r of sources.engine()?.restores ?? []) if (r.remaining !== undefined) this.set({ partition: String(r.partition) }, r.remaining);
    },
  });

  new client.Gauge({
    name: 'kafka_consumer_records_lag',
    help: 'Records between the stream consumer\'s position and the end (high watermark) of an input partition assigned to this instance',
    labelNames: ['topic', 'partition'],
    registers,
    collect() {
      this.reset();
      for (const l of sources.engine()?.consumerLag ?? []) this.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
    },
  });
  new client.Gauge({
    name: 'kafka_consumer_lag_sum',
    help: 'Sum of kafka_consumer_records_lag over this instance\'s input partitions (the seed\'s HPA scales on it)',
    registers,
    collect() {
      this.set((sources.engine()?.consumerLag ?? []).reduce((sum, l) => sum + l.lag, 0));
    },
  });

  // The kafka thread's heap (prom-client's nodejs_heap_* are the HTTP thread's): a
  // backlog once filled it until the process died (docs/performance.md).
  const kafkaHeapGauge = (name: string, help: string, read: (heap: EngineStats['kafkaThreadHeap']) => number): void => {
    new client.Gauge({
      name,
      help,
      labelNames: ['thread'],
      registers,
      collect() {
        this.reset();
        const heap = sources.engine()?.kafkaThreadHeap;
        if (heap !== undefined) this.set({ thread: 'kafka' }, read(heap));
      },
    });
  };
  kafkaHeapGauge(
    'nodejs_thread_heap_used_bytes',
    'V8 heap in use by a thread of this process other than the HTTP thread (thread="kafka": the stream loop, the outbox relay, the jobs)',
    (heap) => heap.usedBytes,
  );
  kafkaHeapGauge('nodejs_thread_heap_limit_bytes', 'The V8 heap limit of that thread: past it the process dies (its share of MEMORY_LIMIT)', (heap) => heap.limitBytes);

  new client.Gauge({
    name: 'kafka_streams_state',
    help: 'The stream engine\'s state (KafkaStreams.State): 1 for the current one, 0 for the others',
    labelNames: ['state'],
    registers,
    collect() {
      const now = sources.state();
      for (const state of ENGINE_STATES) this.set({ state }, state === now ? 1 : 0);
    },
  });
}
