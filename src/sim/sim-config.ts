// The simulators' settings, read from the environment once, validated with a JSON
// schema, typed and frozen, the same way src/config.ts reads the service's. Kafka
// and topic names are the service's own (KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS,
// REPLICATION_FACTOR, LOG_LEVEL), so one environment file can drive both.
import type { Config } from '../config.js';
import { groupProtocols, type GroupProtocol } from '../kafka/group-protocol.js';
import { bootstrapServersSchema, intSchema, logLevels, settingsLoader, type Setting } from '../settings.js';

export const serviceNames = ['payment', 'inventory'] as const;
export type ServiceName = (typeof serviceNames)[number];

export interface SimConfig {
  readonly kafkaBootstrapServers: string;
  /** Which participants this process runs, each in its own consumer group. */
  readonly services: readonly ServiceName[];
  /** Share of orders (0..1) answered REJECT as if the customer's funds were short. */
  readonly paymentRejectRate: number;
  /** Share of orders (0..1) answered REJECT as if a product were out of stock. */
  readonly inventoryRejectRate: number;
  /** Prefixes group and client ids (`<prefix>-payment-service`); none by default. */
  readonly applicationId: string | undefined;
  /** For creating the saga topics if this process is the first to need them. */
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly batchSize: number;
  /** The participants' group protocol, as the service's GROUP_PROTOCOL. */
  readonly groupProtocol: GroupProtocol;
  readonly reportIntervalMs: number;
  readonly logLevel: Config['logLevel'];
}

const int = intSchema;
const rate = { type: 'number', minimum: 0, maximum: 1 };
const servicePattern = `^\\s*(${serviceNames.join('|')})\\s*(,\\s*(${serviceNames.join('|')})\\s*)*$`;

const settings: readonly Setting<keyof SimConfig>[] = [
  { env: 'KAFKA_BOOTSTRAP_SERVERS', key: 'kafkaBootstrapServers', schema: bootstrapServersSchema, default: '127.0.0.1:9092' },
  { env: 'SIM_SERVICES', key: 'services', schema: { type: 'string', pattern: servicePattern }, default: 'payment,inventory' },
  { env: 'SIM_PAYMENT_REJECT_RATE', key: 'paymentRejectRate', schema: rate, default: 0.1 },
  { env: 'SIM_INVENTORY_REJECT_RATE', key: 'inventoryRejectRate', schema: rate, default: 0.1 },
  { env: 'SIM_APPLICATION_ID', key: 'applicationId', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' } },
  { env: 'NUM_PARTITIONS', key: 'numPartitions', schema: int(1, 1024), default: 6 },
  { env: 'REPLICATION_FACTOR', key: 'replicationFactor', schema: int(1, 16), default: 1 },
  { env: 'SIM_BATCH_SIZE', key: 'batchSize', schema: int(1, 10_000), default: 500 },
  { env: 'GROUP_PROTOCOL', key: 'groupProtocol', schema: { enum: groupProtocols }, default: 'consumer' },
  { env: 'SIM_REPORT_INTERVAL_MS', key: 'reportIntervalMs', schema: int(100, 3_600_000), default: 5000 },
  { env: 'LOG_LEVEL', key: 'logLevel', schema: { enum: logLevels }, default: 'info' },
];

const load = settingsLoader(settings);

/** Every environment variable the simulators read. */
export const simSettingNames: readonly string[] = Object.freeze(settings.map((s) => s.env));

/** Reads and validates the simulators' configuration; throws one ConfigError naming every bad variable. */
export function loadSimConfig(env: NodeJS.ProcessEnv = process.env): SimConfig {
  const config = load(env);
  const names = String(config.services).split(',').map((name) => name.trim() as ServiceName);
  config.services = Object.freeze([...new Set(names)]);
  return Object.freeze(config) as unknown as SimConfig;
}

/** `payment-service`, or `<prefix>-payment-service` with SIM_APPLICATION_ID. */
export function groupIdOf(config: Pick<SimConfig, 'applicationId'>, service: ServiceName): string {
  return config.applicationId === undefined ? `${service}-service` : `${config.applicationId}-${service}-service`;
}
