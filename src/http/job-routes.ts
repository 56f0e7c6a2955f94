// GET /api/jobs: the scheduled jobs (src/jobs/), what JobRunr's dashboard (port 28282
// in the original) shows, as JSON on the service's own port. Per job: its settings,
// the last run wherever it happened (table job_status), the next slot, and this
// instance's own runs and measurements. An operator endpoint: with API keys configured
// it takes an operator key (src/http/access/).
import type pg from 'pg';
import { dbError } from '../db/pool.js';
import type { JobStats } from '../jobs/job-scheduler.js';
import { readJobStatus } from '../jobs/job-status.js';
import { json } from './reply.js';
import type { HttpServer } from './server.js';

export interface JobRouteSources {
  readonly instanceId: string;
  readonly enabled: boolean;
  readonly settings: Record<string, Record<string, string | number>>;
  readonly pool: pg.Pool;
  /** This instance's scheduler, as last reported by the kafka thread. */
  local(): readonly JobStats[] | undefined;
}

const slotAfter = (now: number, periodMs: number): string => new Date((Math.floor(now / periodMs) + 1) * periodMs).toISOString();

export function registerJobRoutes(http: HttpServer, sources: JobRouteSources): void {
  http.route('get', '/api/jobs', async () => {
    const cluster = await readJobStatus(sources.pool).catch((err: unknown) => {
      throw dbError(err, 'read job status');
    });
    const local = sources.local();
    const now = Date.now();
    const jobs = Object.entries(sources.settings).map(([name, settings]) => {
      const mine = local?.find((j) => j.name === name);
      const last = cluster.find((j) => j.name === name);
      return {
        name,
        settings,
        nextRunAt: mine?.nextRunAt ?? slotAfter(now, Number(settings.periodMs)),
        cluster: last === undefined ? { runs: 0, failures: 0 } : { ...last, name: undefined },
        thisInstance:
          mine === undefined
            ? undefined
            : { runs: mine.runs, failures: mine.failures, totals: mine.totals, lastRunAt: mine.lastRunAt, lastError: mine.lastError, observed: mine.observed },
      };
    });
    return json(200, JSON.stringify({ instance: sources.instanceId, enabled: sources.enabled, jobs }));
  }, { access: 'operator' });
}
