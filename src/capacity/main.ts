// npm run plan: the capacity planner's command line (docs/capacity.md).
//
//   npm run plan                                   # the seed's worked example
//   npm run plan -- --users 250000 --orders-per-user-per-day 0.3 --peak-multiplier 4
//   npm run plan -- --users 250000 --load-report bench/results/load-<time>/report.json --json
import { readFileSync } from 'node:fs';
import { LoadReportError, measuredThroughput, type MeasuredThroughput } from './load-report.js';
import { CapacityOptionsError, parseCapacityOptions, plannerInputs, USAGE, type CapacityOptions } from './options.js';
import { CapacityInputError, planCapacity } from './plan.js';
import { renderJson, renderTable } from './render.js';

function fail(message: string, usage = false): never {
  process.stderr.write(`plan: ${message}\n${usage ? `${USAGE}\n` : ''}`);
  process.exit(2);
}

function readReport(options: CapacityOptions): MeasuredThroughput | undefined {
  if (options.loadReport === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(options.loadReport, 'utf8'));
  } catch (err) {
    fail(`cannot read ${options.loadReport}: ${(err as Error).message}`);
  }
  return measuredThroughput(json, options.loadThreads, options.commitMode);
}

try {
  const options = parseCapacityOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const measured = readReport(options);
  const { inputs, sources } = plannerInputs(options, measured);
  const plan = planCapacity(inputs);
  process.stdout.write(`${options.json ? renderJson(plan, sources, measured) : renderTable(plan, sources, measured)}\n`);
} catch (err) {
  if (err instanceof CapacityOptionsError) fail(err.message, true);
  if (err instanceof CapacityInputError || err instanceof LoadReportError) fail(err.message);
  throw err;
}
