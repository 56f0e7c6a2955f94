// The lifecycle of a task, after Kafka Streams' Task.State:
//
//   CREATED ──open──► RESTORING ──restored──► RUNNING
//      │                 │                      │
//      └─────────────────┴──────close───────────┴──► CLOSED
//      │                                             ▲
//      └──open standby──► STANDBY ──────close────────┘
//                           │
//                           └──promote──► RESTORING
//
// A task is created when its partition is assigned, restores its stores from the
// changelog (from its checkpoint), runs, and is closed on revocation, on an aborted
// transaction (closed dirty, then reopened from committed state), or at shutdown.
import { EngineError } from '../errors.js';

// A STANDBY task applies another instance's changelog records to a warm copy of its
// stores; it never processes. Made active here, it is promoted in place (stores kept
// open) and restores only the changelogs' tail past what it has applied.
export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'STANDBY' | 'CLOSED';

const transitions: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RESTORING', 'STANDBY', 'CLOSED'],
  STANDBY: ['RESTORING', 'CLOSED'],
  RESTORING: ['RUNNING', 'CLOSED'],
  RUNNING: ['CLOSED'],
  CLOSED: [],
};

export function transition(partition: number, from: TaskState, to: TaskState): TaskState {
  if (!transitions[from].includes(to)) {
    throw new EngineError('ORD_ERR_ILLEGAL_STATE', `Illegal state transition of task 0_${partition} from ${from} to ${to}`);
  }
  return to;
}
