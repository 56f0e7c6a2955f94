// The outbox relay: publishes outbox rows to Kafka, each once, even across a crash. It
// runs in the kafka thread; each batch takes two short autocommitted statements around
// its send (no transaction is held open while waiting for the broker), and the steps
// of consecutive batches overlap (#publishAll):
//
//   claim   pending rows (outbox_pending) nobody holds: a row in outbox_claims (this
//           instance, now()) for each
//   send    each record with its row id in the `outbox-id` header; wait for the acks,
//           which say where each record landed
//   mark    the batch's pending entries and claims dropped, and this instance's
//           confirmed position per partition moved to the offset after its last
//           record, in one statement
//
// A crash (or a failed send or mark) between claim and mark leaves orphans: claimed
// rows whose records may or may not be on the topic. Before anything else, the next
// pass (or the restarted process: INSTANCE_ID is stable per pod) reads the topic from
// its confirmed positions to the end, marks the orphans found there and releases the
// others to be sent again (src/db/outbox-recovery.ts). Orphans of another instance
// are settled the same way, by any instance, once their lease has expired. Several
// instances share the work: a claim skips rows another claim is taking (SKIP LOCKED)
// and rows already claimed.
//
// The lease: another instance may settle a claim once it is older than `leaseMs`, so
// this instance must be done with a claim by then. It sends a batch only if the claim
// is younger than leaseMs - deliveryTimeoutMs - slack (measured from before the claim
// statement was sent, which bounds the time since claimed_at from above): every record
// is then acknowledged or failed before the lease ends. A batch too old to send is
// left claimed and settled by the next pass like any orphan.
import type pg from 'pg';
import { EngineError } from '../errors.js';
import type { OutgoingRecord, Delivery } from '../kafka/producer.js';
import type { Logger } from '../logger.js';
import type { OutboxDoorbell } from './outbox-doorbell.js';
import { initialPositions, nextOffsets, OUTBOX_ID_HEADER, type PartitionOffset } from './outbox-positions.js';
import { recoverOrphans, type OutboxLog } from './outbox-recovery.js';
import { isUnavailable } from './pool.js';
import type { TableVacuum } from './table-vacuum.js';

export interface OutboxPublisher {
  deliverAll(records: readonly OutgoingRecord[]): Promise<readonly Delivery[]>;
}

export interface OutboxRelayOptions {
  /** This instance's stable id (INSTANCE_ID): owner of its claims and positions across restarts. */
  readonly instanceId: string;
  /** The topics outbox rows go to: positions are set up on them before the first claim. */
  readonly topics: readonly string[];
  readonly batchSize: number;
  /** Poll even without wake-ups, for rows written by other instances or before a crash. */
  readonly pollMs: number;
  /**
   * Positions of another instance not moved for this long are forgotten (a pod gone for
   * good). Sent rows themselves are removed by the outbox retention job (src/jobs/).
   */
  readonly positionsRetentionMs: number;
  /** A claim older than this may be settled by another instance. */
  readonly leaseMs: number;
  /** The producer's message timeout: a record is acknowledged or failed within it. */
  readonly deliveryTimeoutMs: number;
}

export interface OutboxStats {
  published: number;
  batches: number;
  failures: number;
  lastError: string | undefined;
  /** Orphan settlements run (own restart or failure, or another instance's expired lease). */
  recoveries: number;
  /** Rows found claimed and never marked. */
  orphansFound: number;
  /** Orphans whose record was already on the topic: marked without sending again. */
  orphansLanded: number;
  /** Orphans not on the topic: released and published again. */
  orphansRepublished: number;
}

interface OutboxRow {
  id: number;
  topic: string;
  event_key: string;
  payload: string;
}

/**
 * A claimed id: its outbox row, or nulls when the row is gone while still pending (an
 * operator or a test deleted it): nothing to send, and its pending entry and claim are
 * dropped with the batch's mark.
 */
type ClaimedRow = OutboxRow | { id: number; topic: null; event_key: null; payload: null };

const sendable = (row: ClaimedRow): row is OutboxRow => row.topic !== null;

interface Claim {
  readonly rows: readonly ClaimedRow[];
  /** performance.now() before the claim statement was sent: the claim is at most this old. */
  readonly asked: number;
}

const toRecord = (r: OutboxRow): OutgoingRecord => ({
  topic: r.topic,
  key: r.event_key,
  value: Buffer.from(r.payload),
  headers: [{ [OUTBOX_ID_HEADER]: String(r.id) }],
});

// Promises of the pipeline that are awaited later: settled at once, so a rejection is
// never unhandled while another step is awaited.
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
const unwrap = <T>(s: Settled<T>): T => {
  if (!s.ok) throw s.error;
  return s.value;
};

