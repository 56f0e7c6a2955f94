// The stream engine's lifecycle, after KafkaStreams.State, as one table:
//
//   CREATED ──► STARTING ──► REBALANCING ◄──► RUNNING
//                  │              │              │
//                  └──────────────┴──────┬───────┘
//                                        ▼
//                  ERROR ──────► PENDING_SHUTDOWN ──► DEAD
//
// REBALANCING: the group is moving tasks, or a task of this instance is restoring.
// RUNNING: every active task is running. ERROR: a fatal error; the process shuts down.
import { EngineError } from '../errors.js';

export type EngineState = 'CREATED' | 'STARTING' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'DEAD' | 'ERROR';

const transitions: Readonly<Record<EngineState, readonly EngineState[]>> = {
  CREATED: ['STARTING', 'PENDING_SHUTDOWN', 'ERROR'],
  STARTING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['DEAD'],
  ERROR: ['PENDING_SHUTDOWN'],
  DEAD: [],
};

export function canTransition(from: EngineState, to: EngineState): boolean {
  return from === to || transitions[from].includes(to);
}

/** Holds the state; an illegal change throws (a bug), a change to the same state is a no-op. */
export class EngineLifecycle {
  #state: EngineState = 'CREATED';
  readonly #onChange: (state: EngineState) => void;

  constructor(onChange: (state: EngineState) => void) {
    this.#onChange = onChange;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** True while the loop should go on (not shutting down, not failed). */
  get active(): boolean {
    return this.#state === 'STARTING' || this.#state === 'REBALANCING' || this.#state === 'RUNNING';
  }

  to(next: EngineState): void {
    if (next === this.#state) return;
    if (!canTransition(this.#state, next)) throw new EngineError('ORD_ERR_ILLEGAL_STATE', `Illegal stream engine state transition from ${this.#state} to ${next}`);
    this.#state = next;
    this.#onChange(next);
  }
}

/** One task of this instance as the HTTP thread and the instance directory see it. */
export interface TaskInfo {
  readonly partition: number;
  readonly thread: number;
  /**
   * SUSPENDED: this instance has not reached Kafka for longer than the session
   * timeout; the group has most likely given the task to another instance, so its
   * store here may be stale and is not served.
   */
  readonly state: 'RESTORING' | 'RUNNING' | 'STANDBY' | 'SUSPENDED';
  /** Standby: changelog records not yet applied (the copy's lag); undefined when unknown. */
  readonly lag?: number;
}
