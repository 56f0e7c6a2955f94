// The cluster-wide record of each scheduled job (table job_status): written by the
// instance that ran it at the end of each run, read by GET /api/jobs on any instance.
import type pg from 'pg';
import type { JobResult } from './scheduled-job.js';

export interface RunRecord {
  readonly name: string;
  readonly instanceId: string;
  readonly startedAt: Date;
  readonly result: JobResult | undefined;
  /** Set when the run failed. */
  readonly error: string | undefined;
}

export interface JobStatusRow {
  readonly name: string;
  readonly runs: number;
  readonly failures: number;
  readonly lastStartedAt: string | null;
  readonly lastFinishedAt: string | null;
  readonly lastInstance: string | null;
  readonly lastOutcome: 'completed' | 'failed' | null;
  readonly lastResult: JobResult | null;
  readonly lastError: string | null;
  /** Counts summed over every run. */
  readonly totals: JobResult;
}

// Totals add key by key: jsonb_each over both sides, summed.
const RECORD = `
  insert into job_status as s (name, runs, failures, last_started_at, last_finished_at, last_instance, last_outcome, last_result, last_error, totals)
  values ($1, 1, $2, $3, now(), $4, $5, $6::jsonb, $7, coalesce($6::jsonb, '{}'::jsonb))
  on conflict (name) do update set
    runs = s.runs + 1,
    failures = s.failures + excluded.failures,
    last_started_at = excluded.last_started_at,
    last_finished_at = excluded.last_finished_at,
    last_instance = excluded.last_instance,
    last_outcome = excluded.last_outcome,
    last_result = coalesce(excluded.last_result, s.last_result),
    last_error = excluded.last_error,
    totals = coalesce((select jsonb_object_agg(k, v) from (
               select k, sum(v::numeric) as v from (
                 select key as k, value as v from jsonb_each_text(s.totals)
                 union all
                 select key, value from jsonb_each_text(excluded.totals)) as both_sides
               group by k) as summed), '{}'::jsonb)`;

export async function recordRun(pool: pg.Pool, run: RunRecord): Promise<void> {
  await pool.query(RECORD, [
    run.name,
    run.error === undefined ? 0 : 1,
    run.startedAt,
    run.instanceId,
    run.error === undefined ? 'completed' : 'failed',
    run.result === undefined ? null : JSON.stringify(run.result),
    run.error ?? null,
  ]);
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export async function readJobStatus(pool: pg.Pool): Promise<JobStatusRow[]> {
  const { rows } = await pool.query<{
    name: string;
    runs: number;
    failures: number;
    last_started_at: Date | null;
    last_finished_at: Date | null;
    last_instance: string | null;
    last_outcome: 'completed' | 'failed' | null;
    last_result: JobResult | null;
    last_error: string | null;
    totals: JobResult;
  }>('select * from job_status order by name');
  return rows.map((r) => ({
    name: r.name,
    runs: r.runs,
    failures: r.failures,
    lastStartedAt: iso(r.last_started_at),
    lastFinishedAt: iso(r.last_finished_at),
    lastInstance: r.last_instance,
    lastOutcome: r.last_outcome,
    lastResult: r.last_result,
    lastError: r.last_error,
    totals: r.totals,
  }));
}
