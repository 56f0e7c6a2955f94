// A stream task: one partition number p across payment-orders, stock-orders and
// orders, with its two stores under STATE_DIR/<application.id>/0_p/. It commits in two
// phases, as Kafka Streams' StreamTask does: prepareCommit hands the kafka thread the
// changelog records of the open transaction; postCommit, called only once that
// transaction committed, writes the same changes to RocksDB and the checkpoint. So the
// local stores only ever hold committed state, and an aborted transaction is undone
// by closing the task dirty and reopening it.
import { join } from 'node:path';
import { JOIN_STORE, ORDERS_STORE, TOPIC_ORDERS, changelogTopic } from '../kafka/topics.js';
import { readCheckpoint, writeCheckpoint } from '../state/checkpoint.js';
import type { CacheSliceWriter } from '../state/cache.js';
import { RocksStore } from '../state/rocksdb-store.js';
import { JoinProcessor } from './join-processor.js';
import { JoinWindow, parseJoinStoreKey, type JoinEntry } from './join-window.js';
import type { ChangelogPosition, InputRecord, OutputRecord, ProcessResult, RestoreRecord, TaskConfig, TaskStats } from './protocol.js';
import { TableProcessor } from './table-processor.js';
import { transition, type TaskState } from './task-state.js';

const STORE_OPTIONS = { blockCacheBytes: 8 * 1024 * 1024, writeBufferBytes: 4 * 1024 * 1024 };
const CHECKPOINT_INTERVAL_MS = 5000;
const CHECKPOINT_RECORDS = 10_000;

/** Uncommitted writes of one store, latest value per key. */
class Writes {
  readonly map = new Map<string, Uint8Array | null>();
  set(key: string, value: Uint8Array | null): void {
    this.map.set(key, value);
  }
}

interface Store {
  readonly name: string;
  readonly changelog: string;
  readonly db: RocksStore;
  writes: Writes;
  prepared: Writes | undefined;
}

export class Task {
  readonly partition: number;
  readonly dir: string;
  #state: TaskState = 'CREATED';
  readonly #table: Store;
  readonly #join: Store;
  readonly #cache: CacheSliceWriter | undefined;
  readonly #tableProcessor: TableProcessor;
  readonly #joinProcessor: JoinProcessor;
  readonly #window = new JoinWindow();
  #processed = 0;
  #skipped = 0;
  /** Changelog ends committed and applied but not yet in the checkpoint file. */
  readonly #checkpointDue = new Map<string, number>();
  #sinceCheckpoint = 0;
  #lastCheckpoint = Date.now();

  private constructor(config: TaskConfig, dir: string, table: RocksStore, joinDb: RocksStore, cache: CacheSliceWriter | undefined) {
    this.partition = config.partition;
    this.dir = dir;
    this.#table = { name: ORDERS_STORE, changelog: changelogTopic(config.applicationId, ORDERS_STORE), db: table, writes: new Writes(), prepared: undefined };
    this.#join = { name: JOIN_STORE, changelog: changelogTopic(config.applicationId, JOIN_STORE), db: joinDb, writes: new Writes(), prepared: undefined };
    this.#cache = cache;
    this.#tableProcessor = new TableProcessor(config.partition, cache);
    this.#joinProcessor = new JoinProcessor(config.partition, config.joinWindowMs, this.#window);
  }

