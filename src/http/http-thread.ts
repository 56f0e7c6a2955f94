// The HTTP thread: uWebSockets.js, request validation, the catalog check and the
// Postgres writes of new orders. It never touches librdkafka (main thread only): a
// committed batch of orders is announced to the main thread, whose outbox relay
// publishes it.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CachedCatalog, type ProductCatalog } from '../catalog/catalog.js';
import { DbCatalog } from '../catalog/db-catalog.js';
import { HttpCatalog } from '../catalog/http-catalog.js';
import type { OutboxStats } from '../db/outbox-relay.js';
import type { KafkaHealthSnapshot } from '../kafka/kafka-health.js';
import { OutboxDoorbell } from '../db/outbox-doorbell.js';
import { OrderRepository } from '../db/order-repository.js';
import { createPool } from '../db/pool.js';
import { IdGenerator } from '../domain/ids.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { OrderGenerator, SAMPLE_PRODUCT_CODES } from '../orders/order-generator.js';
import { OrderService } from '../orders/order-service.js';
import { AccessGate, ApiKeys, CorsPolicy, RateLimiter, type AccessConfig } from './access/index.js';
import { ClusterStore } from './cluster-store.js';
import { DEFAULT_FORWARDER_LIMITS, StoreForwarder } from './store-forwarder.js';
import { StoreQueries } from './store-queries.js';
import { CacheReader } from '../state/cache.js';
import { nameThread } from '../native/thread-name.js';
import type { EngineStats } from '../engine/engine-stats.js';
import { DbHealth } from './db-health.js';
import { acceptingHealth, kafkaHealth as kafkaComponent, streamsHealth } from './health.js';
import { publishCommits } from './observe.js';
import type { JobStats } from '../jobs/job-scheduler.js';
import { jobSettings } from '../jobs/jobs.js';
import type { HttpThreadData, HttpToMain, MainToHttp } from './protocol.js';
import { registerRoutes } from './routes.js';
import { HttpServer } from './server.js';

if (parentPort === null) throw new Error('http-thread.ts must run as a worker thread');
const port: MessagePort = parentPort;
const { config, cache, queryPorts, outboxBell } = workerData as HttpThreadData;
nameThread('http');
const log = createLogger(config, { thread: 'http' });
const post = (msg: HttpToMain): void => port.postMessage(msg);

// The last line of defence. Every uWS callback has its own error boundary
// (src/http/exchange.ts), so reaching these is a bug; but letting it end the thread
// ends the process (uWS aborts it when a thread exits with its listen socket open), and
// one request must never do that. The error is logged with an id, and the thread keeps
// serving: its state is per request, and the main thread still owns the data.
process.on('uncaughtException', (err) => log.error({ err, errorId: randomUUID() }, 'uncaught exception in the http thread; it keeps serving'));
process.on('unhandledRejection', (reason) => log.error({ err: reason, errorId: randomUUID() }, 'unhandled rejection in the http thread; it keeps serving'));

/** The access gate of this configuration; undefined when nothing is configured (routes then check nothing). */
function accessGate(access: AccessConfig, log: Logger): AccessGate | undefined {
  const clients = new Set(access.apiKeys.map((k) => k.client));
  log.info(
    {
      apiKeyClients: clients.size,
      operators: new Set(access.apiKeys.filter((k) => k.role === 'operator').map((k) => k.client)).size,
      requireApiKey: access.requireApiKey,
      rateLimit: access.rateLimit ?? 'off',
      corsOrigins: access.cors?.origins ?? 'off',
    },
    clients.size === 0 ? 'access control off: no API keys configured, every route is open' : 'access control on',
  );
  if (access.apiKeys.length === 0 && access.rateLimit === undefined && access.cors === undefined) return undefined;
  return new AccessGate({
    keys: access.apiKeys.length === 0 ? undefined : new ApiKeys(access.apiKeys),
    requireApiKey: access.requireApiKey,
    limiter: access.rateLimit === undefined ? undefined : new RateLimiter(access.rateLimit, () => performance.now()),
    cors: access.cors === undefined ? undefined : new CorsPolicy(access.cors),
  });
}

