// Every setting of the service, read from the environment once, validated with a
// JSON schema, typed and frozen. No other module reads process.env.
import { hostname } from 'node:os';
import { ConfigError } from './errors.js';
import { accessConfig, accessSettings, type AccessConfig, type AccessSettingKey } from './http/access/access-settings.js';
import { groupProtocols, type GroupProtocol } from './kafka/group-protocol.js';
import { memoryBudget, type MemoryBudget } from './memory/memory-budget.js';
import { bootstrapServersSchema, intSchema, logLevels, settingsLoader, textSchema, type Setting } from './settings.js';

const processingGuarantees = ['exactly_once_v2', 'at_least_once'] as const;
const timestampExtractors = ['record', 'wallclock'] as const;
const commitModes = ['adaptive', 'fixed'] as const;
export type CommitMode = (typeof commitModes)[number];
const outboxRetentionModes = ['delete', 'archive'] as const;
export type OutboxRetentionMode = (typeof outboxRetentionModes)[number];

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly kafkaBootstrapServers: string;
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  /**
   * Group-commit statements in flight at once (at most DATABASE_POOL_SIZE - 1, leaving
   * reads a connection). Fewer means more orders per statement: each statement is a
   * commit (a WAL flush) and a round of per-statement work in Postgres, which shares
   * the pod's cores.
   */
  readonly databaseWritesInFlight: number;
  /**
   * `auto`, `off` or a socket directory: whether a DATABASE_URL on this host is reached
   * over Postgres' Unix socket (src/db/connection.ts). service.ts resolves it once at start
   * into `databaseUrl`, which every thread then uses as it is.
   */
  readonly databaseSocket: string;
  readonly applicationId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly numStreamThreads: number;
  readonly commitIntervalMs: number;
  readonly commitMode: CommitMode;
  readonly commitMinIntervalMs: number;
  /** The record cache's size when set; else its share of the memory budget. */
  readonly cacheMaxBytes: number | undefined;
  /** MEMORY_LIMIT as given (e.g. 2Gi); unset: the cgroup's limit, else 2 GiB. */
  readonly memoryLimit: string | undefined;
  /** Every memory bound of the process, derived from the limit (src/memory/memory-budget.ts). */
  readonly memory: MemoryBudget;
  readonly stateDir: string;
  readonly processingGuarantee: (typeof processingGuarantees)[number];
  readonly numStandbyReplicas: number;
  /**
   * The stream group's session timeout: the client's under the classic protocol; under
   * KIP-848 the broker's (group.consumer.session.timeout.ms), which this must match.
   * An instance that cannot reach Kafka for longer stops serving its tasks' stores:
   * the group has given them to others by then.
   */
  readonly sessionTimeoutMs: number;
  /** Longest a member may go without polling before it leaves the group (Kafka's max.poll.interval.ms). */
  readonly maxPollIntervalMs: number;
  /** Changelog records the restore consumer takes per step of the stream loop. */
  readonly restoreMaxPollRecords: number;
  /** The stream engine's group protocol: KIP-848 (`consumer`, Kafka 4.0+) or `classic` (eager range). */
  readonly groupProtocol: GroupProtocol;
  readonly joinWindowMs: number;
  readonly joinMaxWaitMs: number;
  /** Forward join inputs whose key hashes to another partition through a repartition topic. */
  readonly repartitionInputs: boolean;
  /** The time a record counts at in the join window: its Kafka timestamp, or when it was processed. */
  readonly timestampExtractor: (typeof timestampExtractors)[number];
  readonly catalogServiceUrl: string | undefined;
  readonly catalogTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly nodeId: number | undefined;
  /** Stable per instance (a StatefulSet pod name): part of the transactional.id. */
  readonly instanceId: string;
  readonly outboxBatchSize: number;
  readonly outboxPollMs: number;
  readonly outboxRelayEnabled: boolean;
  /** A relay's claim older than this may be settled by another instance (its records checked on the topic). */
  readonly outboxLeaseMs: number;
  /** Every this many rows the relay completes, it vacuums outbox_claims, and outbox and orders once ten times that is dead; 0: leave it to autovacuum. */
  readonly outboxVacuumRows: number;
  /** Whether this instance takes part in the scheduled jobs (src/jobs/): each run happens once across all instances that do. */
  readonly jobsEnabled: boolean;
  /** The stuck-order job runs once per this period (aligned to multiples of it since the epoch: every minute on the minute by default). */
  readonly stuckOrdersPeriodMs: number;
  /** An order still NEW this long after its last change is republished. */
  readonly stuckOrdersAgeMs: number;
  /** Orders republished per run at most; the rest wait for the next run. */
  readonly stuckOrdersBatchSize: number;
  /** What happens to sent outbox rows past their retention: deleted, or moved to outbox_archive. */
  readonly outboxRetentionMode: OutboxRetentionMode;
  /** Sent outbox rows are kept this long after they were sent. */
  readonly outboxRetentionMs: number;
  readonly outboxRetentionPeriodMs: number;
  /** Rows removed per statement (each its own short transaction). */
  readonly outboxRetentionBatchSize: number;
  /** Rows removed per run at most; a larger backlog goes over several runs. */
  readonly outboxRetentionMaxRowsPerRun: number;
  /**
   * host:port at which other instances reach this one's HTTP API (Kafka Streams'
   * application.server). Unset: HOST (or the hostname when HOST is a wildcard) and the
   * port actually listened on (src/cluster/endpoint.ts).
   */
  readonly applicationServer: string | undefined;
  /** How often this instance republishes its record in the instance directory. */
  readonly instanceHeartbeatMs: number;
  /** A directory record not refreshed within this long is a dead instance's. */
  readonly instanceTtlMs: number;
  /** A store read forwarded to another instance that has not answered in this long gets a 503. */
  readonly storeForwardTimeoutMs: number;
  /** Readiness: how long the Postgres check may take before the db component is DOWN. */
  readonly healthDbTimeoutMs: number;
  readonly logLevel: (typeof logLevels)[number];
  /** API keys, rate limits and CORS (src/http/access/, docs/security.md). */
  readonly access: AccessConfig;
}