// Claims the oldest rows nobody holds. SKIP LOCKED lets another instance's claim, in
// flight at the same moment, take the next rows instead of waiting; the claim's key
// settles the race in which a row was locked and claimed just before this statement's
// snapshot saw the claim (on conflict: not this instance's). Rows with a claim stay out
// of every claim until a recovery settles them: re-claiming an expired claim directly
// would resend rows whose records may already be on the topic.
// The claimed ids are read once (a few batches) rather than anti-joined: with the claims
// table's statistics swinging between empty and a batch, the planner chose a hash
// anti-join over the whole backlog (280 ms per claim instead of 12 ms), and a per-row
// probe got a cost estimate high enough for JIT (60 ms of compiling). NOT IN over a
// subquery is never turned into a join: Postgres hashes the ids once (a hashed SubPlan)
// and the pending rows are still read in order from their key. An array compared with
// `<> all` was scanned whole for every pending row read: with 500 claims in flight, a
// 500-row claim took 3.5 ms instead of 0.9. outbox_id is the key, never null, so NOT IN
// has no null to trip on. Only claims from the oldest pending row on are read.
const CLAIM = `
  with picked as (
    select outbox_id as id from outbox_pending
     where outbox_id not in (select outbox_id from outbox_claims
                              where outbox_id >= (select min(outbox_id) from outbox_pending))
     order by outbox_id limit $2
       for update skip locked
  ), claimed as (
    insert into outbox_claims (outbox_id, claimed_by)
    select id, $1 from picked
    on conflict (outbox_id) do nothing
    returning outbox_id
  )
  select c.outbox_id as id, o.topic, o.event_key, o.payload
    from claimed c left join outbox o on o.id = c.outbox_id
   order by c.outbox_id`;

// One statement, so the rows, their claims and the position move together or not at all.
// A row is published once its entry in outbox_pending is gone; the outbox row itself is
// never updated (src/db/migrations/004_outbox_pending.sql). A claim is dropped only
// after its pending entry is (the second delete reads the first's output): a concurrent
// claim that saw the entry unclaimed in an older snapshot and locked it then meets the
// claim still live, not a deleted one whose deleter it would wait for while that
// deleter waits for its row lock (a deadlock, seen with two relays). Rows completed by
// someone else meanwhile had their claims dropped by them.
const MARK = `
  with done as (
    delete from outbox_pending where outbox_id = any($1::bigint[])
    returning outbox_id as id
  ), unclaimed as (
    delete from outbox_claims where outbox_id in (select id from done)
  )
  insert into outbox_relay_positions (instance_id, topic, partition, next_offset)
  select $2, t, p, o from unnest($3::text[], $4::int[], $5::bigint[]) as x (t, p, o)
  on conflict (instance_id, topic, partition) do update
    set next_offset = greatest(outbox_relay_positions.next_offset, excluded.next_offset), updated_at = now()`;

// Owners with claims past their lease (not this instance: its own orphans are settled
// before each claim).
const EXPIRED_OWNERS = `
  select distinct claimed_by as owner from outbox_claims
   where claimed_by <> $1 and claimed_at < now() - make_interval(secs => $2::float8 / 1000)`;

const MOVE_POSITIONS = `
  insert into outbox_relay_positions (instance_id, topic, partition, next_offset)
  select $1, t, p, o from unnest($2::text[], $3::int[], $4::bigint[]) as x (t, p, o)
  on conflict (instance_id, topic, partition) do update
    set next_offset = greatest(outbox_relay_positions.next_offset, excluded.next_offset), updated_at = now()`;

const INIT_POSITIONS = `
  insert into outbox_relay_positions (instance_id, topic, partition, next_offset)
  select $1, t, p, o from unnest($2::text[], $3::int[], $4::bigint[]) as x (t, p, o)
  on conflict do nothing`;

/** The columns of a positions upsert. */
const positionColumns = (positions: readonly PartitionOffset[]): [string[], number[], number[]] => [
  positions.map((p) => p.topic),
  positions.map((p) => p.partition),
  positions.map((p) => p.offset),
];

export class OutboxRelay {
  readonly #pool: pg.Pool;
  readonly #publisher: OutboxPublisher;
  readonly #topics: OutboxLog;
  readonly #options: OutboxRelayOptions;
  readonly #log: Logger;
  /** Send a claimed batch only this long after the claim was asked for. */
  readonly #sendWindowMs: number;
  /** Look for other instances' expired claims this often. */
  readonly #orphanCheckMs: number;
  readonly stats: OutboxStats = {
    published: 0,
    batches: 0,
    failures: 0,
    lastError: undefined,
    recoveries: 0,
    orphansFound: 0,
    orphansLanded: 0,
    orphansRepublished: 0,
  };
  #running = false;
  #draining: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #positioned = false;
  /** Where committers announce new rows (src/db/outbox-doorbell.ts); none in tests that call wake(). */
  readonly #bell: OutboxDoorbell | undefined;
  readonly #vacuum: TableVacuum | undefined;
  /**
   * True from a claim until its mark, and at start: rows of this instance may be
   * claimed and unmarked, so they are settled before the next claim. A next batch
   * marked first would move the positions past their records.
   */
  #recoverOwn = true;
  #lastOrphanCheck = 0;
  #lastAdvance = 0;
  #lastPurge = 0;

