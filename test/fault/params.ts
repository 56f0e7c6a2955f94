// The fault tests' parameters. Two profiles: `short` (the default, run by `npm
// test`: a few minutes on a shared 2-core machine) and `long` (`npm run test:fault`:
// the trial, 300 orders/s for two minutes with a 27 s outage). Every figure
// can be overridden by its own variable; the table printed at the end says which
// were used.
import { isAbsolute, join, resolve } from 'node:path';
import { NUM_PARTITIONS, PG_PRIVATE_DIR, PG_PRIVATE_PORT, TEST_KAFKA_PORT } from '../support/env.js';

export const SCENARIO_NAMES = ['service-kill', 'broker-restart', 'postgres-outage', 'broker-restart-then-service-kill'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface FaultParams {
  readonly profile: 'short' | 'long';
  /** Orders POSTed per second, open loop (FAULT_RATE). */
  readonly ratePerS: number;
  /** The load runs at least this long (FAULT_DURATION_S)... */
  readonly durationS: number;
  /** ...and at least this long after the faulty component is back (FAULT_AFTER_S). */
  readonly afterS: number;
  /** The fault begins this long after the load started, once the saga keeps up (FAULT_AT_S). */
  readonly faultAtS: number;
  /** How long a killed broker or a stopped Postgres stays down (FAULT_OUTAGE_S). */
  readonly outageS: number;
  /** After the load: how long every accepted order may take to be decided (FAULT_DRAIN_S). */
  readonly drainS: number;
  /**
   * After that: how long Postgres and the store may take to show the decisions
   * (FAULT_SETTLE_S). The time they took is reported; a mismatch left after it fails.
   * Measured on today's code: after a service kill -9, Postgres trails by ~45 s.
   */
  readonly settleS: number;
  /** How long a (re)started service may take to be ready (FAULT_READY_S). */
  readonly readyS: number;
  /** The assertion's bound on time to recovery (FAULT_RECOVERY_BOUND_S; the target is 10 s). */
  readonly recoveryBoundS: number;
  /** FAULT_SCENARIOS, comma-separated. */
  readonly scenarios: readonly ScenarioName[];
  /** The checkout whose dist/ runs (service and simulators): FAULT_SERVICE_DIR. */
  readonly serviceDir: string;
  /** Seeds the orders' contents (FAULT_SEED). */
  readonly seed: number;
  readonly numPartitions: number;
  /** The fault tests' own broker, which they kill; never the integration tests' (FAULT_KAFKA_PORT, FAULT_INFRA_DIR). */
  readonly kafkaPort: number;
  readonly kafkaControllerPort: number;
  readonly infraDir: string;
  /** The private Postgres cluster (scripts/pg-private.sh), which they stop (PG_PRIVATE_PORT, PG_PRIVATE_DIR). */
  readonly pgPort: number;
  readonly pgDir: string;
}

type Profile = Pick<FaultParams, 'ratePerS' | 'durationS' | 'afterS' | 'faultAtS' | 'outageS' | 'drainS' | 'settleS' | 'readyS' | 'recoveryBoundS' | 'scenarios'>;

// The short form leaves out the combined fault (broker restart, then service kill)
// to stay within a few minutes, and bounds recovery more loosely than the issue's
// 10 s target because the machine running `npm test` is often busy with more.
const profiles: Readonly<Record<FaultParams['profile'], Profile>> = {
  short: {
    ratePerS: 100,
    durationS: 25,
    afterS: 10,
    faultAtS: 8,
    outageS: 10,
    drainS: 30,
    settleS: 60,
    readyS: 90,
    recoveryBoundS: 30,
    scenarios: ['service-kill', 'broker-restart', 'postgres-outage'],
  },
  long: {
    ratePerS: 300,
    durationS: 120,
    afterS: 30,
    faultAtS: 30,
    outageS: 27,
    drainS: 120,
    settleS: 60,
    readyS: 120,
    recoveryBoundS: 10,
    scenarios: SCENARIO_NAMES,
  },
};

/** A non-negative number from `env[name]`, or `fallback` when unset. */
export function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return value;
}

