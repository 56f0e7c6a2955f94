// Commit durations for the commit latency histogram. The registry lives in the HTTP
// thread, so the kafka thread keeps each commit's duration here and hands the batch
// over with the next stats message (every second); the HTTP thread observes them.
// Bounded: if nobody takes them (the HTTP thread not up yet), the oldest are dropped,
// never memory.
const MAX_SAMPLES = 10_000;

export class CommitTimings {
  #samples: number[] = [];
  /** Samples dropped because nobody took them in time (metrics only). */
  dropped = 0;

  record(seconds: number): void {
    if (this.#samples.length >= MAX_SAMPLES) {
      this.#samples.shift();
      this.dropped++;
    }
    this.#samples.push(seconds);
  }

  /** The durations (seconds) recorded since the last take. */
  take(): number[] {
    const samples = this.#samples;
    this.#samples = [];
    return samples;
  }
}
