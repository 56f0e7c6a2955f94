// The faults, each injected into a running saga under load. A fault returns its
// window, from which recovery is timed: `start`, the first disruptive action, and
// `end`, the moment the engine could start recovering: the broker's port open again,
// Postgres accepting connections again, or the service's restart issued (its own
// start-up is part of its recovery; a broker's or Postgres's is not). It resolves
// once the faulty part is back (or its restart failed, which the harness records),
// so the load can go on for a while after it.
import type { FaultWindow } from '../support/recovery-time.js';
import type { ScenarioName } from './params.js';

export interface FaultContext {
  /** `kill -9` of the service; resolves when the process is gone. */
  killService(): Promise<void>;
  /** Starts the service again (same INSTANCE_ID, STATE_DIR and port); resolves when it is ready or gave up. */
  restartService(): Promise<void>;
  /** `kill -9` of the broker; resolves when the process is gone. */
  killBroker(): Promise<void>;
  /** Starts the broker again on its data; resolves when its port accepts connections. */
  restartBroker(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** The outage itself: how long the broker or Postgres stays down. */
  outage(): Promise<void>;
  /** Seconds until the service's readiness shows `component` with `status` (polled), or null after `timeoutMs`. */
  untilReadiness(component: string, status: 'UP' | 'DOWN', timeoutMs: number): Promise<number | null>;
  /** Records what the readiness said through a broker fault. */
  kafkaReadiness(seen: { downAfterS: number | null; upAfterS: number | null }): void;
  /** Notes an event in the run's timeline. */
  note(event: string): void;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  inject(ctx: FaultContext): Promise<FaultWindow>;
}

const now = (): number => performance.now();

/** Postgres stopped, started again after the outage: the same fault for one instance or many. */
export async function postgresOutage(ctx: Pick<FaultContext, 'stopPostgres' | 'outage' | 'startPostgres'>): Promise<FaultWindow> {
  const start = now();
  await ctx.stopPostgres();
  await ctx.outage();
  await ctx.startPostgres();
  return { start, end: now() };
}

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  'service-kill': {
    name: 'service-kill',
    title: 'kill -9 of the service, restarted at once as the same instance',
    async inject(ctx) {
      const start = now();
      await ctx.killService();
      const end = now();
      await ctx.restartService();
      return { start, end };
    },
  },
  'broker-restart': {
    name: 'broker-restart',
    title: 'kill -9 of the broker, restarted after the outage, the service left running',
    async inject(ctx) {
      const start = now();
      await ctx.killBroker();
      // Broker loss must show in readiness during the outage, and its return after it.
      const [downAfterS] = await Promise.all([ctx.untilReadiness('kafka', 'DOWN', 60_000), ctx.outage()]);
      await ctx.restartBroker();
      const end = now();
      ctx.kafkaReadiness({ downAfterS, upAfterS: await ctx.untilReadiness('kafka', 'UP', 60_000) });
      return { start, end };
    },
  },
  'postgres-outage': {
    name: 'postgres-outage',
    title: 'Postgres stopped, started again after the outage',
    inject: postgresOutage,
  },
  'broker-restart-then-service-kill': {
    name: 'broker-restart-then-service-kill',
    title: 'kill -9 of the broker, restarted after the outage, then kill -9 of the service, restarted at once',
    async inject(ctx) {
      const start = now();
      await ctx.killBroker();
      await ctx.outage();
      await ctx.restartBroker();
      await ctx.killService();
      const end = now();
      await ctx.restartService();
      return { start, end };
    },
  },
};
