// The multi-instance fault tests' parameters (./cluster-faults.test.ts): instances of
// one application on a 3-node cluster, faults in turn under one steady load. Two
// profiles, as ./params.ts has: `short` (three faults, about three minutes) and
// `long` (every fault, longer outages, a higher rate). Every figure can be
// overridden by its own variable; the report prints which were used.
import { isAbsolute, join, resolve } from 'node:path';
import { NUM_PARTITIONS, PG_PRIVATE_DIR, PG_PRIVATE_PORT, TEST_KAFKA_PORT } from '../support/env.js';
import { envNames, envNumber as number } from './params.js';

export const CLUSTER_FAULT_NAMES = ['instance-kill', 'broker-kill', 'postgres-outage', 'instance-add', 'instance-partition', 'instance-sigterm'] as const;
export type ClusterFaultName = (typeof CLUSTER_FAULT_NAMES)[number];

export interface ClusterParams {
  readonly profile: 'short' | 'long';
  /** Service instances at the start (CLUSTER_INSTANCES); `instance-add` starts one more. */
  readonly instances: number;
  readonly streamThreads: number;
  /** Orders POSTed per second over all instances, open loop (CLUSTER_RATE). */
  readonly ratePerS: number;
  /** The first fault begins this long after the load started, once the saga keeps up (CLUSTER_WARM_S). */
  readonly warmS: number;
  /** How long a killed instance or broker, a stopped Postgres or a partition lasts (CLUSTER_OUTAGE_S). */
  readonly outageS: number;
  /** After a fault's end, the next begins no sooner than this, and once the saga keeps up again (CLUSTER_GAP_S). */
  readonly gapS: number;
  /** After the last fault, the load goes on this long (CLUSTER_AFTER_S). */
  readonly afterS: number;
  /** After the load: how long every accepted order may take to be decided (CLUSTER_DRAIN_S). */
  readonly drainS: number;
  /** After that: how long Postgres and the stores may take to show the decisions (CLUSTER_SETTLE_S). */
  readonly settleS: number;
  /** How long a (re)started instance may take to be ready (CLUSTER_READY_S). */
  readonly readyS: number;
  /** Bound on a fault's moved tasks serving again, from the fault's start (CLUSTER_SERVING_BOUND_S; the seed's recovery target is 60 s). */
  readonly servingBoundS: number;
  /** Bound on an instance's exit after SIGTERM (CLUSTER_SIGTERM_BOUND_S; Kubernetes' grace period is 30 s). */
  readonly sigtermBoundS: number;
  /**
   * The instances reach Kafka through their slots' proxies (CLUSTER_PROXIES, default
   * 1), which instance-partition needs; 0 connects them to the brokers directly, to
   * check a finding does not come from the proxies.
   */
  readonly proxies: boolean;
  /**
   * Each fault on a fresh cluster and group of its own (CLUSTER_ISOLATE=1), instead of
   * all in turn in one run: a fault that leaves the group broken does not hide how the
   * engine takes the next one.
   */
  readonly isolate: boolean;
  /** The node broker-kill kills (CLUSTER_BROKER_NODE: 1..3), or 0 for the group's coordinator (the default). */
  readonly brokerNode: number;
  /** Print the run's timeline as it happens (CLUSTER_PROGRESS=1). */
  readonly progress: boolean;
  /** CLUSTER_FAULTS, comma-separated, in the order given. */
  readonly faults: readonly ClusterFaultName[];
  /** The checkout whose dist/ runs (FAULT_SERVICE_DIR). */
  readonly serviceDir: string;
  readonly seed: number;
  readonly numPartitions: number;
  /** The cluster's first port (CLUSTER_KAFKA_PORT; the layout is in kafka-cluster.ts: 80 ports from it). */
  readonly kafkaBasePort: number;
  readonly infraDir: string;
  readonly pgPort: number;
  readonly pgDir: string;
}

type Profile = Pick<ClusterParams, 'ratePerS' | 'warmS' | 'outageS' | 'gapS' | 'afterS' | 'drainS' | 'settleS' | 'readyS' | 'faults'>;

// The short form: an instance's kill -9 (its tasks move once its session times out,
// 10 s), a broker's kill -9 and an instance's partition, each outage a little past the
// session timeout: about four minutes with start-up and audit on a shared 2-core
// machine (a broker's JVM alone takes 15-30 s to come back there).
const profiles: Readonly<Record<ClusterParams['profile'], Profile>> = {
  short: {
    ratePerS: 60,
    warmS: 8,
    outageS: 15,
    gapS: 5,
    afterS: 5,
    drainS: 45,
    settleS: 45,
    readyS: 90,
    faults: ['instance-kill', 'broker-kill', 'instance-partition'],
  },
  long: {
    ratePerS: 150,
    warmS: 20,
    outageS: 30,
    gapS: 20,
    afterS: 30,
    drainS: 120,
    settleS: 60,
    readyS: 120,
    faults: CLUSTER_FAULT_NAMES,
  },
};