/** The comma-separated names of `env[name]` (each one of `known`), or `fallback` when unset. */
export function envNames<T extends string>(env: NodeJS.ProcessEnv, name: string, fallback: readonly T[], known: readonly T[]): T[] {
  const names = (env[name] ?? fallback.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) if (!(known as readonly string[]).includes(n)) throw new Error(`${name}: unknown name '${n}' (known: ${known.join(', ')})`);
  return names as T[];
}

export function faultParams(env: NodeJS.ProcessEnv = process.env): FaultParams {
  const profile = env.FAULT_PROFILE ?? 'short';
  if (profile !== 'short' && profile !== 'long') throw new Error(`FAULT_PROFILE must be short or long, got '${profile}'`);
  const p = profiles[profile];
  const scenarios = envNames(env, 'FAULT_SCENARIOS', p.scenarios, SCENARIO_NAMES);
  const ratePerS = envNumber(env, 'FAULT_RATE', p.ratePerS);
  if (ratePerS <= 0) throw new Error('FAULT_RATE must be positive');
  const faultAtS = envNumber(env, 'FAULT_AT_S', p.faultAtS);
  // The worst in-flight latency looks at the 5 s before the fault: give it orders.
  if (faultAtS < 5) throw new Error('FAULT_AT_S must be at least 5 (the orders of the 5 s before the fault are timed)');
  const kafkaPort = envNumber(env, 'FAULT_KAFKA_PORT', TEST_KAFKA_PORT + 100);
  const dir = (value: string): string => (isAbsolute(value) ? value : resolve(value));
  return {
    profile,
    ratePerS,
    durationS: envNumber(env, 'FAULT_DURATION_S', p.durationS),
    afterS: envNumber(env, 'FAULT_AFTER_S', p.afterS),
    faultAtS,
    outageS: envNumber(env, 'FAULT_OUTAGE_S', p.outageS),
    drainS: envNumber(env, 'FAULT_DRAIN_S', p.drainS),
    settleS: envNumber(env, 'FAULT_SETTLE_S', p.settleS),
    readyS: envNumber(env, 'FAULT_READY_S', p.readyS),
    recoveryBoundS: envNumber(env, 'FAULT_RECOVERY_BOUND_S', p.recoveryBoundS),
    scenarios,
    serviceDir: dir(env.FAULT_SERVICE_DIR ?? '.'),
    seed: envNumber(env, 'FAULT_SEED', 20_261_127),
    numPartitions: NUM_PARTITIONS,
    kafkaPort,
    kafkaControllerPort: envNumber(env, 'FAULT_KAFKA_CONTROLLER_PORT', kafkaPort + 1),
    infraDir: dir(env.FAULT_INFRA_DIR ?? join('.infra', 'fault')),
    pgPort: envNumber(env, 'PG_PRIVATE_PORT', PG_PRIVATE_PORT),
    pgDir: dir(env.PG_PRIVATE_DIR ?? PG_PRIVATE_DIR),
  };
}

/**
 * A bound on one scenario's whole run, for the test runner (FAULT_TIMEOUT_S, or one
 * derived from the parameters): every step inside is bounded too.
 */
export function scenarioTimeoutMs(p: FaultParams, env: NodeJS.ProcessEnv = process.env): number {
  const explicit = envNumber(env, 'FAULT_TIMEOUT_S', 0);
  if (explicit > 0) return explicit * 1000;
  const setupS = 60 + 2 * p.readyS + 60; // broker, service, simulators
  const loadS = Math.max(p.durationS, p.faultAtS + 60 + 2 * p.outageS + 60 + p.readyS + p.afterS); // steady, outage, broker, service
  const checkS = p.drainS + 60 + p.settleS + 120; // drain, read `orders`, Postgres and store, teardown
  return (setupS + loadS + checkS) * 1000;
}
