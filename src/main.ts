// Process entry: config → Postgres migrations → Kafka (main thread: outbox relay and
// the stream engine) → stream threads → HTTP thread.
import { loadConfig, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { ConfigError } from './errors.js';
import { HttpThread } from './http/http-thread-client.js';
import { KafkaRuntime } from './kafka/kafka-runtime.js';
import { createLogger } from './logger.js';
import { createCacheBuffer } from './state/cache.js';
import { StreamEngine } from './stream/stream-engine.js';
import { StreamThreads } from './stream/stream-threads.js';

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

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config, { thread: 'main' });

  const migrationPool = createPool({ connectionString: config.databaseUrl, max: 1, applicationName: `${config.applicationId}-migrate` });
  try {
    const { applied } = await migrate(migrationPool);
    if (applied.length > 0) log.info({ applied }, 'applied database migrations');
  } finally {
    await migrationPool.end();
  }

  const kafka = await KafkaRuntime.start(config, log);
  const cache = config.cacheMaxBytes > 0 ? createCacheBuffer(config.cacheMaxBytes, config.numPartitions) : undefined;
  const threads = new StreamThreads(config.numStreamThreads, cache);
  const queryPorts = await threads.queryPorts();

  let stopping: Promise<void> | undefined;
  // Set once the engine started; shutdown may run before that (a failing HTTP thread).
  const streams: { engine?: StreamEngine } = {};
  const http = await HttpThread.start(config, log, { cache, queryPorts }, {
    onOutboxWakeup: () => kafka.wakeOutbox(),
    onFatal: (err) => {
      log.fatal({ err }, 'http thread failed');
      void shutdown(1);
    },
  });
  const engine = await StreamEngine.start(config, log.child({ component: 'streams' }), threads, {
    onTasksChanged: (state, tasks) => http.send({ type: 'tasks', state, tasks }),
    onFatal: (err) => {
      log.fatal({ err }, 'stream engine failed');
      void shutdown(1);
    },
  });

  streams.engine = engine;
  let statsRound = 0;
  const statsTimer = setInterval(() => {
    http.sendOutboxStats(kafka.outboxStats);
    void engine.stats().then(
      (tasks) => {
        http.send({ type: 'engine-stats', counters: { ...engine.counters }, tasks });
        if (++statsRound % 30 === 0) log.info({ counters: engine.counters, tasks }, 'stream engine stats');
      },
      () => undefined,
    );
  }, 1000);
  http.sendOutboxStats(kafka.outboxStats);
  log.info({ port: http.port, nodeId: http.nodeId, catalog: config.catalogServiceUrl ?? 'built-in' }, 'order engine listening');

  function shutdown(code: number): Promise<void> {
    stopping ??= (async () => {
      log.info('shutting down');
      clearInterval(statsTimer);
      // Kubernetes SIGKILLs after terminationGracePeriodSeconds (30 s) anyway; exit
      // first, saying which step hung. Nothing is lost: uncommitted work is replayed.
      let step = 'http';
      setTimeout(() => {
        log.error({ step }, 'shutdown did not finish in 25 s; exiting');
        process.exit(code === 0 ? 1 : code);
      }, 25_000).unref();
      await http.close();
      step = 'stream engine';
      await streams.engine?.close().catch((err: unknown) => log.error({ err }, 'stream engine did not close cleanly'));
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
