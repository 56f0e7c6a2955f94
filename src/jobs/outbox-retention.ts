// Sent outbox rows are removed once past OUTBOX_RETENTION_MS: deleted, or moved to
// outbox_archive (Spring Modulith's delete and archive completion modes).
//
// Which rows may go: only rows certainly published and out of every recovery's reach.
// A row leaves outbox_pending only after the broker acknowledged its record, or after a
// recovery found that record on the topic (src/db/outbox-relay.ts, outbox-recovery.ts);
// recovery itself reads and settles only pending rows and their claims, and the claim
// step only looks at pending rows. So a row neither pending nor claimed is never needed
// again; the retention (at least OUTBOX_LEASE_MS, checked in config.ts) adds that no
// claim-era settlement can still be running on it. Pending and claimed rows are never
// touched. Outbox rows are never updated, so their age is their creation's: a row sent
// long after it was written (a long broker outage) may go soon after it was sent.
//
// Bounded: statements of `batchSize` rows, each its own short transaction (no long
// lock, no huge WAL burst, autovacuum keeps up), up to `maxRowsPerRun` per run. SKIP
// LOCKED leaves rows another statement is on to it.
import type pg from 'pg';
import type { OutboxRetentionMode } from '../config.js';
import type { JobResult, ScheduledJob } from './scheduled-job.js';

export const OUTBOX_RETENTION_JOB = 'outbox-retention';

export interface OutboxRetentionOptions {
  readonly mode: OutboxRetentionMode;
  readonly periodMs: number;
  readonly retentionMs: number;
  readonly batchSize: number;
  readonly maxRowsPerRun: number;
}

// Oldest first, along the primary key (ids grow with created_at).
const EXPIRED = `
  select o.id from outbox o
   where o.created_at < now() - make_interval(secs => $1::float8 / 1000)
     and not exists (select 1 from outbox_pending p where p.outbox_id = o.id)
     and not exists (select 1 from outbox_claims c where c.outbox_id = o.id)
   order by o.id
   limit $2
     for update of o skip locked`;

const DELETE = `
  with expired as (${EXPIRED})
  delete from outbox where id in (select id from expired)`;

const ARCHIVE = `
  with expired as (${EXPIRED}), moved as (
    delete from outbox where id in (select id from expired)
    returning id, aggregate_id, topic, event_key, payload, created_at
  )
  insert into outbox_archive (id, aggregate_id, topic, event_key, payload, created_at)
  select * from moved
  on conflict (id) do nothing`;

/** One run: removes (or archives) expired rows in bounded statements; returns how many. */
export async function removeExpiredOutboxRows(pool: pg.Pool, options: Omit<OutboxRetentionOptions, 'periodMs'>): Promise<number> {
  const sql = options.mode === 'archive' ? ARCHIVE : DELETE;
  let removed = 0;
  while (removed < options.maxRowsPerRun) {
    const limit = Math.min(options.batchSize, options.maxRowsPerRun - removed);
    const { rowCount } = await pool.query(sql, [options.retentionMs, limit]);
    removed += rowCount ?? 0;
    if ((rowCount ?? 0) < limit) break;
  }
  return removed;
}

export function outboxRetentionJob(pool: pg.Pool, options: OutboxRetentionOptions): ScheduledJob {
  return {
    name: OUTBOX_RETENTION_JOB,
    periodMs: options.periodMs,
    async run(): Promise<JobResult> {
      const removed = await removeExpiredOutboxRows(pool, options);
      return options.mode === 'archive' ? { archived: removed } : { deleted: removed };
    },
  };
}
