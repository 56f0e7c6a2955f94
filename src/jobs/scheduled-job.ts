// What the scheduler (src/jobs/job-scheduler.ts) runs: a named piece of bounded work
// with a period. Runs on the kafka (main) thread; each run happens on one instance.

/** What a run did, as counts (rows removed, orders republished...). */
export type JobResult = Readonly<Record<string, number>>;

export interface ScheduledJob {
  /** Stable name: the pg-boss queue (prefixed with APPLICATION_ID), job_status and metric labels. */
  readonly name: string;
  /** One run per period across all instances; whole seconds. */
  readonly periodMs: number;
  /** One run; bounded work. A rejection is a failed run (recorded, retried at the next period). */
  run(): Promise<JobResult>;
  /**
   * Measured on every instance once per period, whoever runs the job: gauges (such as
   * the orders still stuck) that every instance can report alike.
   */
  observe?(): Promise<JobResult>;
}
