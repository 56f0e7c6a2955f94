// The faults of the multi-instance fault tests, injected in turn into one group of
// instances on a 3-node cluster under one steady load (./cluster-harness.ts). Each
// returns its window, as ./scenarios.ts's do: `start`, the first disruptive action;
// `end`, when the faulty part is back (an instance's restart issued, a broker's port
// open again, Postgres up, the partition healed, the new instance ready, the
// terminated one gone). The figures of a fault are taken over its interval, from its
// start to the next fault's start (or the end of the load).
import type { FaultWindow } from '../support/recovery-time.js';
import type { ClusterFaultName } from './cluster-params.js';
import { postgresOutage } from './scenarios.js';

export interface SigtermOutcome {
  /** Exit code; null when it did not exit by itself within the bound (then it was killed). */
  readonly exitCode: number | null;
  /** ms from SIGTERM to the process's exit. */
  readonly exitMs: number;
}

export interface ClusterFaultContext {
  /** The instances running now, in start order (i1, i2, ...). */
  running(): readonly string[];
  /** `kill -9` of an instance; it leaves the load's targets; resolves when it is gone. */
  killInstance(id: string): Promise<void>;
  /** Starts a killed instance again (same INSTANCE_ID, STATE_DIR, port); back in the load once ready. */
  restartInstance(id: string): Promise<void>;
  /** Starts one more instance (the next id, slot and port); resolves when it is ready (or gave up). */
  addInstance(): Promise<string>;
  /** Takes an instance out of the load, SIGTERMs it and waits (bounded) for its exit. */
  sigtermInstance(id: string): Promise<SigtermOutcome>;
  /** Cuts an instance off every broker (its HTTP and Postgres stay reachable). */
  partitionInstance(id: string): void;
  healInstance(id: string): void;
  /** The node broker-kill kills: the coordinator of the service's consumer group (the most disruptive) unless the parameters name one. */
  brokerToKill(): Promise<number>;
  killBroker(node: number): Promise<void>;
  /** Starts the node again; resolves when its port is open (the window's end), then waits for the replicas to be in sync. */
  restartBroker(node: number): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** The outage itself. */
  outage(): Promise<void>;
  note(event: string): void;
}

export interface ClusterFaultOutcome extends FaultWindow {
  /** What it hit: an instance id, `node-<n>`, `postgres`. */
  readonly target: string;
  /** instance-sigterm: how the instance exited. */
  readonly sigterm?: SigtermOutcome;
}

export interface ClusterFault {
  readonly name: ClusterFaultName;
  readonly title: string;
  inject(ctx: ClusterFaultContext): Promise<ClusterFaultOutcome>;
}

const now = (): number => performance.now();

/** The instance a fault hits: `preferred` if it runs, else the last one running. */
function pick(ctx: ClusterFaultContext, preferred: string): string {
  const running = ctx.running();
  if (running.includes(preferred)) return preferred;
  const last = running.at(-1);
  if (last === undefined) throw new Error('no instance running');
  return last;
}

export const CLUSTER_FAULTS: Readonly<Record<ClusterFaultName, ClusterFault>> = {
  'instance-kill': {
    name: 'instance-kill',
    title: 'kill -9 of one instance, restarted (same instance id and state) after the outage',
    async inject(ctx) {
      const target = pick(ctx, 'i2');
      const start = now();
      await ctx.killInstance(target);
      await ctx.outage();
      const end = now();
      await ctx.restartInstance(target);
      return { target, start, end };
    },
  },
  'broker-kill': {
    name: 'broker-kill',
    title: 'kill -9 of a broker (by default the group\'s coordinator), restarted after the outage',
    async inject(ctx) {
      const node = await ctx.brokerToKill();
      const start = now();
      await ctx.killBroker(node);
      await ctx.outage();
      let end = now();
      await ctx.restartBroker(node).finally(() => (end = now()));
      return { target: `node-${node}`, start, end };
    },
  },
  'postgres-outage': {
    name: 'postgres-outage',
    title: 'Postgres stopped, started again after the outage',
    async inject(ctx) {
      return { target: 'postgres', ...(await postgresOutage(ctx)) };
    },
  },
  'instance-add': {
    name: 'instance-add',
    title: 'one more instance started into the group',
    async inject(ctx) {
      const start = now();
      const target = await ctx.addInstance();
      return { target, start, end: now() };
    },
  },
  'instance-partition': {
    name: 'instance-partition',
    title: 'one instance cut off every broker (HTTP and Postgres reachable), healed after the outage',
    async inject(ctx) {
      const target = pick(ctx, 'i3');
      const start = now();
      ctx.partitionInstance(target);
      await ctx.outage();
      ctx.healInstance(target);
      return { target, start, end: now() };
    },
  },
  'instance-sigterm': {
    name: 'instance-sigterm',
    title: 'SIGTERM of one instance (taken out of the load first): a bounded, clean exit, its tasks move',
    async inject(ctx) {
      const target = pick(ctx, 'i4');
      const start = now();
      const sigterm = await ctx.sigtermInstance(target);
      return { target, start, end: now(), sigterm };
    },
  },
};
