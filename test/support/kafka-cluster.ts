// A 3-node Kafka cluster on loopback that a test owns, kills and partitions: each node
// is the project's own broker (scripts/infra-up.sh, through KafkaBroker) in a folder
// and on ports of its own, formatted with one shared cluster id.
//
// Each node is broker and controller at once (three voters): a node killed leaves a
// quorum of two, so a broker's loss never stops the metadata log, and the cluster is
// three JVMs, not four, on a 2-core machine shared with the service instances. Kafka
// in production separates the roles; nothing the fault tests check depends on it
// (the engine talks only to brokers; a controller failover is part of a node's loss).
//
// Replication as the issue asks: every topic (the service's, created with its
// REPLICATION_FACTOR, and the internal ones) with 3 replicas and
// min.insync.replicas 2 (the broker default: src/kafka/topics.ts sets none per
// topic), the transaction state log too; one node down, acks=all writes go on.
//
// Ports, from `basePort` (B), node n = 1..3, instance slot s = 1..4:
//   B + 10(n−1)          PLAINTEXT: simulators, the test's readers, inter-broker
//   B + 10(n−1) + 1      CONTROLLER
//   B + 10(n−1) + 1 + s  the listener of slot s, advertised as the proxy port below
//   B + 50 + 10(n−1) + s − 1   the proxy of slot s to node n (test/support/tcp-proxy.ts)
// An instance given `clientBootstrap(s)` reaches every node through its slot's
// proxies only (Kafka answers metadata with the addresses of the listener asked), so
// `partition(s)` cuts exactly that instance off Kafka.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Kafka from 'node-rdkafka';
import { KafkaBroker } from './broker.js';
import { TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait.js';

/** The group session of the test cluster's brokers (and of the instances on it). */
export const CLUSTER_SESSION_TIMEOUT_MS = 10_000;

export interface KafkaClusterOptions {
  /** Node n keeps its data, log and pid under `<infraDir>/node-<n>`. */
  readonly infraDir: string;
  readonly basePort: number;
  /** Default 3. */
  readonly nodes?: number;
  /** Instance slots, each with its own listener and proxies (default 4). */
  readonly slots?: number;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  readonly repoDir?: string;
}

export interface ClusterHealth {
  /** Partitions (of every topic) whose in-sync replicas are fewer than their replicas. */
  readonly underReplicated: number;
  readonly partitions: number;
  readonly brokers: number;
}

/** A random Kafka Uuid as the storage tool prints it (base64url of 16 bytes, never starting with '-'). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export class KafkaCluster {
  /** Every node's PLAINTEXT listener: for everything but the instances. */
  readonly bootstrapServers: string;
  readonly nodeCount: number;
  readonly slotCount: number;
  readonly #options: KafkaClusterOptions;
  readonly #nodes: KafkaBroker[];
  /** proxies[slot − 1][node − 1] */
  #proxies: TcpProxy[][] = [];

  constructor(options: KafkaClusterOptions) {
    this.#options = options;
    this.nodeCount = options.nodes ?? 3;
    this.slotCount = options.slots ?? 4;
    if (this.nodeCount > 5 || this.slotCount > 8) throw new Error('the port layout holds at most 5 nodes and 8 slots');
    const id = clusterId();
    const voters = this.#nodeNumbers().map((n) => `${n}@127.0.0.1:${this.#port(n, 1)}`).join(',');
    this.#nodes = this.#nodeNumbers().map((n) => {
      const infraDir = join(options.infraDir, `node-${n}`);
      const extra = join(infraDir, 'cluster.properties');
      return new KafkaBroker({
        infraDir,
        port: this.#port(n, 0),
        controllerPort: this.#port(n, 1),
        repoDir: options.repoDir,
        env: { KAFKA_NODE_ID: String(n), KAFKA_QUORUM_VOTERS: voters, KAFKA_CLUSTER_ID: id, KAFKA_EXTRA_PROPERTIES: extra },
      });
    });
    this.bootstrapServers = this.#nodeNumbers().map((n) => `127.0.0.1:${this.#port(n, 0)}`).join(',');
  }

  #nodeNumbers(): number[] {
    return Array.from({ length: this.nodeCount }, (_, i) => i + 1);
  }

  #port(node: number, offset: number): number {
    return this.#options.basePort + 10 * (node - 1) + offset;
  }

  #proxyPort(node: number, slot: number): number {
    return this.#options.basePort + 50 + 10 * (node - 1) + slot - 1;
  }

  #properties(n: number): string {
    const slots = Array.from({ length: this.slotCount }, (_, i) => i + 1);
    const rf = this.#options.replicationFactor ?? 3;
    const minIsr = this.#options.minInsyncReplicas ?? 2;
    return [
      '# A node of test/support/kafka-cluster.ts: one listener per instance slot, advertised as that slot\'s proxy.',
      `listeners=PLAINTEXT://127.0.0.1:${this.#port(n, 0)},CONTROLLER://127.0.0.1:${this.#port(n, 1)},${slots.map((s) => `SLOT${s}://127.0.0.1:${this.#port(n, 1 + s)}`).join(',')}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.#port(n, 0)},${slots.map((s) => `SLOT${s}://127.0.0.1:${this.#proxyPort(n, s)}`).join(',')}`,
      `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,${slots.map((s) => `SLOT${s}:PLAINTEXT`).join(',')}`,
      `default.replication.factor=${rf}`,
      `min.insync.replicas=${minIsr}`,
      `offsets.topic.replication.factor=${rf}`,
      `transaction.state.log.replication.factor=${rf}`,
      `transaction.state.log.min.isr=${minIsr}`,
      `share.coordinator.state.topic.replication.factor=${rf}`,
      `share.coordinator.state.topic.min.isr=${minIsr}`,
      // Three brokers, three instances and the simulators share two cores here: the
      // group session stays at the 10 s it had before infra/kafka/server.properties went
      // to 6 s (instances get CLUSTER_SESSION_TIMEOUT_MS to match).
      `group.consumer.session.timeout.ms=${CLUSTER_SESSION_TIMEOUT_MS}`,
      '',
    ].join('\n');
  }

  /** Starts every node with no data (nodes left running from these folders are killed first) and the proxies. */
  async start(): Promise<void> {
    this.stopProxies();
    for (const n of this.#nodeNumbers()) {
      const dir = join(this.#options.infraDir, `node-${n}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cluster.properties'), this.#properties(n));
    }
    this.#proxies = await Promise.all(
      Array.from({ length: this.slotCount }, (_, i) => Promise.all(this.#nodeNumbers().map((n) => TcpProxy.listen(this.#proxyPort(n, i + 1), this.#port(n, 1 + i + 1))))),
    );
    // Together: a node's quorum needs the others, and each start waits for its port.
    await Promise.all(this.#nodes.map((node) => node.start()));
  }

  /** Node n's broker (1-based). */
  node(n: number): KafkaBroker {
    const node = this.#nodes[n - 1];
    if (node === undefined) throw new Error(`no node ${n} (the cluster has ${this.nodeCount})`);
    return node;
  }

  /** `kill -9` of node n; resolves when its process is gone (and its proxies refuse, as its ports do). */
  async kill(n: number): Promise<void> {
    await this.node(n).kill();
    for (const slot of this.#proxies) slot[n - 1]?.refuse();
  }

  /** Starts node n again on its data; resolves when its port accepts connections (and its proxies too). */
  async restart(n: number): Promise<void> {
    await this.node(n).restart();
    await Promise.all(this.#proxies.map((slot) => slot[n - 1]).map((proxy) => proxy?.accept() ?? Promise.resolve()));
  }

  /** The bootstrap string of slot s: its proxies, one per node. */
  clientBootstrap(slot: number): string {
    this.#slot(slot);
    return this.#nodeNumbers().map((n) => `127.0.0.1:${this.#proxyPort(n, slot)}`).join(',');
  }

  /** Cuts slot s off every node (see tcp-proxy.ts: a silent partition, not a refusal). */
  partition(slot: number): void {
    for (const proxy of this.#slot(slot)) proxy.cut();
  }

  /** Ends slot s's partition: the connections it held are reset, new ones go through. */
  heal(slot: number): void {
    for (const proxy of this.#slot(slot)) proxy.heal();
  }

  /** Connections slot s has opened through its proxies since the start. */
  connectionsOf(slot: number): number {
    return this.#slot(slot).reduce((sum, p) => sum + p.accepted, 0);
  }

  #slot(slot: number): TcpProxy[] {
    const proxies = this.#proxies[slot - 1];
    if (proxies === undefined) throw new Error(`no slot ${slot} (the cluster has ${this.slotCount}${this.#proxies.length === 0 ? ', not started' : ''})`);
    return proxies;
  }

  /** The cluster's metadata now, every topic (asked on PLAINTEXT with a short-lived client). */
  async metadata(): Promise<Kafka.Metadata> {
    const producer = new Kafka.Producer({ 'metadata.broker.list': this.bootstrapServers, 'socket.connection.setup.timeout.ms': 5000 });
    producer.on('event.error', () => undefined);
    await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    try {
      return await new Promise<Kafka.Metadata>((resolve, reject) => producer.getMetadata({ timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))));
    } finally {
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    }
  }

  /** Replicas out of sync, as the cluster's metadata says now. */
  async health(): Promise<ClusterHealth> {
    const meta = await this.metadata();
    let underReplicated = 0;
    let partitions = 0;
    for (const topic of meta.topics)
      for (const p of topic.partitions) {
        partitions++;
        if (p.isrs.length < p.replicas.length || p.leader < 0) underReplicated++;
      }
    return { underReplicated, partitions, brokers: meta.brokers.length };
  }

  /**
   * The node coordinating consumer group `groupId` (and its offsets): the leader of
   * its partition of __consumer_offsets, Java's `abs(groupId.hashCode()) % partitions`.
   */
  async coordinatorOf(groupId: string): Promise<number> {
    const meta = await this.metadata();
    const offsets = meta.topics.find((t) => t.name === '__consumer_offsets');
    if (offsets === undefined || offsets.partitions.length === 0) throw new Error('__consumer_offsets does not exist yet');
    let hash = 0;
    for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
    const partition = (hash & 0x7fffffff) % offsets.partitions.length;
    const leader = offsets.partitions.find((p) => p.id === partition)?.leader;
    if (leader === undefined || leader < 0) throw new Error(`__consumer_offsets-${partition} has no leader`);
    return leader;
  }

  /** The fewest replicas any partition of `topic` has (its replication factor). */
  async replicationOf(topic: string): Promise<number> {
    const t = (await this.metadata()).topics.find((x) => x.name === topic);
    if (t === undefined || t.partitions.length === 0) throw new Error(`topic ${topic} does not exist`);
    return Math.min(...t.partitions.map((p) => p.replicas.length));
  }

  /** Waits until every node is in the metadata and no partition is under-replicated; returns ms waited. */
  async waitHealthy(timeoutMs = 120_000): Promise<number> {
    const started = performance.now();
    await waitFor(
      `every partition fully in sync on ${this.nodeCount} brokers`,
      async () => {
        const h = await this.health().catch(() => undefined);
        return h !== undefined && h.brokers === this.nodeCount && h.underReplicated === 0 ? true : undefined;
      },
      timeoutMs,
      500,
    );
    return performance.now() - started;
  }

  /** Process ids of the nodes running now (for a last-resort SIGKILL). */
  get pids(): number[] {
    return this.#nodes.map((n) => n.pid).filter((pid): pid is number => pid !== undefined);
  }

  logFile(n: number): string {
    return this.node(n).logFile;
  }

  stopProxies(): void {
    for (const proxy of this.#proxies.flat()) proxy.close();
    this.#proxies = [];
  }

  /** Kills every node and closes the proxies. */
  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.kill()));
    this.stopProxies();
  }
}
