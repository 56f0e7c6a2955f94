// The doorbell between the thread that commits outbox rows (HTTP) and the thread whose
// relay publishes them (kafka), in shared memory: two Int32 slots.
//
//   RUNG  commits announced so far (the HTTP thread adds one per committed batch)
//   IDLE  1 while the relay sleeps and needs a message to wake; 0 while it runs a pass
//
// A message (postMessage: a structured clone and a wake-up of the other loop) was sent
// for every tick with a commit in it, 6% of the HTTP thread under intake load, though
// the relay, busy with a pass, only noted "again" for all but the first. Now the HTTP
// thread sends one only when the relay is idle; a relay ending a pass checks whether
// commits were announced since it began and, if so, runs again instead of sleeping.
//
// No wake-up is lost (sequentially consistent atomics): the HTTP thread adds to RUNG,
// then swaps IDLE to 0; the relay stores IDLE = 1, then reads RUNG. Either the relay's
// read sees the commit (it runs again) or the commit came after it, and then the HTTP
// thread's swap comes after the relay's store, finds 1, and sends the message. Both
// at once cost one extra pass, never a lost one.
const RUNG = 0;
const IDLE = 1;

export class OutboxDoorbell {
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Int32Array;

  /** A new doorbell (the relay idle), or one over `buffer` made by another thread. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    this.#slots = new Int32Array(this.buffer);
    if (buffer === undefined) Atomics.store(this.#slots, IDLE, 1);
  }

  /** Committing side, after a commit: true when the relay sleeps and must be sent a wake-up message. */
  ring(): boolean {
    Atomics.add(this.#slots, RUNG, 1);
    return Atomics.exchange(this.#slots, IDLE, 0) === 1;
  }

  /** Relay side, as a pass begins: the mark to compare with when it ends. */
  begin(): number {
    Atomics.store(this.#slots, IDLE, 0);
    return Atomics.load(this.#slots, RUNG);
  }

  /**
   * Relay side, as a pass that began at `mark` ends: true when commits were announced
   * meanwhile (run again, the relay stays awake), else the relay is idle from now on.
   */
  end(mark: number): boolean {
    Atomics.store(this.#slots, IDLE, 1);
    if (Atomics.load(this.#slots, RUNG) === mark) return false;
    Atomics.store(this.#slots, IDLE, 0);
    return true;
  }
}
