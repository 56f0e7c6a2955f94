// A stream task: one partition number p across payment-orders, stock-orders and
// orders, with its two stores under STATE_DIR/<application.id>/0_p/. It commits in two
// phases, as Kafka Streams' StreamTask does: prepareCommit hands the kafka thread the
// changelog records of the open transaction; postCommit, called only once that
// transaction committed, writes the same changes to RocksDB and the checkpoint. So the
// local stores only ever hold committed state, and an aborted transaction is undone
// by rollback(): the uncommitted writes are dropped and the live parts (cache slice,
// join window) rebuilt from the stores, with no restore and no broker needed.
//
// Every input record's key is checked against the partition it arrived on: a
// producer that does not partition like Kafka's default partitioner (librdkafka's
// consistent_random, for one) breaks co-partitioning, and the join would never see
// both answers of an order. Such records are counted per topic, and with
// REPARTITION_INPUTS forwarded to their key's partition through a repartition topic,
// whose records this task then joins like the original input's.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseId64 } from '../domain/id64.js';
import { EngineError } from '../errors.js';
import { partitionFor } from '../kafka/partitioner.js';
import { JOIN_INPUTS, JOIN_STORE, ORDERS_STORE, TOPIC_ORDERS, TOPIC_PAYMENT_ORDERS, changelogTopic, repartitionTopic } from '../kafka/topics.js';
import { deleteCheckpoint, readCheckpoint, writeCheckpoint } from '../state/checkpoint.js';
import type { CacheSliceWriter } from '../state/cache.js';
import { RocksStore, type RocksStoreOptions } from '../state/rocksdb-store.js';
import { JoinProcessor } from './join-processor.js';
import { JoinWindow, parseJoinStoreKey, type JoinEntry } from './join-window.js';
import type { ChangelogPosition, InputRecord, OutputRecord, ProcessResult, TaskConfig, TaskStats } from './protocol.js';
import { forEachRestoreRecord, type RestoreBatch } from './restore-batch.js';
import { TableProcessor } from './table-processor.js';
import { isCreation, isDecided } from './decided.js';
import { transition, type TaskState } from './task-state.js';

/** Each store's memory when the thread is given none (tests); the service sizes it from its memory budget. */
const STORE_OPTIONS: RocksStoreOptions = { blockCacheBytes: 8 * 1024 * 1024, writeBufferBytes: 4 * 1024 * 1024 };
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

/** How a task treats the records of one of its source topics. */
interface Source {
  readonly processor: 'table' | 'join';
  /** An input others produce to: check that its keys hash to this partition. */
  readonly checked: boolean;
  /** Where a record on the wrong partition is forwarded (REPARTITION_INPUTS), if anywhere. */
  readonly forwardTo: string | undefined;
}

/** The source topics of a task and what each is for. */
export function taskSources(config: Pick<TaskConfig, 'applicationId' | 'repartitionInputs'>): Map<string, Source> {
  const sources = new Map<string, Source>([[TOPIC_ORDERS, { processor: 'table', checked: true, forwardTo: undefined }]]);
  for (const input of JOIN_INPUTS) {
    const repartition = repartitionTopic(config.applicationId, input);
    sources.set(input, { processor: 'join', checked: true, forwardTo: config.repartitionInputs ? repartition : undefined });
    // Written by this engine, by key: nothing to check.
    if (config.repartitionInputs) sources.set(repartition, { processor: 'join', checked: false, forwardTo: undefined });
  }
  return sources;
}

/** The task directory: STATE_DIR/<application.id>/0_<partition>, as Kafka Streams lays it out. */
export function taskDir(config: Pick<TaskConfig, 'stateDir' | 'applicationId' | 'partition'>): string {
  return join(config.stateDir, config.applicationId, `0_${config.partition}`);
}

