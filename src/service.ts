// The service, started by the process entry (main.cts): config → Postgres migrations
// → Kafka (main thread: outbox relay and the stream engine) → stream threads → HTTP
// thread; the scheduled jobs (src/jobs/) run on the main thread too, once the service
// is listening.
import pRetry from 'p-retry';
import { loadConfig, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { resolveDatabaseUrl } from './db/connection.js';
import { OutboxDoorbell } from './db/outbox-doorbell.js';
import { createPool, isUnavailable } from './db/pool.js';
import { advertisedEndpoint } from './cluster/endpoint.js';
import { ConfigError } from './errors.js';
import { HttpThread } from './http/http-thread-client.js';
import type { MainToHttp } from './http/protocol.js';
import { KafkaHealth } from './kafka/kafka-health.js';
import { KafkaRuntime } from './kafka/kafka-runtime.js';
import { createLogger } from './logger.js';
import { heapLimitMismatch } from './memory/kafka-thread-heap.js';
import { describeBudget } from './memory/memory-budget.js';
import { installCrashReport } from './native/crash-report.js';
import { createCacheBuffer } from './state/cache.js';
import { StreamEngine } from './engine/engine.js';
import { standbysFor } from './engine/standby-placement.js';
import { StreamThreads } from './engine/stream-threads.js';
import { JobScheduler } from './jobs/job-scheduler.js';
import { createJobs } from './jobs/jobs.js';

/** A loop step waiting this long is reported (every 10 s) with what the producer waits on. */
const LOOP_STUCK_WARN_S = 30;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`order-engine: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

interface RunningJobs {
  readonly scheduler: JobScheduler;
  /** Stops the scheduler (a run in progress finishes first) and closes the jobs' pool. */
  close(): Promise<void>;
}

async function main(): Promise<void> {
  // Before any native client exists: a crash in librdkafka, RocksDB or the addon then
  // leaves its thread's native stack on stderr, not just the signal.
  installCrashReport();
  const loaded = readConfig();
  const log = createLogger(loaded, { thread: 'main' });
  // Over the Unix socket when Postgres is on this host (src/db/connection.ts); every
  // pool, the HTTP thread's included, takes the resolved URL from here.
  const config: Config = Object.freeze({ ...loaded, databaseUrl: await resolveDatabaseUrl(loaded.databaseUrl, loaded.databaseSocket, log) });
  const health = new KafkaHealth(log.child({ component: 'kafka' }));
  log.info({ memory: describeBudget(config.memory) }, 'memory budget');
  const heapWarning = heapLimitMismatch(config.memory);
  // Only a real limit (MEMORY_LIMIT or a cgroup's) makes an unbounded heap a risk worth a warning.
  if (heapWarning !== undefined) log[config.memory.source === 'default' ? 'info' : 'warn'](heapWarning);

  // First of all: the transactional producer's initTransactions fences a crashed
  // predecessor with our INSTANCE_ID and aborts the transaction it left open. Until
  // then every read_committed reader of `orders` (the payment and inventory services)
  // is held at that transaction's first offset, so this runs beside the migrations.
  const producer = StreamEngine.createProducer(config, log, health);
  producer.catch(() => undefined); // awaited below; an early failure must not go unhandled meanwhile

  // Where start-up time goes, logged once listening: a restarted pod's recovery time
  // is mostly this.
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const lap = <T>(phase: string, work: Promise<T>): Promise<T> =>
    work.then((v) => {
      phases[phase] = Date.now() - t0;
      return v;
    });

  const migrationPool = createPool({ connectionString: config.databaseUrl, max: 1, applicationName: `${config.applicationId}-migrate` });
  try {
    // A database that is not up yet (containers started together) is waited for, as Kafka is.
    const { applied } = await lap(
      'migrations',
      pRetry(() => migrate(migrationPool), {
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: 300_000,
        minTimeout: 250,
        maxTimeout: 2000,
        shouldRetry: ({ error }) => isUnavailable(error),
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (attemptNumber === 1 || attemptNumber % 10 === 0) log.warn({ err: error.message, attempt: attemptNumber }, 'migrations: no database yet; retrying');
        },
      }),
    );
    if (applied.length > 0) log.info({ applied }, 'applied database migrations');
  } finally {
    await migrationPool.end();
  }

  const cache = config.memory.recordCacheBytes > 0 ? createCacheBuffer(config.memory.recordCacheBytes, config.numPartitions) : undefined;
  // Set as they start; a fatal error (and so a shutdown) may come before any of them.
  const started: {
    kafka?: KafkaRuntime;
    engine?: StreamEngine;
    http?: HttpThread;
    httpStarting?: Promise<HttpThread>;
    statsTimer?: NodeJS.Timeout;
    jobs?: Promise<RunningJobs | undefined>;
  } = {};
  let stopping: Promise<void> | undefined;
  const threads = new StreamThreads(config.numStreamThreads, cache, {
    onThreadLost: (thread, err) => {
      if (started.engine !== undefined) started.engine.threadLost(thread, err);
      else fatal(err, 'a stream thread died during start');
    },
  }, undefined, { heapMb: config.memory.heapMb.streamThread, store: config.memory.store });
  // Independent of each other: the outbox relay, topics and projector, and the stream
  // threads' start.
  // The HTTP thread rings it after each commit; the relay reads it (no message while it runs).
  const outboxBell = new OutboxDoorbell();
  const [kafka, queryPorts] = await Promise.all([lap('kafka', KafkaRuntime.start(config, log, health, outboxBell)), lap('threads', threads.queryPorts())]);
  started.kafka = kafka;

  // The HTTP thread and the engine start side by side too; what the engine says about
  // its tasks before the HTTP thread is up is kept and handed over once it is.
  let tasksUpdate: MainToHttp | undefined;
  // Kept so that a shutdown beginning while the thread still starts (a fatal engine
  // error at its first task) waits for it and closes it: a worker ended by
  // process.exit with its listen socket open aborts the whole process (SIGABRT,
  // uv_loop_close with open handles) instead of exiting with our code.
  started.httpStarting = lap(
    'http',
    HttpThread.start(config, log, { cache, queryPorts, outboxBell: outboxBell.buffer }, {
      onOutboxWakeup: () => kafka.wakeOutbox(),
      onFatal: (err) => fatal(err, 'http thread failed'),
    }),
  ).then((http) => {
    started.http = http;
    if (tasksUpdate !== undefined) http.send(tasksUpdate);
    // Store reads for partitions of other instances are forwarded to them (src/cluster/).
    kafka.cluster.onChange((instances) => http.send({ type: 'instances', instances }));
    kafka.cluster.advertise(advertisedEndpoint(config, http.port));
    http.send({ type: 'kafka-health', health: health.snapshot() });
    return http;
  });
  const ready = await Promise.all([
    started.httpStarting,
    lap(
      'engine',
      producer.then((txn) =>
        StreamEngine.start(
          config,
          log.child({ component: 'streams' }),
          threads,
          txn,
          {
            onTasksChanged: (state, tasks) => {
              tasksUpdate = { type: 'tasks', state, tasks };
              started.http?.send(tasksUpdate);
              kafka.cluster.updateTasks(state, tasks);
            },
            onQueryPort: (thread, port) => started.http?.sendQueryPort(thread, port),
            onFatal: (err) => fatal(err, 'stream engine failed'),
          },
          { dlqPartitions: kafka.dlqPartitions, health },
        ),
      ),
    ),
  ]).catch((err: unknown) => {
    // Through the shutdown, which waits for the HTTP thread's start to settle.
    fatal(err instanceof Error ? err : new Error(String(err)), 'failed to start');
    return undefined;
  });
  if (ready === undefined) return;
  const [httpThread, engine] = ready;
  started.engine = engine;
  if (stopping !== undefined) {
    await engine.close().catch(() => undefined); // started after the shutdown passed it
    return; // a fatal error came first; the shutdown owns the rest
  }
  // From the directory: how many others could take our tasks (isolation), and the
  // standby placement, which every instance derives alike.
  kafka.cluster.onChange((live) => {
    engine.setPeers(live.filter((r) => r.instanceId !== config.instanceId).length);
    const members = live.map((r) => ({ instanceId: r.instanceId, active: [...r.running, ...r.restoring] }));
    engine.setStandbys(standbysFor(config.instanceId, members, config.numPartitions, config.numStandbyReplicas));
  });
  if (config.jobsEnabled) started.jobs = startJobs(kafka);
  let jobScheduler: JobScheduler | undefined;
  void started.jobs?.then((running) => (jobScheduler = running?.scheduler));
  let statsRound = 0;
  started.statsTimer = setInterval(() => {
    httpThread.sendOutboxStats(kafka.outboxStats);
    if (jobScheduler !== undefined) httpThread.send({ type: 'jobs-stats', jobs: jobScheduler.stats });
    httpThread.send({ type: 'kafka-health', health: health.snapshot() });
    void engine.stats().then(
      (stats) => {
        httpThread.send({ type: 'engine-stats', stats });
        if (++statsRound % 30 === 0) log.info({ counters: stats.counters, tasks: stats.tasks, restores: stats.restores }, 'stream engine stats');
        // Every step of the loop is bounded by a timeout of its own; one that is not ends here.
        const { step, since } = stats.counters.loop;
        const waitedS = Math.round((Date.now() - since) / 1000);
        if (waitedS >= LOOP_STUCK_WARN_S && statsRound % 10 === 0) {
          log.warn({ step, waitedS, producer: stats.counters.transactions.waiting }, `stream loop: step ${step} has not returned for ${waitedS} s`);
        }
      },
      () => undefined,
    );
  }, 1000);
  httpThread.sendOutboxStats(kafka.outboxStats);
  log.info(
    { port: httpThread.port, nodeId: httpThread.nodeId, catalog: config.catalogServiceUrl ?? 'built-in', startMs: { ...phases, total: Date.now() - t0 } },
    'order engine listening',
  );

  /**
   * The scheduled jobs (stuck orders, outbox retention): their own small pool, which
   * pg-boss (schema pgboss, created or migrated here) uses too. A database away at this point
   * is waited for as at start; anything else is fatal.
   */
  async function startJobs(kafka: KafkaRuntime): Promise<RunningJobs | undefined> {
    const jobLog = log.child({ component: 'jobs' });
    const pool = createPool({ connectionString: config.databaseUrl, max: 3, applicationName: `${config.applicationId}-jobs` });
    const jobs = createJobs(config, pool, { onRepublished: () => kafka.wakeOutbox() });
    const options = { queuePrefix: config.applicationId, instanceId: config.instanceId };
    try {
      const scheduler = await pRetry(() => JobScheduler.start(jobs, pool, options, jobLog), {
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: 300_000,
        minTimeout: 1000,
        maxTimeout: 10_000,
        shouldRetry: ({ error }) => isUnavailable(error) && stopping === undefined,
      });
      jobLog.info({ jobs: scheduler.stats.map((j) => ({ name: j.name, periodMs: j.periodMs })) }, 'scheduled jobs started');
      return { scheduler, close: async () => (await scheduler.stop(), await pool.end()) };
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (stopping === undefined) fatal(err instanceof Error ? err : new Error(String(err)), 'scheduled jobs could not start');
      return undefined;
    }
  }

  /** A fatal error: one clear line saying what and why, then a shutdown with a non-zero exit. */
  function fatal(err: Error, what: string): void {
    log.fatal({ err, code: (err as { code?: unknown }).code }, `${what}: ${err.message}; stopping`);
    void shutdown(1);
  }

  function shutdown(code: number): Promise<void> {
    stopping ??= (async () => {
      log.info('shutting down');
      clearInterval(started.statsTimer);
      health.stop();
      // Kubernetes SIGKILLs after terminationGracePeriodSeconds (30 s) anyway; exit
      // first, saying which step hung. Nothing is lost: uncommitted work is replayed.
      // Others stop forwarding store reads here (the tombstone goes out meanwhile; kafka.close waits for it).
      void started.kafka?.cluster.leave();
      let step = 'http';
      setTimeout(() => {
        log.error({ step }, 'shutdown did not finish in 25 s; exiting');
        process.exit(code === 0 ? 1 : code);
      }, 25_000).unref();
      const http = started.http ?? (await started.httpStarting?.catch(() => undefined));
      await http?.close();
      step = 'scheduled jobs';
      await (await started.jobs)?.close().catch((err: unknown) => log.error({ err }, 'scheduled jobs did not stop cleanly'));
      step = 'stream engine';
      await started.engine?.close().catch((err: unknown) => log.error({ err }, 'stream engine did not close cleanly'));
      step = 'stream threads';
      await threads.close();
      step = 'outbox relay and status projector';
      await kafka.close();
      log.info('stopped');
      process.exit(code);
    })();
    return stopping;
  }
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`order-engine: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
