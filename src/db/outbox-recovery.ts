// Settles the orphans of one relay instance: outbox rows it claimed and never marked
// completed, because it crashed, its send or its mark failed, or it stalled past its
// lease. Each orphan's record may or may not be on the topic. Re-sending all of them
// is what made the relay at-least-once (a kill between the broker's ack and the mark
// published those orders twice); this reads the owner's tail of the topic instead:
//
//   1. lock the owner (advisory lock: one recovery per owner at a time, in any instance)
//   2. list its orphans (all its claims when it is this instance restarting or failing;
//      only claims past the lease when it is another instance, which may be alive)
//   3. snapshot the high watermarks, then read each partition from the owner's
//      confirmed position to that snapshot and collect the outbox-id headers
//   4. in one statement: mark published (drop the outbox_pending entry of) every
//      pending row whose record was found (id and key both match), release the orphans not found (drop their claims, so the
//      next claim publishes them), and move the owner's positions to the snapshot
//
// Why it is exact: the owner produces a batch only once the previous one was
// acknowledged, and marks batches in order, so every record it sent for a row still
// pending lies past its confirmed position (OutboxRelay.#publishAll); an
// owner that is another live instance sends nothing after its claim's lease minus its
// delivery timeout (see OutboxRelay), so its orphans' records, if any, are below the
// snapshot taken after they were listed. Found rows of *other* owners are marked too:
// a record on the topic is proof of publication, and moving the owner's positions past
// the snapshot is only safe if nothing found below it stays pending.
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { tailRanges, type PartitionOffset, type ScanRange, type Watermarks } from './outbox-positions.js';

/** The topic side of a recovery: watermarks and a scan of partition tails. */
export interface OutboxLog {
  watermarks(topic: string): Promise<readonly Watermarks[]>;
  /** Outbox id → record key, for every record in the ranges that carries an outbox-id header. */
  findOutboxIds(ranges: readonly ScanRange[]): Promise<ReadonlyMap<number, string>>;
}

export interface RecoveryResult {
  /** Rows the owner claimed and never marked. */
  readonly orphans: number;
  /** Orphans whose record was found on the topic: marked, not sent again. */
  readonly landed: number;
  /** Orphans not found: released to be published again. */
  readonly released: number;
  /** The tails read from the topic. */
  readonly scannedRanges: readonly ScanRange[];
}

// Advisory locks are (int4, int4): this constant class, and hashtext(owner). Two
// owners with the same hash only wait for each other.
const RECOVERY_LOCK_CLASS = 730_241_855; // arbitrary, constant: "outbox recovery"

const ORPHANS = `
  select c.outbox_id as id, o.topic from outbox_claims c
    join outbox_pending p on p.outbox_id = c.outbox_id
    join outbox o on o.id = c.outbox_id
   where c.claimed_by = $1
     and ($2::boolean or c.claimed_at < now() - make_interval(secs => $3::float8 / 1000))
   order by c.outbox_id`;

const SETTLE = `
  with found (id, event_key) as (
    select * from unnest($1::bigint[], $2::text[])
  ), landed as (
    delete from outbox_pending p
     using found f, outbox o
     where p.outbox_id = f.id and o.id = f.id and o.event_key = f.event_key
    returning p.outbox_id as id
  ), unclaimed as (
    delete from outbox_claims
     where outbox_id in (select id from landed)
        or (outbox_id = any($3::bigint[]) and claimed_by = $4)
    returning outbox_id
  ), moved as (
    insert into outbox_relay_positions (instance_id, topic, partition, next_offset)
    select $4, t, p, o from unnest($5::text[], $6::int[], $7::bigint[]) as x (t, p, o)
    on conflict (instance_id, topic, partition) do update
      set next_offset = greatest(outbox_relay_positions.next_offset, excluded.next_offset), updated_at = now()
  )
  select (select count(*) from landed where id = any($3::bigint[]))::int as landed,
         (select count(*) from unclaimed where outbox_id = any($3::bigint[]) and outbox_id not in (select id from landed))::int as released`;