export class Task {
  readonly partition: number;
  readonly dir: string;
  #state: TaskState = 'CREATED';
  readonly #table: Store;
  readonly #join: Store;
  /** Set when a standby is promoted (a standby has no cache slice). */
  #cache: CacheSliceWriter | undefined;
  #tableProcessor: TableProcessor;
  readonly #dlqPartitions: number;
  readonly #joinProcessor: JoinProcessor;
  readonly #window = new JoinWindow();
  readonly #sources: Map<string, Source>;
  readonly #numPartitions: number;
  #processed = 0;
  #skipped = 0;
  #duplicates = 0;
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
    this.#sources = taskSources(config);
    this.#numPartitions = config.numPartitions;
    this.#dlqPartitions = config.dlqPartitions;
    this.#tableProcessor = new TableProcessor(config.partition, cache, config.dlqPartitions);
    const paymentTopics = new Set([...this.#sources.keys()].filter((t) => t === TOPIC_PAYMENT_ORDERS || t === repartitionTopic(config.applicationId, TOPIC_PAYMENT_ORDERS)));
    this.#joinProcessor = new JoinProcessor(config.partition, this.#window, {
      windowMs: config.joinWindowMs,
      maxWaitMs: config.joinMaxWaitMs,
      numPartitions: config.numPartitions,
      dlqPartitions: config.dlqPartitions,
      paymentTopics,
    });
  }

  /**
   * Opens the task's stores. A store RocksDB reports corrupt, or a checkpoint that does
   * not parse, throws ORD_ERR_STATE_CORRUPTED: the caller wipes the task (wipe()) and
   * opens it again, which restores everything from the changelogs.
   */
  static async open(
    config: TaskConfig,
    cache: CacheSliceWriter | undefined,
    standby = false,
    storeOptions: RocksStoreOptions = STORE_OPTIONS,
  ): Promise<{ task: Task; restoreFrom: ChangelogPosition[] }> {
    const dir = taskDir(config);
    const checkpoint = await readCheckpoint(dir);
    const table = await RocksStore.open(join(dir, ORDERS_STORE), storeOptions);
    const joinDb = await RocksStore.open(join(dir, JOIN_STORE), storeOptions).catch(async (err: unknown) => {
      await table.close();
      throw err;
    });
    const task = new Task(config, dir, table, joinDb, cache);
    task.#state = transition(task.partition, task.#state, standby ? 'STANDBY' : 'RESTORING');
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

  /**
   * A standby made active in place, as Kafka Streams recycles a standby task: the
   * stores stay open and warm, and only the changelogs' tail past what it has applied
   * is restored. Closing and reopening instead cost most of a second per batch of tasks
   * (RocksDB close and open, a new changelog assignment), all of it on a failover's
   * path. Returns where the restore starts: the positions the standby has applied,
   * else its checkpoint.
   */
  async promote(cache: CacheSliceWriter | undefined): Promise<ChangelogPosition[]> {
    this.#state = transition(this.partition, this.#state, 'RESTORING');
    this.#cache = cache;
    this.#cache?.clear();
    this.#tableProcessor = new TableProcessor(this.partition, cache, this.#dlqPartitions);
    const checkpoint = await readCheckpoint(this.dir);
    return [this.#table, this.#join].map((s) => {
      const k = `${s.changelog}:${this.partition}`;
      return { topic: s.changelog, partition: this.partition, offset: this.#checkpointDue.get(k) ?? checkpoint.get(k) ?? 0 };
    });
  }

  /**
   * Applies changelog records straight to the stores (they are committed already), and
   * now and then checkpoints the changelogs' positions after them: a restore cut short
   * by a crash, or a standby's copy, goes on from there.
   */
  async restore(batch: RestoreBatch, positions: readonly ChangelogPosition[] = [], now = Date.now()): Promise<void> {
    if (this.#state !== 'RESTORING' && this.#state !== 'STANDBY') throw new EngineError('ORD_ERR_ILLEGAL_STATE', `cannot restore task 0_${this.partition} in state ${this.#state}`);
    const byStore = new Map<RocksStore, { key: Buffer; value: Buffer | null }[]>();
    forEachRestoreRecord(batch, (topic, key, value) => {
      const store = topic === this.#join.changelog ? this.#join.db : this.#table.db;
      let list = byStore.get(store);
      if (list === undefined) byStore.set(store, (list = []));
      list.push({ key, value });
    });
    for (const p of positions) this.#checkpointDue.set(`${p.topic}:${p.partition}`, p.offset);
    this.#sinceCheckpoint += batch.count;
    const checkpoint = this.#checkpointDue.size > 0 && (now - this.#lastCheckpoint >= CHECKPOINT_INTERVAL_MS || this.#sinceCheckpoint >= CHECKPOINT_RECORDS * 10);
    const stores = [...byStore];
    for (let i = 0; i < stores.length; i++) await stores[i]![0].write(stores[i]![1], { sync: checkpoint && i === stores.length - 1 });
    if (checkpoint) {
      // A sync write makes every earlier one durable (see postCommit).
      if (stores.length === 0) await this.#table.db.write([], { sync: true });
      await this.#writeCheckpoint(now);
    }
  }

  /** Deletes a (closed) task's stores and checkpoint, as Kafka Streams wipes a corrupted task. */
  static async wipe(config: TaskConfig): Promise<void> {
    const dir = taskDir(config);
    // The checkpoint goes first: a crash half-way leaves stores without one, which
    // restores from the beginning over them (idempotent), never a checkpoint over
    // missing data.
    await deleteCheckpoint(dir);
    for (const store of [ORDERS_STORE, JOIN_STORE]) await RocksStore.destroy(join(dir, store));
    await rm(dir, { recursive: true, force: true });
  }

  /** Restore is done: rebuild the live join window from the committed store and run. */
  async markRestored(): Promise<void> {
    await this.#loadWindow();
    this.#state = transition(this.partition, this.#state, 'RUNNING');
  }

  /**
   * The transaction this task's pending writes belonged to was aborted. The stores hold
   * exactly the committed state (postCommit writes them only after a commit), so
   * dropping the pending writes and rebuilding the cache slice and the join window
   * from the stores puts the task back at the last commit; the kafka thread rewinds
   * the consumer to the same point.
   */
  async rollback(): Promise<void> {
    if (this.#state !== 'RUNNING') throw new EngineError('ORD_ERR_ILLEGAL_STATE', `cannot roll back task 0_${this.partition} in state ${this.#state}`);
    for (const store of [this.#table, this.#join]) {
      store.writes = new Writes();
      store.prepared = undefined;
    }
    this.#cache?.clear();
    this.#window.clear();
    await this.#loadWindow();
  }

  async #loadWindow(): Promise<void> {
    const entries: JoinEntry[] = [];
    for (const { key, value } of await this.#join.db.range({})) {
      const k = parseJoinStoreKey(key.toString());
      if (k !== undefined) entries.push({ ...k, value: new Uint8Array(value) });
    }
    // Time order, as the live window receives them: expiry pops from the front.
    entries.sort((a, b) => a.timestamp - b.timestamp);
    // Restored entries get a wall-clock lease from now: their partners may be in the
    // backlog that is about to be processed (JoinWindow.expire).
    const now = Date.now();
    for (const e of entries) this.#window.add({ ...e, addedAt: now });
  }

  async process(records: readonly InputRecord[]): Promise<ProcessResult> {
    const outputs: OutputRecord[] = [];
    const mispartitioned: Record<string, number> = {};
    let processed = 0;
    let forwarded = 0;
    let duplicates = 0;
    const { creations, stored } = await this.#readCreations(records);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const source = this.#sources.get(record.topic);
      if (source === undefined) throw new EngineError('ORD_ERR_ILLEGAL_STATE', `task 0_${this.partition} has no source topic ${record.topic}`);
      if (source.checked && record.key !== null) {
        const home = partitionFor(record.key, this.#numPartitions);
        if (home !== this.partition) {
          mispartitioned[record.topic] = (mispartitioned[record.topic] ?? 0) + 1;
          if (source.forwardTo !== undefined) {
            outputs.push({ topic: source.forwardTo, partition: home, key: record.key, value: record.value });
            forwarded++;
            continue;
          }
        }
      }
      let ok: boolean;
      if (source.processor === 'table') {
        if (creations[i] === 1 && (this.#decidedAbove(record.key!, stored) ?? (await this.#decided(record.key!)))) {
          // A creation delivered again after its decision (an at-least-once producer
          // upstream) does not take the order back to NEW in the store.
          duplicates++;
          processed++;
          continue;
        }
        ok = this.#tableProcessor.process(record, outputs, this.#table.writes);
      } else {
        const from = outputs.length;
        ok = this.#joinProcessor.process(record, outputs, this.#join.writes);
        if (outputs.length > from) duplicates += await this.#settleDecisions(outputs, from, record.timestamp);
      }
      if (ok) processed++;
    }
    this.#joinProcessor.expire(this.#join.writes);
    const skipped = records.length - processed - forwarded;
    this.#processed += processed;
    this.#skipped += skipped;
    this.#duplicates += duplicates;
    return { outputs, processed, skipped, mispartitioned, forwarded, duplicates };
  }

  /**
   * A decision is made once per order. Participants deliver at least once: after an
   * outage one may answer an order again, and a repeated answer inside the window
   * would join again. So a decision the join just made (outputs from `from` on) is
   * dropped when orders-store already holds a decision for the order, and otherwise
   * written to orders-store at once (in this transaction; its own record from
   * `orders` later writes the same value), so a repeat in the same transaction or
   * before that record comes back is caught too. A decision for another partition's
   * key (an answer that arrived mispartitioned) is left alone: its store is not here.
   * Returns how many were dropped.
   */
  async #decided(key: string): Promise<boolean> {
    const current = await this.get(key);
    return current !== undefined && isDecided(current);
  }

  /** #decided from the layers above RocksDB and what #readCreations read; undefined: not known here. */
  #decidedAbove(key: string, stored: ReadonlyMap<string, Buffer | undefined>): boolean | undefined {
    const pending = this.#pending(key);
    if (pending !== undefined) return pending !== null && isDecided(pending);
    if (!stored.has(key)) return undefined;
    const value = stored.get(key);
    return value !== undefined && isDecided(value);
  }

  /**
   * What orders-store holds in RocksDB for the batch's creations that neither the cache
   * nor the pending writes know, in one lookup: every creation is checked against a
   * decision (#decided), and under intake each was a synchronous read of its own, a
   * quarter of a stream thread's time, most of it the binding's per-call overhead.
   * RocksDB is only written after a commit (postCommit), never while a batch is
   * processed, so what is read here stays the bottom layer for the whole batch; the
   * layers above it are still looked at first, record by record.
   */
  async #readCreations(records: readonly InputRecord[]): Promise<{ creations: Uint8Array; stored: Map<string, Buffer | undefined> }> {
    // 1 where a record is an order's creation (NEW) on the table's source: checked below.
    const creations = new Uint8Array(records.length);
    const stored = new Map<string, Buffer | undefined>();
    const keys: string[] = [];
    records.forEach((r, i) => {
      if (r.key === null || r.value === null || this.#sources.get(r.topic)?.processor !== 'table' || !isCreation(r.value)) return;
      creations[i] = 1;
      if (this.#pending(r.key) === undefined && !stored.has(r.key)) {
        stored.set(r.key, undefined);
        keys.push(r.key);
      }
    });
    if (keys.length === 0) return { creations, stored };
    const processed = this.#tableProcessor.processed;
    const values = await this.#table.db.getMany(keys.map((k) => Buffer.from(k)));
    keys.forEach((key, i) => {
      const value = values[i];
      stored.set(key, value);
      // Read-through, as get() does (a decided order delivered again is read next).
      const id = parseId64(key);
      if (value !== undefined && id !== undefined && this.#state === 'RUNNING' && this.#tableProcessor.processed === processed) this.#cache?.fill(id, value);
    });
    return { creations, stored };
  }

  /**
   * The newest value of an order above RocksDB: the cache (newer than anything below
   * it), then the writes pending and prepared. null: deleted; undefined: ask RocksDB.
   */
  #pending(key: string): Uint8Array | null | undefined {
    // Not an order id (parseId64): it can be in no slice, the table refuses such keys.
    const id = parseId64(key);
    const cached = id === undefined ? undefined : this.#cache?.peek(id);
    if (cached !== undefined) return cached;
    for (const w of [this.#table.writes, this.#table.prepared]) {
      if (w?.map.has(key)) return w.map.get(key) ?? null;
    }
    return undefined;
  }

  async #settleDecisions(outputs: OutputRecord[], from: number, timestamp: number): Promise<number> {
    let dropped = 0;
    for (let i = from; i < outputs.length; ) {
      const o = outputs[i]!;
      if (o.topic !== TOPIC_ORDERS || o.partition !== this.partition || o.value === null) {
        i++;
        continue;
      }
      if (await this.#decided(o.key)) {
        outputs.splice(i, 1);
        dropped++;
        continue;
      }
      this.#tableProcessor.process({ topic: TOPIC_ORDERS, offset: -1, key: o.key, value: o.value, timestamp }, outputs, this.#table.writes);
      i++;
    }
    return dropped;
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

  /**
   * Checkpoint writes one at a time. A restore's periodic write and a close can overlap
   * on the stream thread (a close arrives while a restore batch is being written); both
   * wrote `.checkpoint.tmp` and renamed it, and the second rename failed (ENOENT), which
   * stopped an instance in a clean-clone CI run of the cluster fault test.
   */
  #checkpointing: Promise<void> = Promise.resolve();

  #writeCheckpoint(now: number): Promise<void> {
    const next = this.#checkpointing.then(() => this.#writeCheckpointNow(now));
    this.#checkpointing = next.catch(() => undefined);
    return next;
  }

  async #writeCheckpointNow(now: number): Promise<void> {
    const checkpoint = await readCheckpoint(this.dir);
    for (const [k, offset] of this.#checkpointDue) checkpoint.set(k, offset);
    await writeCheckpoint(this.dir, checkpoint);
    this.#checkpointDue.clear();
    this.#sinceCheckpoint = 0;
    this.#lastCheckpoint = now;
  }

  /** The latest committed-or-pending value of an order in orders-store. */
  async get(key: string): Promise<Uint8Array | undefined> {
    // The layers above RocksDB first (#pending). The HTTP thread's reader already
    // counted this query.
    const pending = this.#pending(key);
    if (pending !== undefined) return pending ?? undefined;
    const id = parseId64(key);
    const processed = this.#tableProcessor.processed;
    const value = await this.#table.db.get(Buffer.from(key));
    // Read-through: the next read of this order is answered by the HTTP thread from
    // shared memory. Only if nothing was processed meanwhile (a newer value may have
    // come and gone through the cache while the store was read) and the task still runs.
    if (value !== undefined && this.#state === 'RUNNING' && this.#tableProcessor.processed === processed && id !== undefined) this.#cache?.fill(id, value);
    return value ?? undefined;
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
