// Process entry: config → Postgres migrations → Kafka (main thread) → HTTP thread.
import { loadConfig, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { ConfigError } from './errors.js';
import { HttpThread } from './http/http-thread-client.js';
import { KafkaRuntime } from './kafka/kafka-runtime.js';
import { createLogger } from './logger.js';

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
  let stopping: Promise<void> | undefined;
  const http = await HttpThread.start(config, log, {
    onOutboxWakeup: () => kafka.wakeOutbox(),
    onFatal: (err) => {
      log.fatal({ err }, 'http thread failed');
      void shutdown(1);
    },
  });
  const statsTimer = setInterval(() => http.sendOutboxStats(kafka.outboxStats), 1000);
  http.sendOutboxStats(kafka.outboxStats);
  log.info({ port: http.port, nodeId: http.nodeId, catalog: config.catalogServiceUrl ?? 'built-in' }, 'order engine listening');

  function shutdown(code: number): Promise<void> {
    stopping ??= (async () => {
      log.info('shutting down');
      clearInterval(statsTimer);
      await http.close();
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
