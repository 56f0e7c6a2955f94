// The lifecycle of a task, after Kafka Streams' Task.State:
//
//   CREATED ──open──► RESTORING ──restored──► RUNNING
//      │                 │                      │
//      └─────────────────┴──────close───────────┴──► CLOSED
//
// A task is created when its partition is assigned, restores its stores from the
// changelog (from its checkpoint), runs, and is closed on revocation, on an aborted
// transaction (closed dirty, then reopened from committed state), or at shutdown.
import { EngineError } from '../errors.js';

export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'CLOSED';

const transitions: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RESTORING', 'CLOSED'],
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
