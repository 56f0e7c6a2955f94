// Entry of the payment and inventory simulators (`node dist/src/sim/main.js`): the
// other two participants of the saga, so the whole flow runs and can be load-tested
// without the real services. Each participant has its own consumer group on
// `orders`, as the real services do; both share one idempotent producer. Everything
// Kafka stays on this (main) thread: node-rdkafka is not context-aware.
import { ConfigError } from '../errors.js';
import { ensureTopics } from '../kafka/admin.js';
import { DeliveringProducer } from '../kafka/producer.js';
import { TOPIC_ORDERS, TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS, topicLayout, type TopicSpec } from '../kafka/topics.js';
import { createLogger, type Logger } from '../logger.js';
import { installCrashReport } from '../native/crash-report.js';
import { inventoryService } from './inventory.js';
import { Participant, type ParticipantStats } from './participant.js';
import { paymentService } from './payment.js';
import { groupIdOf, loadSimConfig, type ServiceName, type SimConfig } from './sim-config.js';
import type { SimulatedService } from './simulated-service.js';

const answerTopics: Readonly<Record<ServiceName, string>> = { payment: TOPIC_PAYMENT_ORDERS, inventory: TOPIC_STOCK_ORDERS };

function createService(name: ServiceName, config: SimConfig): SimulatedService {
  return name === 'payment' ? paymentService(config.paymentRejectRate) : inventoryService(config.inventoryRejectRate);
}

/** The three co-partitioned saga topics, as the order service lays them out. */
function sagaTopics(config: SimConfig): TopicSpec[] {
  const saga = new Set([TOPIC_ORDERS, TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS]);
  // The application id only names the changelog topic, which is filtered out here.
  return topicLayout({ ...config, applicationId: 'order-service' }).filter((t) => saga.has(t.name));
}

function readConfig(): SimConfig {
  try {
    return loadSimConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`order-engine simulators: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** A progress line every few seconds while orders are answered: answered, accepted, rejected… per service. */
function startReporting(participants: ReadonlyMap<ServiceName, Participant>, intervalMs: number, log: Logger): () => Record<string, ParticipantStats> {
  const snapshot = (): Record<string, ParticipantStats> => Object.fromEntries([...participants].map(([name, p]) => [name, p.stats]));
  let last = snapshot();
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = snapshot();
    // Idle simulators say nothing: a line per interval forever buries what matters.
    if (JSON.stringify(now) === JSON.stringify(last)) {
      lastAt = Date.now();
      return;
    }
    const seconds = (Date.now() - lastAt) / 1000;
    const perSecond = Object.fromEntries(Object.entries(now).map(([name, s]) => [name, Math.round((s.answered - (last[name]?.answered ?? 0)) / seconds)]));
    log.info({ ...now, answeredPerSecond: perSecond }, 'progress');
    last = now;
    lastAt = Date.now();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    return snapshot();
  };
}

async function main(): Promise<void> {
  installCrashReport();
  const config = readConfig();
  const log = createLogger(config, { component: 'simulators' });
  const brokers = config.kafkaBootstrapServers;
  const producer = await DeliveringProducer.connect({
    brokers,
    clientId: config.applicationId === undefined ? 'simulators' : `${config.applicationId}-simulators`,
    deliveryTimeoutMs: 30_000,
    log,
  });
  // Whoever starts first creates the topics; a partition count that differs from
  // NUM_PARTITIONS is fatal, since answers must land on the order's partition number.
  const { created } = await ensureTopics(brokers, producer.client, sagaTopics(config));
  if (created.length > 0) log.info({ topics: created }, 'created topics');

  const participants = new Map<ServiceName, Participant>();
  for (const name of config.services) {
    const groupId = groupIdOf(config, name);
    const options = { brokers, groupId, answerTopic: answerTopics[name], batchSize: config.batchSize, groupProtocol: config.groupProtocol };
    participants.set(name, await Participant.start(createService(name, config), producer, options, log.child({ service: name })));
  }
  log.info(
    { services: config.services, paymentRejectRate: config.paymentRejectRate, inventoryRejectRate: config.inventoryRejectRate },
    'simulators started, waiting for partitions',
  );
  const stopReporting = startReporting(participants, config.reportIntervalMs, log);

  let stopping: Promise<void> | undefined;
  function shutdown(code: number): Promise<void> {
    stopping ??= (async () => {
      log.info('shutting down');
      await Promise.all([...participants.values()].map((p) => p.stop()));
      log.info(stopReporting(), 'summary');
      await producer.close();
      log.info('stopped');
      process.exit(code);
    })();
    return stopping;
  }
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));

  for (const [name, p] of participants) {
    p.done.catch((err: unknown) => {
      log.fatal({ err, service: name }, 'participant failed');
      void shutdown(1);
    });
  }
  // Tests and operators wait for this line: from here on, every order produced is answered.
  Promise.all([...participants.values()].map((p) => p.assigned))
    .then(() => log.info({ services: config.services }, 'simulators ready'))
    .catch(() => undefined);
}

main().catch((err: unknown) => {
  process.stderr.write(`order-engine simulators: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
