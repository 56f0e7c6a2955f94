// Prometheus metrics of the scheduled jobs, read at scrape time from the stats the
// kafka thread sends the HTTP thread (src/jobs/job-scheduler.ts). Each run happens on
// one instance, so counters are per instance: sum them over instances.
import client from 'prom-client';
import type { JobStats } from './job-scheduler.js';
import { OUTBOX_RETENTION_JOB } from './outbox-retention.js';
import { STUCK_ORDERS_JOB } from './republish-stuck-orders.js';

export function registerJobMetrics(registry: client.Registry, read: () => readonly JobStats[] | undefined): void {
  const byJob = (name: string, help: string, value: (s: JobStats) => number): void => {
    new client.Counter({
      name,
      help,
      labelNames: ['job'],
      registers: [registry],
      collect() {
        const stats = read();
        if (stats === undefined) return;
        this.reset();
        for (const s of stats) this.inc({ job: s.name }, value(s));
      },
    });
  };
  byJob('scheduled_job_runs_total', 'Runs of each scheduled job made by this instance (each run happens on one instance)', (s) => s.runs);
  byJob('scheduled_job_failures_total', 'Runs of each scheduled job on this instance that failed (the next period runs it again)', (s) => s.failures);
  const total = (job: string, key: string) => (): number | undefined => {
    const s = read()?.find((j) => j.name === job);
    return s === undefined ? undefined : (s.totals[key] ?? 0);
  };
  const counter = (name: string, help: string, labels: Record<string, string>, value: () => number | undefined): void => {
    new client.Counter({
      name,
      help,
      labelNames: Object.keys(labels),
      registers: [registry],
      collect() {
        const v = value();
        if (v === undefined) return;
        this.reset();
        this.inc(labels, v);
      },
    });
  };
  counter('orders_republished_total', 'Orders still NEW past STUCK_ORDERS_AGE_MS published to orders again by this instance', {}, total(STUCK_ORDERS_JOB, 'republished'));
  new client.Counter({
    name: 'orders_outbox_retention_rows_total',
    help: 'Sent outbox rows past OUTBOX_RETENTION_MS removed by this instance, by mode (deleted or archived)',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      const s = read()?.find((j) => j.name === OUTBOX_RETENTION_JOB);
      if (s === undefined) return;
      this.reset();
      this.inc({ mode: 'deleted' }, s.totals.deleted ?? 0);
      this.inc({ mode: 'archived' }, s.totals.archived ?? 0);
    },
  });
  new client.Gauge({
    name: 'orders_stuck',
    help: 'Orders still NEW longer than STUCK_ORDERS_AGE_MS after creation (measured by every instance once per job period)',
    registers: [registry],
    collect() {
      const v = read()?.find((j) => j.name === STUCK_ORDERS_JOB)?.observed?.stuck;
      if (v !== undefined) this.set(v);
    },
  });
}