export function clusterParams(env: NodeJS.ProcessEnv = process.env): ClusterParams {
  const profile = env.CLUSTER_PROFILE ?? 'short';
  if (profile !== 'short' && profile !== 'long') throw new Error(`CLUSTER_PROFILE must be short or long, got '${profile}'`);
  const p = profiles[profile];
  const faults = envNames(env, 'CLUSTER_FAULTS', p.faults, CLUSTER_FAULT_NAMES);
  if (env.CLUSTER_PROXIES === '0' && faults.includes('instance-partition')) throw new Error('CLUSTER_FAULTS: instance-partition needs the proxies (CLUSTER_PROXIES=1)');
  const instances = number(env, 'CLUSTER_INSTANCES', 3);
  if (instances < 2 || instances > 3) throw new Error('CLUSTER_INSTANCES must be 2 or 3 (the cluster has 4 instance slots; instance-add takes one more)');
  if (number(env, 'CLUSTER_BROKER_NODE', 0) > 3) throw new Error('CLUSTER_BROKER_NODE must be 1, 2 or 3 (or 0: the group\'s coordinator)');
  const ratePerS = number(env, 'CLUSTER_RATE', p.ratePerS);
  if (ratePerS <= 0) throw new Error('CLUSTER_RATE must be positive');
  const dir = (value: string): string => (isAbsolute(value) ? value : resolve(value));
  return {
    profile,
    instances,
    streamThreads: number(env, 'CLUSTER_STREAM_THREADS', 2),
    ratePerS,
    warmS: number(env, 'CLUSTER_WARM_S', p.warmS),
    outageS: number(env, 'CLUSTER_OUTAGE_S', p.outageS),
    gapS: number(env, 'CLUSTER_GAP_S', p.gapS),
    afterS: number(env, 'CLUSTER_AFTER_S', p.afterS),
    drainS: number(env, 'CLUSTER_DRAIN_S', p.drainS),
    settleS: number(env, 'CLUSTER_SETTLE_S', p.settleS),
    readyS: number(env, 'CLUSTER_READY_S', p.readyS),
    servingBoundS: number(env, 'CLUSTER_SERVING_BOUND_S', 60),
    sigtermBoundS: number(env, 'CLUSTER_SIGTERM_BOUND_S', 30),
    proxies: env.CLUSTER_PROXIES !== '0',
    progress: env.CLUSTER_PROGRESS === '1',
    isolate: env.CLUSTER_ISOLATE === '1',
    brokerNode: number(env, 'CLUSTER_BROKER_NODE', 0),
    faults,
    serviceDir: dir(env.FAULT_SERVICE_DIR ?? '.'),
    seed: number(env, 'FAULT_SEED', 20_261_128),
    numPartitions: NUM_PARTITIONS,
    kafkaBasePort: number(env, 'CLUSTER_KAFKA_PORT', TEST_KAFKA_PORT + 200),
    infraDir: dir(join(env.FAULT_INFRA_DIR ?? join('.infra', 'fault'), 'cluster')),
    pgPort: number(env, 'PG_PRIVATE_PORT', PG_PRIVATE_PORT),
    pgDir: dir(env.PG_PRIVATE_DIR ?? PG_PRIVATE_DIR),
  };
}

/** A bound on the whole run, for the test runner (CLUSTER_TIMEOUT_S, or derived): every step inside is bounded too. */
export function clusterTimeoutMs(p: ClusterParams, env: NodeJS.ProcessEnv = process.env): number {
  const explicit = number(env, 'CLUSTER_TIMEOUT_S', 0);
  if (explicit > 0) return explicit * 1000;
  const setupS = 120 + 2 * p.readyS + 60; // cluster, instances, simulators
  const perFaultS = 60 + p.outageS + p.readyS + 60 + p.gapS; // steady, outage, restart, cluster healthy, gap
  const checkS = p.afterS + p.drainS + 60 + p.settleS + 120; // drain, read `orders`, views, teardown
  return (setupS + p.warmS + p.faults.length * perFaultS + checkS) * 1000;
}

/** The multi-instance fault tests run in `npm test` (short form) unless CLUSTER_FAULT_TESTS=0: see cluster-faults.test.ts. */
export const clusterTestsEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => env.CLUSTER_FAULT_TESTS !== '0' && env.CLUSTER_FAULT_TESTS !== 'false';