export interface RecoverOptions {
  /** The instance whose orphans to settle. */
  readonly owner: string;
  /** True when the owner is this instance between batches: every claim of it is an orphan. */
  readonly self: boolean;
  readonly leaseMs: number;
}

/** Settles the owner's orphans; undefined when another recovery of this owner holds the lock. */
export async function recoverOrphans(pool: pg.Pool, topics: OutboxLog, options: RecoverOptions, log: Logger): Promise<RecoveryResult | undefined> {
  const { owner } = options;
  const client = await pool.connect();
  let locked = false;
  try {
    locked = (await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [RECOVERY_LOCK_CLASS, owner])).rows[0]!.ok;
    if (!locked) return undefined;
    const orphans = (await client.query<{ id: number; topic: string }>(ORPHANS, [owner, options.self, options.leaseMs])).rows;
    if (orphans.length === 0) return { orphans: 0, landed: 0, released: 0, scannedRanges: [] };
    log.info({ owner, orphans: orphans.length }, 'outbox recovery: orphans found, reading the owner’s tail of the topic');

    // The watermarks are read after the orphans are listed: whatever the owner sent for
    // them was acknowledged or failed before, so it lies below this snapshot.
    const positions = (
      await client.query<PartitionOffset>(
        'select topic, partition, next_offset as "offset" from outbox_relay_positions where instance_id = $1',
        [owner],
      )
    ).rows;
    const ranges: ScanRange[] = [];
    for (const topic of new Set(orphans.map((o) => o.topic))) {
      const plan = tailRanges(positions, await topics.watermarks(topic));
      if (plan.unpositioned.length > 0) log.warn({ owner, partitions: plan.unpositioned }, 'outbox recovery: no confirmed position, reading from the start');
      if (plan.truncated.length > 0) log.warn({ owner, partitions: plan.truncated }, 'outbox recovery: records past the position were deleted by retention; orphans sent there are published again');
      ranges.push(...plan.ranges);
    }
    const found = await topics.findOutboxIds(ranges);

    // Only claimed rows can have a record on the topic and still be pending (a row is
    // sent only under a claim, and a claim is dropped only once its row is completed or
    // known not sent); this keeps the statement small after a long scan.
    const pending = new Set((await client.query<{ id: number }>('select outbox_id as id from outbox_claims')).rows.map((r) => r.id));
    const ids: number[] = [];
    const keys: string[] = [];
    for (const [id, key] of found) {
      if (pending.has(id)) {
        ids.push(id);
        keys.push(key);
      }
    }
    const { rows } = await client.query<{ landed: number; released: number }>(SETTLE, [
      ids,
      keys,
      orphans.map((o) => o.id),
      owner,
      ranges.map((r) => r.topic),
      ranges.map((r) => r.partition),
      ranges.map((r) => r.to),
    ]);
    const result = { orphans: orphans.length, landed: rows[0]!.landed, released: rows[0]!.released, scannedRanges: ranges };
    // Which orphans were released and where the scan looked: a released orphan that was
    // on the topic after all is published twice, and these say where to look for it.
    const landedIds = new Set(ids);
    const releasedIds = orphans.filter((o) => !landedIds.has(o.id)).map((o) => o.id);
    log.info(
      {
        owner,
        orphans: result.orphans,
        landed: result.landed,
        released: result.released,
        records: found.size,
        releasedIds: releasedIds.slice(0, 20),
        ranges: ranges.map((r) => `${r.topic}-${r.partition}:${r.from}..${r.to}`),
      },
      'outbox recovery: done',
    );
    return result;
  } finally {
    // A connection that cannot unlock is destroyed, which ends its session and so the lock.
    let broken: Error | undefined;
    if (locked) await client.query('select pg_advisory_unlock($1, hashtext($2))', [RECOVERY_LOCK_CLASS, owner]).catch((err: Error) => (broken = err));
    client.release(broken);
  }
}
