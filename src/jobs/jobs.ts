// The service's scheduled jobs, built from the configuration: what service.ts starts, and
// what GET /api/jobs describes.
import type pg from 'pg';
import type { Config } from '../config.js';
import { OUTBOX_RETENTION_JOB, outboxRetentionJob } from './outbox-retention.js';
import { STUCK_ORDERS_JOB, stuckOrdersJob } from './republish-stuck-orders.js';
import type { ScheduledJob } from './scheduled-job.js';

export interface JobHooks {
  /** Stuck orders were republished: their outbox rows are committed. */
  readonly onRepublished?: (orders: number) => void;
}

export function createJobs(config: Config, pool: pg.Pool, hooks: JobHooks = {}): ScheduledJob[] {
  return [
    stuckOrdersJob(pool, {
      periodMs: config.stuckOrdersPeriodMs,
      ageMs: config.stuckOrdersAgeMs,
      batchSize: config.stuckOrdersBatchSize,
      ...(hooks.onRepublished === undefined ? {} : { onRepublished: hooks.onRepublished }),
    }),
    outboxRetentionJob(pool, {
      mode: config.outboxRetentionMode,
      periodMs: config.outboxRetentionPeriodMs,
      retentionMs: config.outboxRetentionMs,
      batchSize: config.outboxRetentionBatchSize,
      maxRowsPerRun: config.outboxRetentionMaxRowsPerRun,
    }),
  ];
}

/** Each job's settings, as GET /api/jobs shows them. */
export function jobSettings(config: Config): Record<string, Record<string, string | number>> {
  return {
    [STUCK_ORDERS_JOB]: { periodMs: config.stuckOrdersPeriodMs, ageMs: config.stuckOrdersAgeMs, batchSize: config.stuckOrdersBatchSize },
    [OUTBOX_RETENTION_JOB]: {
      periodMs: config.outboxRetentionPeriodMs,
      mode: config.outboxRetentionMode,
      retentionMs: config.outboxRetentionMs,
      batchSize: config.outboxRetentionBatchSize,
      maxRowsPerRun: config.outboxRetentionMaxRowsPerRun,
    },
  };
}