async function start(): Promise<void> {
  const pool = createPool({ connectionString: config.databaseUrl, max: config.databasePoolSize, applicationName: config.applicationId });
  const source: ProductCatalog =
    config.catalogServiceUrl === undefined
      ? new DbCatalog(pool)
      : new HttpCatalog({ baseUrl: config.catalogServiceUrl, timeoutMs: config.catalogTimeoutMs, maxInFlight: 64, failureThreshold: 5, coolDownMs: 10_000 });
  const catalog = new CachedCatalog(source, { ttlMs: 60_000, maxEntries: 100_000 });
  const ids = new IdGenerator(config.nodeId);

  // The relay is woken by a message only when it sleeps; while it runs a pass, it sees
  // the doorbell's count move and runs again (src/db/outbox-doorbell.ts).
  const bell = new OutboxDoorbell(outboxBell);
  const wakeOutbox = (): void => {
    if (bell.ring()) post({ type: 'outbox-wakeup' });
  };
  const orders = new OrderService(new OrderRepository(pool), catalog, ids, wakeOutbox, {
    maxBatch: 256,
    // Two: one statement in Postgres while the next batch gathers. At 8 (the pool less
    // two, as before) a group held 4 orders under 64 connections, at 2 about 15, and
    // the machine took more orders per second (docs/performance.md, "Intake").
    maxInFlight: Math.max(1, Math.min(config.databaseWritesInFlight, config.databasePoolSize - 1)),
    maxQueued: 20_000,
  });
  const generator = new OrderGenerator(pool, orders, log.child({ component: 'generate' }), SAMPLE_PRODUCT_CODES);

  const store = new StoreQueries(config.numPartitions, cache === undefined ? undefined : new CacheReader(cache.sab, cache.layout), queryPorts);
  const forwarder = new StoreForwarder({ selfId: config.instanceId, timeoutMs: config.storeForwardTimeoutMs, ...DEFAULT_FORWARDER_LIMITS });
  const clusterStore = new ClusterStore(store, forwarder.forward, { selfId: config.instanceId, numPartitions: config.numPartitions });
  let outbox: OutboxStats | undefined;
  let kafkaHealth: KafkaHealthSnapshot | undefined;
  let engine: EngineStats | undefined;
  let jobs: readonly JobStats[] | undefined;
  let draining = false;
  const registry = createMetrics({
    outbox: () => outbox,
    groupCommit: () => orders.writeStats,
    engine: () => engine,
    state: () => store.state,
    kafka: () => kafkaHealth,
    storeQueries: () => store.pending,
    jobs: () => jobs,
  });
  // Readiness' Postgres check on a connection of its own (db-health.ts).
  const healthPool = createPool({ connectionString: config.databaseUrl, max: 1, applicationName: `${config.applicationId}-health` });
  const dbHealth = new DbHealth(() => healthPool.query('select 1'), { timeoutMs: config.healthDbTimeoutMs });
  const access = accessGate(config.access, log);
  const http = new HttpServer({ host: config.host, port: config.port, maxBodyBytes: config.maxBodyBytes, ...(access === undefined ? {} : { access }) }, log);
  registerRoutes(http, {
    store: clusterStore,
    orders,
    generator,
    jobs: { instanceId: config.instanceId, enabled: config.jobsEnabled, settings: jobSettings(config), pool, local: () => jobs },
    health: {
      async readiness() {
        return {
          db: await dbHealth.check(),
          // The kafka thread's broker probe (kafka-health.ts), not merely "started".
          kafka: kafkaComponent(kafkaHealth),
          streams: streamsHealth(store.state, store.tasks, engine?.restores ?? []),
          accepting: acceptingHealth(draining),
        };
      },
    },
    registry,
    info: { app: 'order-engine', applicationId: config.applicationId, nodeId: String(ids.nodeId) },
    instanceId: config.instanceId,
    numPartitions: config.numPartitions,
  });
  const listeningPort = await http.listen();

  port.on('message', (msg: MainToHttp) => {
    switch (msg.type) {
      case 'outbox-stats':
        outbox = msg.stats;
        break;
      case 'tasks':
        store.updateTasks(msg.state, msg.tasks);
        break;
      case 'instances':
        clusterStore.updatePeers(msg.instances);
        break;
      case 'engine-stats':
        engine = msg.stats;
        publishCommits(msg.stats.commitSeconds);
        break;
      case 'kafka-health':
        kafkaHealth = msg.health;
        break;
      case 'jobs-stats':
        jobs = msg.jobs;
        break;
      case 'query-port':
        store.replacePort(msg.thread, msg.port);
        break;
      case 'shutdown':
        draining = true;
        http.close();
        void (async () => {
          await generator.drain();
          await Promise.all([pool.end(), healthPool.end()]);
          store.close();
          forwarder.close();
          post({ type: 'closed' });
          // Nothing else keeps the thread alive: it ends when uWS has no sockets left.
          port.unref();
        })();
        break;
    }
  });
  post({ type: 'listening', port: listeningPort, nodeId: ids.nodeId });
}

start().catch((err: unknown) => {
  log.error({ err }, 'http thread failed to start');
  post({ type: 'fatal', message: (err as Error).message });
});
