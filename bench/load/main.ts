// bench:load: one command for the load scenarios, each driven from its own process,
// reported as JSON, a Markdown table and an HTML page with charts.
//
//   npm run build && npm run infra:up && npm run bench:load -- --scenario all
//   npm run bench:load -- --scenario saga-rate --rates 200,500,1000,2000 --commit-modes fixed,adaptive
//   npm run bench:load -- --scenario intake,store-read --url http://127.0.0.1:18282
//   npm run bench:load -- --scenario all --service-dir ../before   # an older built checkout, same drivers
//
// Without --url it starts the simulators and the service (node DIR/dist/src/main.cjs,
// cwd DIR) against the local broker and Postgres, and stops them at the end.
// Drivers: autocannon (intake), wrk (store reads), a Node open- or closed-loop
// generator reading decisions from `orders` (saga, soak); restore and replay run the
// checkout's dist/bench/restore.load.js and replay.load.js, each with a service of its
// own. Results go to bench/results/load-<timestamp>/.
import { join } from 'node:path';
import { machine } from '../machine.js';
import { gitInfo } from './git-info.js';
import { ms } from './markdown.js';
import { LoadOptionsError, parseLoadOptions, USAGE } from './options.js';
import { planRuns } from './plan.js';
import { Progress } from './progress.js';
import type { LoadReport, ScenarioRun } from './report-types.js';
import { executeRun } from './scenarios.js';
import { startTarget } from './stack.js';
import { writeReport } from './write-report.js';

let options;
try {
  options = parseLoadOptions(process.argv.slice(2), process.cwd());
} catch (err) {
  if (!(err instanceof LoadOptionsError)) throw err;
  process.stderr.write(`bench:load: ${err.message}\n${USAGE}\n`);
  process.exit(2);
}

const startedAt = new Date().toISOString();
const out = options.out ?? join(process.cwd(), 'bench', 'results', `load-${startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}`);
const progress = new Progress();
const m = machine();
progress.log(`# bench:load ${options.scenarios.join(', ')}`);
progress.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`);

const target = await startTarget(options, (text) => progress.log(text));
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await target.stop();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

const service = options.url === undefined ? gitInfo(options.serviceDir) : { commit: 'unknown (--url)', dirty: undefined };
const runs: ScenarioRun[] = [];
const report = (): LoadReport => ({
  tool: 'bench:load',
  startedAt,
  finishedAt: new Date().toISOString(),
  machine: m,
  service: { url: target.url, dir: options.url === undefined ? options.serviceDir : undefined, ...service, nodeArgs: target.nodeArgs, commitModeKnown: target.commitModeKnown },
  driver: gitInfo(process.cwd()),
  options,
  runs,
});
try {
  const plan = planRuns(options, target.commitModeKnown);
  for (const [i, spec] of plan.entries()) {
    progress.log(`--- ${i + 1}/${plan.length} ${spec.label}`);
    const run = await executeRun(spec, target, options, progress);
    if (run.status !== 'ok') progress.log(`${spec.label}: ${run.status}: ${run.reason}`);
    if (spec.warmup === true) {
      progress.log(`${spec.label}: p50 / p95 / p99 ${ms(run.latency?.p50)} / ${ms(run.latency?.p95)} / ${ms(run.latency?.p99)} ms`);
      continue;
    }
    runs.push(run);
    writeReport(out, report()); // after every run: a long run interrupted keeps what it measured
  }
} finally {
  await stop();
}
const written = writeReport(out, report());
process.stdout.write(`\n${written.markdownText}\n`);
process.stdout.write(`report.json: ${written.json}\nreport.md:   ${written.markdown}\nreport.html: ${written.html}\n`);
process.exit(runs.every((r) => r.status !== 'failed') ? 0 : 1);
