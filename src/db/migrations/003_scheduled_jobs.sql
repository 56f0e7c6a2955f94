-- Scheduled jobs (src/jobs/): pg-boss (its own schema, pgboss) makes each run happen
-- once across all instances; this table keeps what operators ask about a job, whichever
-- instance ran it: GET /api/jobs reads it.
create table job_status (
  name              text primary key,
  runs              bigint not null default 0,
  failures          bigint not null default 0,
  last_started_at   timestamptz,
  last_finished_at  timestamptz,
  last_instance     text,
  -- 'completed' or 'failed'
  last_outcome      text,
  -- What the last run did (counts), as the job reports it.
  last_result       jsonb,
  last_error        text,
  -- Counts summed over every run (key by key).
  totals            jsonb not null default '{}'::jsonb
);

-- OUTBOX_RETENTION_MODE=archive moves sent outbox rows here (Spring Modulith's archive
-- completion mode) instead of deleting them. Nothing reads it but operators.
create table outbox_archive (
  id            bigint primary key,
  aggregate_id  bigint not null,
  topic         text not null,
  event_key     text not null,
  payload       text not null,
  created_at    timestamptz not null,
  completed_at  timestamptz not null,
  attempts      integer not null,
  archived_at   timestamptz not null default now()
);
create index outbox_archive_aggregate_idx on outbox_archive (aggregate_id);
