// The fault tests' table: one row per fault, printed with the machine and the
// parameters, and saved as JSON under bench/results/ (git-ignored) so runs of old
// and new code can be compared.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { machine, type Machine } from '../../bench/machine.js';
import type { ScenarioResult } from './result.js';
import type { FaultParams } from './params.js';

export interface CodeUnderTest {
  readonly dir: string;
  readonly commit: string;
  /** Uncommitted changes to tracked files in that checkout (dist/ may not match the commit). */
  readonly dirty: boolean;
}

export function codeUnderTest(dir: string): CodeUnderTest {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return { dir, commit: git('log', '-1', '--format=%h %s') || 'unknown', dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
}

/** A table's column: its heading and how a row shows in it. */
export type Column<T> = readonly [string, (row: T) => string | number];

/** The audit's columns, in every fault table. */
export const AUDIT_COLUMNS: readonly Column<ScenarioResult>[] = [
  ['accepted', (r) => r.accepted],
  ['lost', (r) => r.lost],
  ['answers > window apart', (r) => r.splitAnswers],
  ['dup decisions', (r) => r.duplicatedDecisions],
  ['dup NEW', (r) => r.duplicatedNew],
  ['off partition', (r) => r.offPartition],
  ['pg mismatches', (r) => r.pgMismatches],
];

const columns: Column<ScenarioResult>[] = [
  ['fault', (r) => r.scenario],
  ...AUDIT_COLUMNS,
  ['store mismatches', (r) => r.storeMismatches],
  ['recovery s', (r) => r.recoveryS ?? 'never'],
  ['worst in-flight s', (r) => r.worstInFlightS ?? '-'],
  ['longest stall s', (r) => r.longestStallS ?? '-'],
  ['POSTs not 201', (r) => describeRefusals(r)],
];

/** The POSTs not answered 201: `n×status` and `n×error code`, or 0. */
export function describeRefusals(r: { readonly posts: { readonly refused: Record<string, number>; readonly failed: Record<string, number> } }): string {
  const parts = [...Object.entries(r.posts.refused).map(([status, n]) => `${n}×${status}`), ...Object.entries(r.posts.failed).map(([code, n]) => `${n}×${code}`)];
  return parts.length === 0 ? '0' : parts.join(' ');
}

/** A fixed-width table, one row per scenario. */
export function formatTable(results: readonly ScenarioResult[]): string {
  return formatColumns(columns, results);
}

/** A fixed-width Markdown table of `rows` in `columns`: the first and last left-aligned, the others right-aligned. */
export function formatColumns<T>(columns: readonly Column<T>[], results: readonly T[]): string {
  const rows = [columns.map(([name]) => name), ...results.map((r) => columns.map(([, value]) => String(value(r))))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

export function formatHeader(m: Machine, params: FaultParams, code: CodeUnderTest): string {
  return [
    `# fault tests (${params.profile} form)`,
    `machine: ${m.cpu}, ${m.cores} cores (nproc), ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}, ${m.date}`,
    `code:    ${code.dir} @ ${code.commit}${code.dirty ? ' (uncommitted changes)' : ''}`,
    `load:    ${params.ratePerS} orders/s open loop, at least ${params.durationS} s and ${params.afterS} s after the fault; fault at ${params.faultAtS} s; outage ${params.outageS} s`,
    `bounds:  recovery ≤ ${params.recoveryBoundS} s${params.recoveryBoundS > 10 ? ' (looser than the issue\'s 10 s target, for a shared machine)' : ''}; drain ≤ ${params.drainS} s; Postgres/store settle ≤ ${params.settleS} s`,
    'recovery: from the fault\'s end (broker port open again, Postgres up again, or the service restart issued) to the first decision',
    '          on `orders` (read_committed) of an order POSTed since the fault began;',
    '          worst in-flight: worst POST → decision of the orders POSTed in the 5 s before the fault; longest stall: longest time without a decision from the fault to the end of the load',
  ].join('\n');
}

export function formatDetails(r: ScenarioResult): string {
  const lines = [`## ${r.scenario}: ${r.title}`];
  lines.push(`  POSTs: ${r.posts.sent} sent, ${r.accepted} accepted (${r.acceptedAfterFault} since the fault began), not 201: ${describeRefusals(r)}; load ran ${r.loadS} s`);
  if (r.fault !== null) lines.push(`  fault window: ${r.fault.startS} s → ${r.fault.endS} s after the load started; restarted service ready after ${r.restartReadyS.join(', ') || '-'} s`);
  if (r.conflictingDecisions + r.missingNew + r.unexpectedRecords > 0)
    lines.push(`  conflicting decisions: ${r.conflictingDecisions}, never published (no NEW): ${r.missingNew}, records neither NEW nor a decision: ${r.unexpectedRecords}`);
  lines.push(`  Postgres showed every decision after ${r.pgAgreedAfterS ?? '-'} s, the store after ${r.storeAgreedAfterS ?? '-'} s (from the audit's start); store reads: ${JSON.stringify(r.storeAnswers)}`);
  for (const [kind, ids] of Object.entries(r.samples)) if (ids.length > 0) lines.push(`  e.g. ${kind}: ${JSON.stringify(ids)}`);
  lines.push(`  timeline: ${r.timeline.map((t) => `${t.atS}s ${t.event}`).join('; ')}`);
  if (r.errors.length > 0) lines.push(`  errors: ${r.errors.join(' | ')}`);
  lines.push(`  logs: ${r.logDir}`);
  return lines.join('\n');
}

/**
 * Writes bench/results/<name>-<timestamp>.json; returns its path. (bench/machine.ts's
 * saveResults finds bench/ from dist/bench/, two folders down; these run from source.)
 */
export function saveResults(data: unknown, name = 'fault'): string {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}-${new Date().toISOString().replaceAll(':', '-')}.json`, dir);
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file.pathname;
}

export { machine };
