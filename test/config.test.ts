import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError, EngineError } from '../src/errors.js';

/** The ConfigError loadConfig throws; fails the test when it does not throw one. */
function configErrorOf(env: NodeJS.ProcessEnv, overrides: Partial<Record<string, string>> = {}): ConfigError {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The variable each line names: the text before its first '='. */
const namedVariables = (err: ConfigError): string[] => err.lines.map((l) => l.slice(0, l.indexOf('=')));

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      port: 18282,
      host: '0.0.0.0',
      kafkaBootstrapServers: '127.0.0.1:9092',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/order_service',
      databaseSocket: 'auto',
      databasePoolSize: 10,
      databaseWritesInFlight: 2,
      applicationId: 'order-service',
      numPartitions: 6,
      replicationFactor: 1,
      numStreamThreads: 2,
      commitIntervalMs: 1000,
      commitMode: 'adaptive',
      commitMinIntervalMs: 5,
      cacheMaxBytes: undefined,
      memoryLimit: undefined,
      memory: expect.objectContaining({ limitBytes: expect.any(Number) }),
      stateDir: '/tmp/kafka-streams',
      processingGuarantee: 'exactly_once_v2',
      numStandbyReplicas: 1,
      sessionTimeoutMs: 6000,
      maxPollIntervalMs: 300_000,
      restoreMaxPollRecords: 5000,
      groupProtocol: 'consumer',
      joinWindowMs: 10_000,
      joinMaxWaitMs: 60_000,
      repartitionInputs: false,
      timestampExtractor: 'record',
      catalogServiceUrl: undefined,
      catalogTimeoutMs: 2000,
      maxBodyBytes: 65_536,
      nodeId: undefined,
      instanceId: expect.stringMatching(/^[A-Za-z0-9._-]+$/),
      outboxBatchSize: 500,
      outboxPollMs: 1000,
      outboxRelayEnabled: true,
      outboxLeaseMs: 60_000,
      outboxVacuumRows: 10_000,
      jobsEnabled: true,
      stuckOrdersPeriodMs: 60_000,
      stuckOrdersAgeMs: 300_000,
      stuckOrdersBatchSize: 1000,
      outboxRetentionMode: 'delete',
      outboxRetentionMs: 3_600_000,
      outboxRetentionPeriodMs: 60_000,
      outboxRetentionBatchSize: 5000,
      outboxRetentionMaxRowsPerRun: 500_000,
      applicationServer: undefined,
      instanceHeartbeatMs: 2000,
      instanceTtlMs: 6000,
      storeForwardTimeoutMs: 2000,
      healthDbTimeoutMs: 1000,
      logLevel: 'info',
      access: { apiKeys: [], requireApiKey: false, rateLimit: undefined, cors: undefined },
    });
  });

  it.each<[string, string, string, unknown]>([
    ['PORT', '8080', 'port', 8080],
    ['PORT', '0', 'port', 0],
    ['NUM_PARTITIONS', '12', 'numPartitions', 12],
    ['NUM_STREAM_THREADS', '4', 'numStreamThreads', 4],
    ['COMMIT_INTERVAL_MS', '100', 'commitIntervalMs', 100],
    ['CACHE_MAX_BYTES', '0', 'cacheMaxBytes', 0],
    ['DATABASE_POOL_SIZE', '25', 'databasePoolSize', 25],
    ['NODE_ID', '0', 'nodeId', 0],
    ['NODE_ID', '31', 'nodeId', 31],
    ['INSTANCE_ID', 'order-service-2', 'instanceId', 'order-service-2'],
    ['OUTBOX_RELAY_ENABLED', 'false', 'outboxRelayEnabled', false],
    ['REPARTITION_INPUTS', 'true', 'repartitionInputs', true],
    ['TIMESTAMP_EXTRACTOR', 'wallclock', 'timestampExtractor', 'wallclock'],
    ['OUTBOX_RELAY_ENABLED', 'true', 'outboxRelayEnabled', true],
    ['PROCESSING_GUARANTEE', 'at_least_once', 'processingGuarantee', 'at_least_once'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'k1:9092,k2:9093', 'kafkaBootstrapServers', 'k1:9092,k2:9093'],
    ['DATABASE_URL', 'postgresql://u:p@db:5432/orders', 'databaseUrl', 'postgresql://u:p@db:5432/orders'],
    ['DATABASE_SOCKET', 'off', 'databaseSocket', 'off'],
    ['DATABASE_SOCKET', '/run/postgresql', 'databaseSocket', '/run/postgresql'],
    ['CATALOG_SERVICE_URL', 'http://catalog:8080', 'catalogServiceUrl', 'http://catalog:8080'],
    ['APPLICATION_ID', 'orders.v2_blue-1', 'applicationId', 'orders.v2_blue-1'],
    ['LOG_LEVEL', 'debug', 'logLevel', 'debug'],
    ['APPLICATION_SERVER', 'orders-1.orders.svc:18282', 'applicationServer', 'orders-1.orders.svc:18282'],
    ['APPLICATION_SERVER', '[fd00::7]:18282', 'applicationServer', '[fd00::7]:18282'],
    ['INSTANCE_HEARTBEAT_MS', '500', 'instanceHeartbeatMs', 500],
    ['INSTANCE_TTL_MS', '9000', 'instanceTtlMs', 9000],
    ['HEALTH_DB_TIMEOUT_MS', '250', 'healthDbTimeoutMs', 250],
    ['STORE_FORWARD_TIMEOUT_MS', '750', 'storeForwardTimeoutMs', 750],
    ['JOBS_ENABLED', 'false', 'jobsEnabled', false],
    ['STUCK_ORDERS_PERIOD_MS', '5000', 'stuckOrdersPeriodMs', 5000],
    ['STUCK_ORDERS_AGE_MS', '120000', 'stuckOrdersAgeMs', 120_000],
    ['OUTBOX_RETENTION_MODE', 'archive', 'outboxRetentionMode', 'archive'],
    ['OUTBOX_RETENTION_MS', '86400000', 'outboxRetentionMs', 86_400_000],
  ])('reads %s=%s into %s, coerced to its type', (name, value, key, expected) => {
    expect(loadConfig({ [name]: value })[key as keyof ReturnType<typeof loadConfig>]).toStrictEqual(expected);
  });

  it.each<[string, string]>([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['NUM_STREAM_THREADS', '0'],
    ['NUM_STREAM_THREADS', '65'],
    ['NUM_PARTITIONS', '0'],
    ['COMMIT_INTERVAL_MS', '0'],
    ['CACHE_MAX_BYTES', '-1'],
    ['PROCESSING_GUARANTEE', 'maybe'],
    ['PROCESSING_GUARANTEE', 'exactly_once'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'nohostport'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'k1:9092,'],
    ['KAFKA_BOOTSTRAP_SERVERS', 'k1:9092, k2:9092'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_SOCKET', 'yes'],
    ['DATABASE_SOCKET', 'run/postgresql'],
    ['CATALOG_SERVICE_URL', 'ftp://catalog'],
    ['APPLICATION_ID', 'order service'],
    ['NODE_ID', '32'],
    ['OUTBOX_RELAY_ENABLED', 'yes'],
    // Shorter than a delivery could take: a claim would expire with its records in flight.
    ['OUTBOX_LEASE_MS', '1000'],
    ['LOG_LEVEL', 'verbose'],
    // Others must be able to dial it: host:port, nothing more.
    ['APPLICATION_SERVER', 'orders-1'],
    ['APPLICATION_SERVER', 'http://orders-1:18282'],
    ['APPLICATION_SERVER', 'orders-1:0'],
    ['APPLICATION_SERVER', 'orders-1:70000'],
    ['INSTANCE_HEARTBEAT_MS', '0'],
    ['STORE_FORWARD_TIMEOUT_MS', '0'],
    // Not refreshed within its own TTL: every live instance would blink out between heartbeats.
    ['INSTANCE_TTL_MS', '2000'],
    // Job periods are whole seconds (pg-boss throttles by seconds).
    ['STUCK_ORDERS_PERIOD_MS', '1500'],
    ['STUCK_ORDERS_PERIOD_MS', '0'],
    ['OUTBOX_RETENTION_MODE', 'update'],
    // Sent rows kept less than a claim's lease: a recovery could still be settling them.
    ['OUTBOX_RETENTION_MS', '1000'],
    ['OUTBOX_RETENTION_MAX_ROWS_PER_RUN', '10'],
  ])('rejects %s=%s with a ConfigError line naming the variable and its value', (name, value) => {
    const err = configErrorOf({ [name]: value });
    expect(err.lines).toHaveLength(1);
    expect(err.lines[0]).toMatch(new RegExp(`^${name}=`));
    expect(err.lines[0]).toContain(JSON.stringify(value));
  });

  it('reports several bad values in one error, one line per variable', () => {
    const err = configErrorOf({
      PORT: 'abc',
      NUM_STREAM_THREADS: '0',
      PROCESSING_GUARANTEE: 'maybe',
      KAFKA_BOOTSTRAP_SERVERS: 'nohostport',
      DATABASE_URL: 'mysql://x',
      HOST: 'fine.example',
    });
    expect(namedVariables(err).sort()).toEqual(['DATABASE_URL', 'KAFKA_BOOTSTRAP_SERVERS', 'NUM_STREAM_THREADS', 'PORT', 'PROCESSING_GUARANTEE']);
    for (const line of err.lines) expect(err.message).toContain(line);
  });

  it('throws a coded EngineError (ORD_ERR_CONFIG, fatal)', () => {
    const err = configErrorOf({ PORT: 'abc' });
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('ORD_ERR_CONFIG');
    expect(err.recovery).toBe('fatal');
    expect(err.name).toBe('ConfigError');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(18282);
  });

  it.each(['PORT', 'NUM_STREAM_THREADS', 'DATABASE_URL', 'PROCESSING_GUARANTEE', 'OUTBOX_RELAY_ENABLED', 'NODE_ID'])(
    'treats an empty %s as unset',
    (name) => {
      expect(loadConfig({ [name]: '' })).toEqual(loadConfig({}));
    },
  );

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', SOMETHING_ELSE: 'x' })).toEqual(loadConfig({}));
  });

  it('prefers an override to the environment', () => {
    expect(loadConfig({ PORT: '8080' }, { PORT: '9090' }).port).toBe(9090);
    expect(loadConfig({}, { NUM_PARTITIONS: '12' }).numPartitions).toBe(12);
  });

  it('names a bad override in its line', () => {
    expect(namedVariables(configErrorOf({}, { PORT: 'abc' }))).toEqual(['PORT']);
    expect(configErrorOf({}, { PORT: 'abc' }).lines[0]).toContain('"abc"');
  });

  // Regression (loadConfig): the error line quoted `env[name] ?? overrides[name]`,
  // but the value validated was `overrides[name] ?? env[name]`. With PORT=8080 in the
  // environment and an override PORT=abc, the line read `PORT="8080": must be integer`,
  // blaming a value that is fine.
  it('quotes the overriding value, the one that was rejected, when both are set', () => {
    const err = configErrorOf({ PORT: '8080' }, { PORT: 'abc' });
    expect(err.lines).toEqual([expect.stringContaining('PORT="abc"')]);
  });
});