  /** `vacuum`: told of every row completed (src/db/table-vacuum.ts). */
  constructor(pool: pg.Pool, publisher: OutboxPublisher, topics: OutboxLog, options: OutboxRelayOptions, log: Logger, bell?: OutboxDoorbell, vacuum?: TableVacuum) {
    this.#pool = pool;
    this.#bell = bell;
    this.#vacuum = vacuum;
    this.#publisher = publisher;
    this.#topics = topics;
    this.#options = options;
    this.#log = log;
    this.#sendWindowMs = options.leaseMs - options.deliveryTimeoutMs - Math.max(1000, options.leaseMs / 10);
    if (this.#sendWindowMs <= 0) {
      throw new EngineError(
        'ORD_ERR_CONFIG',
        `outbox lease (${options.leaseMs} ms) too short for a delivery timeout of ${options.deliveryTimeoutMs} ms: a claim could expire while its records are in flight`,
      );
    }
    this.#orphanCheckMs = Math.min(Math.max(options.pollMs, options.leaseMs / 4), 15_000);
  }

  start(): void {
    this.#running = true;
    this.wake();
    this.#timer = setInterval(() => this.wake(), this.#options.pollMs);
  }

  /** Asks for a drain; concurrent wake-ups coalesce into one more pass. */
  wake(): void {
    if (!this.#running) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    const mark = this.#bell?.begin();
    this.#draining = this.#drain().then((ok) => {
      this.#draining = undefined;
      // Rows committed during the pass were announced on the doorbell, not by wake():
      // look once more. Not after a failed pass: the poll (or the next commit, the relay
      // being idle again) retries it, rather than a loop against a broken dependency.
      const announced = mark !== undefined && this.#bell!.end(mark) && ok && this.#running;
      if (this.#again || announced) {
        this.#again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    await this.#draining;
    await this.#vacuum?.idle();
  }

  /** One pass; false when it failed (logged and counted here). */
  async #drain(): Promise<boolean> {
    try {
      if (!this.#positioned) {
        await this.#initPositions();
        this.#positioned = true;
      }
      // Another instance is settling this one's claims right now: not done, not failed.
      if (this.#recoverOwn && !(await this.#recover(this.#options.instanceId, true))) return false;
      await this.#maybeRecoverOthers();
      if ((await this.#publishAll()) === 0) await this.#maybeAdvance();
      await this.#maybePurge();
      return true;
    } catch (err) {
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      // Rows stay pending or claimed; the next wake-up or poll settles and retries them.
      this.#log.warn({ err, unavailable: isUnavailable(err) }, 'outbox relay pass failed; will retry');
      return false;
    }
  }

  /**
   * Publishes until a claim comes back short, pipelined: while batch k is being sent,
   * batch k+1 is claimed and batch k-1 marked, so a batch costs the slowest of the
   * three rather than their sum. What keeps it exact: batch k+1 is produced only after
   * batch k was acknowledged, so on every partition its records lie past batch k's,
   * and marks run in batch order: a mark never moves a position past the records of
   * an unmarked batch. Returns how many rows it published.
   */
  async #publishAll(): Promise<number> {
    this.#recoverOwn = true; // a claim that commits but whose answer is lost leaves orphans too
    const { batchSize } = this.#options;
    let published = 0;
    let next: Promise<Settled<Claim>> | undefined = settle(this.#claim());
    let marking: Promise<Settled<number>> = Promise.resolve({ ok: true, value: 0 });
    try {
      while (next !== undefined) {
        const batch = unwrap(await next);
        next = undefined;
        if (batch.rows.length === 0) break;
        const age = performance.now() - batch.asked;
        if (age > this.#sendWindowMs) {
          this.#log.warn({ rows: batch.rows.length, claimMs: Math.round(age), sendWindowMs: this.#sendWindowMs }, 'outbox claim too old to send safely; settling it first');
          published += unwrap(await marking);
          return published; // the claim stays an orphan of this instance, settled by the next pass
        }
        const sending = this.#publisher.deliverAll(batch.rows.filter(sendable).map(toRecord));
        if (this.#running && batch.rows.length === batchSize) next = settle(this.#claim());
        const deliveries = await sending;
        published += unwrap(await marking);
        marking = settle(this.#mark(batch.rows, deliveries));
      }
      published += unwrap(await marking);
      this.#recoverOwn = false;
      return published;
    } finally {
      // On a failure, what is still in flight settles before the pass ends: a claim or
      // a mark committing after the next pass listed the orphans would go unseen.
      await Promise.all([next, marking]);
    }
  }

  async #claim(): Promise<Claim> {
    const asked = performance.now();
    // Named, like the mark: each connection parses and plans them once. Planned per
    // call, the claim's planning took longer than its run (0.7-1.0 ms against 0.3-0.5
    // in EXPLAIN ANALYZE). The plan Postgres then keeps reads the pending ids in key
    // order under the limit, whatever the backlog (docs/performance.md).
    const { rows } = await this.#pool.query<ClaimedRow>({ name: 'outbox-claim', text: CLAIM, values: [this.#options.instanceId, this.#options.batchSize] });
    return { rows, asked };
  }

  async #mark(rows: readonly ClaimedRow[], deliveries: readonly Delivery[]): Promise<number> {
    await this.#pool.query({ name: 'outbox-mark', text: MARK, values: [rows.map((r) => r.id), this.#options.instanceId, ...positionColumns(nextOffsets(deliveries))] });
    this.stats.published += deliveries.length;
    this.stats.batches++;
    this.#vacuum?.note(rows.length);
    return deliveries.length;
  }

  /** Settles one owner's orphans; false when another instance is settling them right now. */
  async #recover(owner: string, self: boolean): Promise<boolean> {
    const result = await recoverOrphans(this.#pool, this.#topics, { owner, self, leaseMs: this.#options.leaseMs }, this.#log);
    if (result === undefined) return false;
    if (self) this.#recoverOwn = false;
    if (result.orphans > 0) {
      this.stats.recoveries++;
      this.stats.orphansFound += result.orphans;
      this.stats.orphansLanded += result.landed;
      this.stats.orphansRepublished += result.released;
    }
    return true;
  }

  async #maybeRecoverOthers(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastOrphanCheck < this.#orphanCheckMs) return;
    this.#lastOrphanCheck = now;
    const { rows } = await this.#pool.query<{ owner: string }>(EXPIRED_OWNERS, [this.#options.instanceId, this.#options.leaseMs]);
    for (const { owner } of rows) {
      this.#log.warn({ owner, leaseMs: this.#options.leaseMs }, 'outbox claims of another instance expired; settling them');
      await this.#recover(owner, false);
    }
  }

  /**
   * Before the first claim: a position on every partition this instance has none for,
   * so a scan for its orphans always has a starting point.
   */
  async #initPositions(): Promise<void> {
    const existing = (
      await this.#pool.query<PartitionOffset>('select topic, partition, next_offset as "offset" from outbox_relay_positions where instance_id = $1', [
        this.#options.instanceId,
      ])
    ).rows;
    for (const topic of this.#options.topics) {
      const missing = initialPositions(existing, await this.#topics.watermarks(topic));
      if (missing.length > 0) await this.#pool.query(INIT_POSITIONS, [this.#options.instanceId, ...positionColumns(missing)]);
    }
  }

  /**
   * While idle (nothing claimed, nothing to settle), moves the positions to the end of
   * each partition: a partition this instance has not sent to for a while would
   * otherwise make the scan after its next crash read everything since.
   */
  async #maybeAdvance(): Promise<void> {
    const now = Date.now();
    // Only between batches with nothing to settle (the drain is single-flight, so no
    // claim starts meanwhile): every record this instance sent is then marked.
    if (this.#recoverOwn || now - this.#lastAdvance < 30_000) return;
    this.#lastAdvance = now;
    for (const topic of this.#options.topics) {
      const ends = (await this.#topics.watermarks(topic)).map((w) => ({ topic, partition: w.partition, offset: w.high }));
      await this.#pool.query(MOVE_POSITIONS, [this.#options.instanceId, ...positionColumns(ends)]);
    }
  }

  async #maybePurge(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPurge < 60_000) return;
    this.#lastPurge = now;
    // Positions of instances gone for good (pod names of a Deployment change): only
    // once they have no claim left to settle, and never this instance's. A live
    // instance refreshes its positions at least every 30 s (marks, or idle advances).
    await this.#pool.query(
      `delete from outbox_relay_positions p
        where p.instance_id <> $2
          and p.instance_id in (select instance_id from outbox_relay_positions
                                 group by instance_id having max(updated_at) < now() - make_interval(secs => $1))
          and not exists (select 1 from outbox_claims c where c.claimed_by = p.instance_id)`,
      [this.#options.positionsRetentionMs / 1000, this.#options.instanceId],
    );
  }
}
