// The kafka thread's view of a task's life, after Kafka Streams' Task.State, as a table:
//
//   CREATED ──► RESTORING ──caught up──► RUNNING ──revoked (eager)──► SUSPENDED
//      │            │                     │   ▲                          │
//      │            │                     │   └──── assigned again ──────┘
//      │            ▼                     ▼                              │
//      │         CLOSED ◄─────────────────┴──────────────────────────────┘
//      │            ▲
//      └──► STANDBY ┘
//              └──promoted in place──► RESTORING
//
// RESTORING: assigned, its partitions paused while the changelog reader brings its
// stores up to the changelogs' end. SUSPENDED: committed and stopped by an eager
// rebalance, stores open, in case the new assignment gives it back. STANDBY: a warm
// copy of a task another instance runs; assigned here, it is promoted in place (stores
// kept open) and restores only the changelogs' tail past what it has applied.
import { EngineError } from '../errors.js';

export type TaskLifecycleState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'SUSPENDED' | 'STANDBY' | 'CLOSED';

const transitions: Readonly<Record<TaskLifecycleState, readonly TaskLifecycleState[]>> = {
  CREATED: ['RESTORING', 'STANDBY', 'CLOSED'],
  RESTORING: ['RUNNING', 'CLOSED'],
  RUNNING: ['SUSPENDED', 'CLOSED'],
  SUSPENDED: ['RUNNING', 'CLOSED'],
  STANDBY: ['RESTORING', 'CLOSED'],
  CLOSED: [],
};

export function checkTransition(partition: number, from: TaskLifecycleState, to: TaskLifecycleState): TaskLifecycleState {
  if (!transitions[from].includes(to)) throw new EngineError('ORD_ERR_ILLEGAL_STATE', `Illegal transition of task 0_${partition} from ${from} to ${to}`);
  return to;
}