  static async open(config: TaskConfig, cache: CacheSliceWriter | undefined): Promise<{ task: Task; restoreFrom: ChangelogPosition[] }> {
    const dir = join(config.stateDir, config.applicationId, `0_${config.partition}`);
    const table = await RocksStore.open(join(dir, ORDERS_STORE), STORE_OPTIONS);
    const joinDb = await RocksStore.open(join(dir, JOIN_STORE), STORE_OPTIONS);
    const task = new Task(config, dir, table, joinDb, cache);
    task.#state = transition(task.partition, task.#state, 'RESTORING');
    const checkpoint = await readCheckpoint(dir);
    const restoreFrom = [task.#table, task.#join].map((s) => ({
      topic: s.changelog,
      partition: config.partition,
      offset: checkpoint.get(`${s.changelog}:${config.partition}`) ?? 0,
    }));
    return { task, restoreFrom };
  }

  get state(): TaskState {
    return this.#state;
  }

  /** Applies changelog records straight to the stores (they are committed already). */
  async restore(records: readonly RestoreRecord[]): Promise<void> {
    const byStore = new Map<RocksStore, { key: Buffer; value: Buffer | null }[]>();
    for (const r of records) {
      const store = r.topic === this.#join.changelog ? this.#join.db : this.#table.db;
      let list = byStore.get(store);
      if (list === undefined) byStore.set(store, (list = []));
      list.push({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) });
    }
    for (const [store, entries] of byStore) await store.write(entries);
  }

  /** Restore is done: rebuild the live join window from the committed store and run. */
  async markRestored(): Promise<void> {
    const entries: JoinEntry[] = [];
    for (const { key, value } of await this.#join.db.range({})) {
      const k = parseJoinStoreKey(key.toString());
      if (k !== undefined) entries.push({ ...k, value: new Uint8Array(value) });
    }
    // Time order, as the live window receives them: expiry pops from the front.
    entries.sort((a, b) => a.timestamp - b.timestamp);
    for (const e of entries) this.#window.add(e);
    this.#state = transition(this.partition, this.#state, 'RUNNING');
  }

  process(records: readonly InputRecord[], now: number): ProcessResult {
    const outputs: OutputRecord[] = [];
    let processed = 0;
    for (const record of records) {
      const ok = record.topic === TOPIC_ORDERS
        ? this.#tableProcessor.process(record, outputs, this.#table.writes)
        : this.#joinProcessor.process(record, outputs, this.#join.writes);
      if (ok) processed++;
    }
    this.#joinProcessor.expire(now, this.#join.writes);
    this.#processed += processed;
    this.#skipped += records.length - processed;
    return { outputs, processed, skipped: records.length - processed };
  }

  /** Phase one: the changelog records of everything written since the last commit. */
  prepareCommit(): OutputRecord[] {
    this.#tableProcessor.flush(this.#table.writes);
    const changelog: OutputRecord[] = [];
    for (const store of [this.#table, this.#join]) {
      for (const [key, value] of store.writes.map) changelog.push({ topic: store.changelog, partition: this.partition, key, value });
      store.prepared = store.writes;
      store.writes = new Writes();
    }
    return changelog;
  }

  /**
   * Phase two, after the transaction committed: apply to RocksDB; now and then, a
   * checkpoint. Writing the checkpoint costs fsyncs, so, as Kafka Streams does, it is
   * written only every CHECKPOINT_INTERVAL_MS or CHECKPOINT_RECORDS and at a clean
   * close: a checkpoint that lags only means a longer (idempotent) changelog replay on
   * restore. The store write before a checkpoint is synced, which makes every earlier
   * write durable too (RocksDB's WAL is sequential), so a checkpoint never claims
   * offsets an OS crash could take from the store.
   */
  async postCommit(changelogEnd: readonly ChangelogPosition[], now = Date.now()): Promise<void> {
    for (const p of changelogEnd) this.#checkpointDue.set(`${p.topic}:${p.partition}`, p.offset);
    let written = 0;
    for (const store of [this.#table, this.#join]) written += store.prepared?.map.size ?? 0;
    this.#sinceCheckpoint += written;
    const checkpoint = this.#checkpointDue.size > 0 && (now - this.#lastCheckpoint >= CHECKPOINT_INTERVAL_MS || this.#sinceCheckpoint >= CHECKPOINT_RECORDS);
    await this.#applyPrepared(checkpoint);
    if (checkpoint) await this.#writeCheckpoint(now);
  }

  async #applyPrepared(sync: boolean): Promise<void> {
    for (const store of [this.#table, this.#join]) {
      const prepared = store.prepared;
      store.prepared = undefined;
      if (prepared === undefined || prepared.map.size === 0) {
        if (sync) await store.db.write([], { sync: true });
        continue;
      }
      const entries = [...prepared.map].map(([key, value]) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) }));
      await store.db.write(entries, { sync });
    }
  }

  async #writeCheckpoint(now: number): Promise<void> {
    const checkpoint = await readCheckpoint(this.dir);
    for (const [k, offset] of this.#checkpointDue) checkpoint.set(k, offset);
    await writeCheckpoint(this.dir, checkpoint);
    this.#checkpointDue.clear();
    this.#sinceCheckpoint = 0;
    this.#lastCheckpoint = now;
  }

  /** The latest committed-or-pending value of an order in orders-store. */
  async get(key: string): Promise<Uint8Array | undefined> {
    // The cache first: a value there is newer than anything below it, and null is a
    // delete not yet written down. The HTTP thread's reader already counted this query.
    const cached = this.#cache?.peek(Number(key));
    if (cached !== undefined) return cached ?? undefined;
    for (const w of [this.#table.writes, this.#table.prepared]) {
      if (w?.map.has(key)) return w.map.get(key) ?? undefined;
    }
    return (await this.#table.db.get(Buffer.from(key))) ?? undefined;
  }

  async range(offset: number, limit: number): Promise<Uint8Array[]> {
    return (await this.#table.db.range({ offset, limit })).map((e) => e.value);
  }

  /** Clean: after a commit, nothing is pending. Dirty: uncommitted writes are dropped. */
  async close(dirty: boolean): Promise<void> {
    if (this.#state === 'CLOSED') return;
    this.#state = transition(this.partition, this.#state, 'CLOSED');
    // The partition may move to another thread or instance: its slice must not serve
    // stale entries, and after a dirty close it holds uncommitted ones.
    this.#cache?.clear();
    if (dirty) {
      for (const store of [this.#table, this.#join]) {
        store.writes = new Writes();
        store.prepared = undefined;
      }
    } else if (this.#checkpointDue.size > 0) {
      // Everything committed is applied: a clean close leaves an up-to-date checkpoint.
      await this.#applyPrepared(true);
      await this.#writeCheckpoint(Date.now());
    }
    await Promise.all([this.#table.db.close(), this.#join.db.close()]);
  }

  async stats(): Promise<TaskStats> {
    const cache = this.#cache?.stats();
    const [t, j] = await Promise.all([this.#table.db.approximateSizeBytes(), this.#join.db.approximateSizeBytes()]);
    return {
      partition: this.partition,
      state: this.#state,
      storeBytes: t + j,
      cacheHits: cache?.hits ?? 0,
      cacheMisses: cache?.misses ?? 0,
      cacheEntries: cache?.entries ?? 0,
      processed: this.#processed,
      skipped: this.#skipped,
    };
  }
}
