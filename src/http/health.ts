// Readiness as Spring Boot's actuator shows it: an aggregate status and one component
// per dependency, each with its own status and details, so an operator reading a 503
// sees which dependency holds the instance back and why:
//
//   {"status":"DOWN","components":{
//     "db":{"status":"UP","details":{"database":"PostgreSQL","validationQuery":"select 1","responseMs":1}},
//     "kafka":{"status":"UP","details":{"since":"...","lastError":null}},
//     "streams":{"status":"DOWN","details":{"state":"REBALANCING","restoring":["0_2"],"restoredRecords":1200,"remainingRecords":800,...}},
//     "accepting":{"status":"UP"}}}
//
// Pure functions of what the HTTP thread last heard; db-health.ts does the only I/O.
import type { TaskRestoreProgress } from '../engine/changelog-reader.js';
import type { EngineState, TaskInfo } from '../engine/engine-state.js';
import type { KafkaHealthSnapshot } from '../kafka/kafka-health.js';

export type HealthStatus = 'UP' | 'DOWN';

export interface ComponentHealth {
  readonly status: HealthStatus;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Health {
  readonly status: HealthStatus;
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

/** UP only when every component is. */
export function aggregate(components: Readonly<Record<string, ComponentHealth>>): Health {
  const up = Object.values(components).every((c) => c.status === 'UP');
  return { status: up ? 'UP' : 'DOWN', components };
}

const taskId = (partition: number): string => `0_${partition}`;

/**
 * Ready when the engine is RUNNING and every active task of this instance is restored and
 * running (standbys are warm copies of other instances' tasks: not this one's to wait
 * for). The engine is RUNNING only then (engine.ts): REBALANCING until the group's first
 * assignment, while a task is being created or restored, or while Kafka is out of reach
 * for longer than half the session.
 */
export function streamsReady(state: EngineState, tasks: Iterable<TaskInfo>): boolean {
  if (state !== 'RUNNING') return false;
  for (const t of tasks) if (t.state !== 'RUNNING' && t.state !== 'STANDBY') return false;
  return true;
}

export function streamsHealth(state: EngineState, tasks: readonly TaskInfo[], restores: readonly TaskRestoreProgress[]): ComponentHealth {
  const of = (s: TaskInfo['state']): string[] => tasks.filter((t) => t.state === s).map((t) => taskId(t.partition));
  const up = streamsReady(state, tasks);
  const restoring = of('RESTORING');
  const details: Record<string, unknown> = { state, running: of('RUNNING'), restoring, standby: of('STANDBY') };
  const suspended = of('SUSPENDED');
  if (suspended.length > 0) details.suspended = suspended;
  // The restore figures come once a second with the engine's stats: only those of tasks still restoring.
  const current = restores.filter((r) => restoring.includes(taskId(r.partition)));
  if (current.length > 0) {
    details.restoredRecords = current.reduce((n, r) => n + r.restored, 0);
    if (current.every((r) => r.remaining !== undefined)) details.remainingRecords = current.reduce((n, r) => n + (r.remaining ?? 0), 0);
  }
  return { status: up ? 'UP' : 'DOWN', details };
}

/** The kafka thread's broker probe (kafka-health.ts); DOWN until its first report. */
export function kafkaHealth(snapshot: KafkaHealthSnapshot | undefined): ComponentHealth {
  if (snapshot === undefined) return { status: 'DOWN', details: { reason: 'no report from the kafka thread yet' } };
  return {
    status: snapshot.up ? 'UP' : 'DOWN',
    details: { since: new Date(snapshot.since).toISOString(), lastError: snapshot.lastError ?? null },
  };
}

/** DOWN from the moment a shutdown begins: the load balancer stops sending requests first. */
export function acceptingHealth(draining: boolean): ComponentHealth {
  return draining ? { status: 'DOWN', details: { reason: 'shutting down' } } : { status: 'UP' };
}
