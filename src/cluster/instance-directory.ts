// The latest record of every instance in the directory topic, and which of them are
// alive. Pure (the clock is a parameter): the main thread feeds it what its reader
// consumes (instance-directory-reader.ts) and hands the live records to the HTTP thread.
//
// Liveness: an instance republishes its record every INSTANCE_HEARTBEAT_MS; a record
// not refreshed within INSTANCE_TTL_MS is a dead instance's (kill -9 leaves no
// tombstone). "Refreshed" is measured on this instance's clock, when the record arrived,
// never by comparing clocks across pods. And it is measured against our own record's
// round trip: while our own heartbeats do not come back (the broker is unreachable from
// here), nobody is declared dead, because silence then says nothing about the others.
// The directory keeps its last view instead; a forward to an instance that really is
// gone fails fast and answers 503.
import type { InstanceRecord } from './instance-record.js';

export interface DirectoryOptions {
  readonly selfId: string;
  /** This process's incarnation: our predecessor's records (same id) say nothing about us. */
  readonly selfIncarnation: string;
  readonly ttlMs: number;
}

interface Entry {
  readonly record: InstanceRecord;
  /** When the record arrived here (epoch ms, this instance's clock). */
  readonly seenAt: number;
}

/** What the HTTP thread routes by: endpoint, state and partitions; not seq or timestamps. */
const signature = (records: readonly InstanceRecord[]): string =>
  JSON.stringify(records.map((r) => [r.instanceId, r.incarnation, r.endpoint, r.state, r.running, r.restoring, r.standby]));

export class InstanceDirectory {
  readonly #options: DirectoryOptions;
  readonly #entries = new Map<string, Entry>();
  #lastSignature = signature([]);

  constructor(options: DirectoryOptions) {
    this.#options = options;
  }

  /**
   * Takes the record read under `key` (null: a tombstone, the instance left cleanly).
   * Within one incarnation a record older than the one held is ignored; a new
   * incarnation always replaces (the topic has one partition, so its order is the
   * order records were written in).
   */
  apply(key: string, record: InstanceRecord | null, seenAt: number): void {
    if (record === null) {
      this.#entries.delete(key);
      return;
    }
    const held = this.#entries.get(key)?.record;
    if (held !== undefined && held.incarnation === record.incarnation && record.seq <= held.seq) return;
    this.#entries.set(key, { record, seenAt });
  }

  /** The records of live instances (ours included), by instanceId. */
  live(now: number): InstanceRecord[] {
    const self = this.#entries.get(this.#options.selfId);
    // Our own latest round trip is the reference; before our first record came back
    // (start-up), the clock.
    const reference = self !== undefined && self.record.incarnation === this.#options.selfIncarnation ? Math.min(now, self.seenAt) : now;
    return [...this.#entries.values()]
      .filter((e) => reference - e.seenAt <= this.#options.ttlMs)
      .map((e) => e.record)
      .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  }

  /** The live records when what routing depends on changed since the last call; else undefined. */
  liveIfChanged(now: number): InstanceRecord[] | undefined {
    const live = this.live(now);
    const s = signature(live);
    if (s === this.#lastSignature) return undefined;
    this.#lastSignature = s;
    return live;
  }
}