type Derived = 'memory' | 'access';

const int = intSchema;
const text = textSchema;

// Names follow the seed's Spring properties (DESIGN.md, "Configuration").
const settings: readonly Setting<Exclude<keyof Config, Derived> | AccessSettingKey>[] = [
  { env: 'PORT', key: 'port', schema: int(0, 65535), default: 18282 },
  { env: 'HOST', key: 'host', schema: text, default: '0.0.0.0' },
  { env: 'KAFKA_BOOTSTRAP_SERVERS', key: 'kafkaBootstrapServers', schema: bootstrapServersSchema, default: '127.0.0.1:9092' },
  { env: 'DATABASE_URL', key: 'databaseUrl', schema: { ...text, pattern: '^postgres(ql)?://' }, default: 'postgres://postgres@127.0.0.1:5432/order_service' },
  { env: 'DATABASE_SOCKET', key: 'databaseSocket', schema: { ...text, pattern: '^(auto|off|/.*)$' }, default: 'auto' },
  { env: 'DATABASE_POOL_SIZE', key: 'databasePoolSize', schema: int(1, 200), default: 10 },
  { env: 'DATABASE_WRITES_IN_FLIGHT', key: 'databaseWritesInFlight', schema: int(1, 200), default: 2 },
  { env: 'APPLICATION_ID', key: 'applicationId', schema: { ...text, pattern: '^[A-Za-z0-9._-]+$' }, default: 'order-service' },
  { env: 'NUM_PARTITIONS', key: 'numPartitions', schema: int(1, 1024), default: 6 },
  { env: 'REPLICATION_FACTOR', key: 'replicationFactor', schema: int(1, 16), default: 1 },
  { env: 'NUM_STREAM_THREADS', key: 'numStreamThreads', schema: int(1, 64), default: 2 },
  { env: 'COMMIT_INTERVAL_MS', key: 'commitIntervalMs', schema: int(1, 600_000), default: 1000 },
  { env: 'COMMIT_MODE', key: 'commitMode', schema: { enum: commitModes }, default: 'adaptive' },
  { env: 'COMMIT_MIN_INTERVAL_MS', key: 'commitMinIntervalMs', schema: int(0, 600_000), default: 5 },
  { env: 'CACHE_MAX_BYTES', key: 'cacheMaxBytes', schema: int(0, 2 ** 31 - 1) },
  { env: 'MEMORY_LIMIT', key: 'memoryLimit', schema: text },
  { env: 'STATE_DIR', key: 'stateDir', schema: text, default: '/tmp/kafka-streams' },
  { env: 'PROCESSING_GUARANTEE', key: 'processingGuarantee', schema: { enum: processingGuarantees }, default: 'exactly_once_v2' },
  { env: 'NUM_STANDBY_REPLICAS', key: 'numStandbyReplicas', schema: int(0, 16), default: 1 },
  { env: 'SESSION_TIMEOUT_MS', key: 'sessionTimeoutMs', schema: int(1000, 600_000), default: 6000 },
  { env: 'MAX_POLL_INTERVAL_MS', key: 'maxPollIntervalMs', schema: int(1000, 86_400_000), default: 300_000 },
  { env: 'RESTORE_MAX_POLL_RECORDS', key: 'restoreMaxPollRecords', schema: int(1, 100_000), default: 5000 },
  { env: 'GROUP_PROTOCOL', key: 'groupProtocol', schema: { enum: groupProtocols }, default: 'consumer' },
  { env: 'JOIN_WINDOW_MS', key: 'joinWindowMs', schema: int(1, 86_400_000), default: 10_000 },
  // How long an answer waits for the other participant's input to pass its window when
  // that input stalls (a partition without a leader, a participant behind); past it the
  // order is left to the stuck-order job. Bounds the join window's memory.
  { env: 'JOIN_MAX_WAIT_MS', key: 'joinMaxWaitMs', schema: int(1, 86_400_000), default: 60_000 },
  { env: 'REPARTITION_INPUTS', key: 'repartitionInputs', schema: { type: 'boolean' }, default: false },
  { env: 'TIMESTAMP_EXTRACTOR', key: 'timestampExtractor', schema: { enum: timestampExtractors }, default: 'record' },
  { env: 'CATALOG_SERVICE_URL', key: 'catalogServiceUrl', schema: { ...text, pattern: '^https?://' } },
  { env: 'CATALOG_TIMEOUT_MS', key: 'catalogTimeoutMs', schema: int(1, 60_000), default: 2000 },
  { env: 'MAX_BODY_BYTES', key: 'maxBodyBytes', schema: int(256, 16 * 1024 * 1024), default: 64 * 1024 },
  { env: 'NODE_ID', key: 'nodeId', schema: int(0, 31) },
  { env: 'INSTANCE_ID', key: 'instanceId', schema: { ...text, pattern: '^[A-Za-z0-9._-]+$' }, default: hostname().replace(/[^A-Za-z0-9._-]/g, '-') },
  { env: 'OUTBOX_BATCH_SIZE', key: 'outboxBatchSize', schema: int(1, 10_000), default: 500 },
  { env: 'OUTBOX_POLL_MS', key: 'outboxPollMs', schema: int(10, 60_000), default: 1000 },
  { env: 'OUTBOX_RELAY_ENABLED', key: 'outboxRelayEnabled', schema: { type: 'boolean' }, default: true },
  { env: 'OUTBOX_LEASE_MS', key: 'outboxLeaseMs', schema: int(4000, 3_600_000), default: 60_000 },
  { env: 'OUTBOX_VACUUM_ROWS', key: 'outboxVacuumRows', schema: int(0, 100_000_000), default: 10_000 },
  // The original runs its republish job every minute for orders NEW for 5 minutes.
  // Periods are whole seconds, at most 12 h (src/jobs/job-scheduler.ts).
  { env: 'JOBS_ENABLED', key: 'jobsEnabled', schema: { type: 'boolean' }, default: true },
  { env: 'STUCK_ORDERS_PERIOD_MS', key: 'stuckOrdersPeriodMs', schema: { ...int(1000, 43_200_000), multipleOf: 1000 }, default: 60_000 },
  { env: 'STUCK_ORDERS_AGE_MS', key: 'stuckOrdersAgeMs', schema: int(1000, 2_592_000_000), default: 300_000 },
  { env: 'STUCK_ORDERS_BATCH_SIZE', key: 'stuckOrdersBatchSize', schema: int(1, 100_000), default: 1000 },
  { env: 'OUTBOX_RETENTION_MODE', key: 'outboxRetentionMode', schema: { enum: outboxRetentionModes }, default: 'delete' },
  { env: 'OUTBOX_RETENTION_MS', key: 'outboxRetentionMs', schema: int(0, 31_536_000_000), default: 3_600_000 },
  { env: 'OUTBOX_RETENTION_PERIOD_MS', key: 'outboxRetentionPeriodMs', schema: { ...int(1000, 43_200_000), multipleOf: 1000 }, default: 60_000 },
  { env: 'OUTBOX_RETENTION_BATCH_SIZE', key: 'outboxRetentionBatchSize', schema: int(1, 100_000), default: 5000 },
  { env: 'OUTBOX_RETENTION_MAX_ROWS_PER_RUN', key: 'outboxRetentionMaxRowsPerRun', schema: int(1, 100_000_000), default: 500_000 },
  // host:port or [ipv6]:port, as others dial it.
  { env: 'APPLICATION_SERVER', key: 'applicationServer', schema: { ...text, pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$' } },
  { env: 'INSTANCE_HEARTBEAT_MS', key: 'instanceHeartbeatMs', schema: int(100, 60_000), default: 2000 },
  { env: 'INSTANCE_TTL_MS', key: 'instanceTtlMs', schema: int(300, 600_000), default: 6000 },
  { env: 'STORE_FORWARD_TIMEOUT_MS', key: 'storeForwardTimeoutMs', schema: int(10, 60_000), default: 2000 },
  { env: 'HEALTH_DB_TIMEOUT_MS', key: 'healthDbTimeoutMs', schema: int(10, 60_000), default: 1000 },
  { env: 'LOG_LEVEL', key: 'logLevel', schema: { enum: logLevels }, default: 'info' },
  ...accessSettings,
];

const load = settingsLoader(settings);

/** Every environment variable the service reads (deployment files are checked against these). */
export const settingNames: readonly string[] = Object.freeze(settings.map((s) => s.env));

/** Reads and validates the configuration; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<string, string>> = {}, constrainedMemory = process.constrainedMemory()): Config {
  const raw = load(env, overrides);
  const { access, lines: accessLines } = accessConfig(raw);
  const values = Object.fromEntries(Object.entries(raw).filter(([k]) => !accessSettings.some((s) => s.key === k))) as unknown as Omit<Config, Derived>;
  const config: Config = { ...values, memory: memoryBudget({ ...values, constrainedMemory }), access };
  const lines: string[] = [...accessLines];
  const serverPort = config.applicationServer === undefined ? undefined : Number(config.applicationServer.slice(config.applicationServer.lastIndexOf(':') + 1));
  if (serverPort !== undefined && (serverPort < 1 || serverPort > 65535)) {
    lines.push(`APPLICATION_SERVER=${JSON.stringify(config.applicationServer)}: the port must be in 1..65535`);
  }
  // A record must be refreshed at least once within its TTL, or live instances blink out.
  if (config.instanceTtlMs <= config.instanceHeartbeatMs) {
    lines.push(`INSTANCE_TTL_MS=${JSON.stringify(String(config.instanceTtlMs))}: must be greater than INSTANCE_HEARTBEAT_MS (${config.instanceHeartbeatMs}); 3 heartbeats is usual`);
  }
  // A sent row is only ever needed while a claim on it could still be settled
  // (src/db/outbox-recovery.ts); past the lease no recovery can touch it.
  if (config.outboxRetentionMs < config.outboxLeaseMs) {
    lines.push(`OUTBOX_RETENTION_MS=${JSON.stringify(String(config.outboxRetentionMs))}: must be at least OUTBOX_LEASE_MS (${config.outboxLeaseMs})`);
  }
  if (config.outboxRetentionMaxRowsPerRun < config.outboxRetentionBatchSize) {
    lines.push(`OUTBOX_RETENTION_MAX_ROWS_PER_RUN=${JSON.stringify(String(config.outboxRetentionMaxRowsPerRun))}: must be at least OUTBOX_RETENTION_BATCH_SIZE (${config.outboxRetentionBatchSize})`);
  }
  if (lines.length > 0) throw new ConfigError(lines);
  return Object.freeze(config);
}
