// report.md: one table of every run, then the commit curve and the soak (pure).
import type { LoadReport, ScenarioRun } from './report-types.js';
import { commitCurve, rssSummary } from './summaries.js';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${headers.map(cell).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** Milliseconds as the tables print them: 3 significant figures, '-' for none. */
export function ms(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export const count = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : Math.round(value).toLocaleString('en-US');

export function runRow(r: ScenarioRun): string[] {
  if (r.status !== 'ok') return [r.label, r.driver, `${r.status}: ${r.reason ?? ''}`, '-', '-', '-', '-', '-'];
  const l = r.latency;
  return [r.label, r.driver, `${count(r.throughput)} ${r.throughputUnit}`, ms(l?.p50), ms(l?.p95), ms(l?.p99), ms(l?.max), count(r.errors)];
}

export const RUN_HEADERS = ['scenario', 'driver', 'throughput', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors'] as const;

export function runsTable(runs: readonly ScenarioRun[]): string {
  return markdownTable(RUN_HEADERS, runs.map(runRow));
}

export function curveTable(runs: readonly ScenarioRun[]): string | undefined {
  const curve = commitCurve(runs);
  if (curve.size === 0) return undefined;
  const modes = [...curve.keys()];
  const rates = [...new Set([...curve.values()].flatMap((line) => line.map((p) => p.rate)))].sort((a, b) => a - b);
  const rows = rates.map((rate) => [
    String(rate),
    ...modes.map((mode) => {
      const p = curve.get(mode)!.find((x) => x.rate === rate);
      return p === undefined ? '-' : `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)} (${count(p.throughput)}/s)`;
    }),
  ]);
  return markdownTable(['offered orders/s', ...modes.map((m) => `${m}: p50 / p95 / p99 ms (decided/s)`)], rows);
}

/** The saga runs' POST→decision split into its hops (drive-saga.ts), when the driver measured them. */
export function hopsTable(runs: readonly ScenarioRun[]): string | undefined {
  const rows = runs
    .filter((r) => r.status === 'ok' && Object.keys(r.otherLatencies).some((name) => name.startsWith('hop: ')))
    .map((r) => [
      r.label,
      `${ms(r.latency?.p50)} / ${ms(r.latency?.p95)} / ${ms(r.latency?.p99)}`,
      ...Object.entries(r.otherLatencies)
        .filter(([name]) => name.startsWith('hop: '))
        .map(([, l]) => `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)}`),
    ]);
  if (rows.length === 0) return undefined;
  const names = Object.keys(runs.find((r) => rows.some((row) => row[0] === r.label))!.otherLatencies).filter((n) => n.startsWith('hop: '));
  return markdownTable(['saga run', 'POST→decision p50 / p95 / p99 ms', ...names.map((n) => `${n.slice(5)} p50 / p95 / p99 ms`)], rows);
}

export function soakTable(runs: readonly ScenarioRun[]): string | undefined {
  const rows = runs
    .filter((r) => r.scenario === 'soak' && r.status === 'ok')
    .map((r) => {
      const rss = rssSummary(r);
      return [r.label, `${count(r.throughput)} ${r.throughputUnit}`, ms(r.latency?.p99), rss === undefined ? '-' : `${rss.firstMiB} / ${rss.minMiB} / ${rss.maxMiB} / ${rss.lastMiB}`, String(rss?.samples ?? 0)];
    });
  return rows.length === 0 ? undefined : markdownTable(['soak', 'throughput', 'p99 ms', 'RSS MiB first / min / max / last', 'samples'], rows);
}

export function renderMarkdown(report: LoadReport): string {
  const m = report.machine;
  const s = report.service;
  const parts = [
    `# bench:load ${report.startedAt}`,
    '',
    `- service: ${s.url}${s.dir === undefined ? '' : ` from ${s.dir}`}, commit ${s.commit}${s.dirty === true ? ' (dirty)' : ''}${s.nodeArgs.length === 0 ? '' : `, node ${s.nodeArgs.join(' ')}`}`,
    `- drivers: commit ${report.driver.commit}${report.driver.dirty === true ? ' (dirty)' : ''}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`,
    '',
    runsTable(report.runs),
  ];
  const curve = curveTable(report.runs);
  if (curve !== undefined) {
    parts.push('', '## POST → decision against offered rate, by commit mode', '');
    if (s.commitModeKnown === false) parts.push('This build does not read COMMIT_MODE: one line, its only commit behaviour.', '');
    parts.push(curve);
  }
  const hops = hopsTable(report.runs);
  if (hops !== undefined) {
    parts.push('', '## Saga: where an order\'s time goes', '', 'Each hop as the driver\'s read_committed reader saw it: POST→NEW is intake and the outbox relay, NEW→answers the participants, answers→decision the stream engine (join and commit).', '', hops);
  }
  const soak = soakTable(report.runs);
  if (soak !== undefined) parts.push('', '## Soak: the service\'s resident memory', '', soak);
  return parts.join('\n') + '\n';
}
