// report.html: self-contained (inline SVG and CSS, no scripts, nothing fetched): the
// table, then per run latency (p50, p99 per second) and throughput over time, the
// p95-vs-rate curve per commit mode, RSS over the soak, the restore's progress.
import { escapeXml as esc, lineChart } from './svg-chart.js';
import { RUN_HEADERS, runRow } from './markdown.js';
import type { LoadReport, ScenarioRun } from './report-types.js';
import { commitCurve, rssSummary } from './summaries.js';

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

function runCharts(r: ScenarioRun): string {
  const charts: string[] = [];
  if (r.series.length > 0) {
    charts.push(
      lineChart({
        title: `${r.label}: ${r.latencyWhat} latency per second`,
        xLabel: 's',
        yLabel: 'ms',
        series: [
          { name: 'p50', points: r.series.map((p) => [p.t, p.p50]) },
          { name: 'p99', points: r.series.map((p) => [p.t, p.p99]) },
        ],
      }),
    );
    const throughput = [{ name: r.throughputUnit, points: r.series.map((p): [number, number] => [p.t, p.count]) }];
    if (r.series.some((p) => p.offered !== undefined)) throughput.push({ name: 'POSTs accepted/s', points: r.series.map((p) => [p.t, p.offered ?? NaN]) });
    charts.push(lineChart({ title: `${r.label}: throughput per second`, xLabel: 's', yLabel: 'per second', series: throughput }));
  }
  if (r.progress !== undefined && r.progress.length > 0) {
    const done = r.scenario === 'replay' ? 'replayed' : 'restored';
    charts.push(lineChart({ title: `${r.label}: records ${done}`, xLabel: 's', yLabel: 'records', series: [{ name: done, points: r.progress.map((p) => [p.t, p.restored]) }] }));
  }
  if ((r.scenario === 'soak' || r.scenario === 'replay') && r.rss.length > 0) {
    const s = rssSummary(r)!;
    charts.push(lineChart({ title: `${r.label}: service RSS (min ${s.minMiB}, max ${s.maxMiB}, last ${s.lastMiB} MiB)`, xLabel: 's', yLabel: 'MiB', series: [{ name: 'RSS', points: r.rss.map((p) => [p.t, p.mib]) }] }));
  }
  return charts.join('\n');
}

export function renderHtml(report: LoadReport, markdownTableText: string): string {
  const m = report.machine;
  const s = report.service;
  const curve = commitCurve(report.runs);
  const curveChart =
    curve.size === 0
      ? ''
      : `<h2>POST → decision p95 against offered rate</h2>${lineChart({
          title: 'p95 POST → decision on orders, by commit mode',
          xLabel: 'offered orders/s',
          yLabel: 'p95 ms',
          series: [...curve].map(([mode, line]) => ({ name: mode, points: line.map((p) => [p.rate, p.p95]) })),
        })}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>bench:load ${esc(report.startedAt)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}svg{margin:8px 8px 0 0;border:1px solid #eee}pre{background:#f6f6f6;padding:8px}</style>
</head><body>
<h1>bench:load ${esc(report.startedAt)}</h1>
<p>service ${esc(s.url)}${s.dir === undefined ? '' : ` from ${esc(s.dir)}`}, commit <code>${esc(s.commit)}</code>${s.dirty === true ? ' (dirty)' : ''}<br>
drivers at commit <code>${esc(report.driver.commit)}</code><br>
${esc(`${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`)}</p>
${table(RUN_HEADERS, report.runs.map(runRow))}
${curveChart}
${report.runs.map((r) => `<h2>${esc(r.label)}</h2><div>${runCharts(r)}</div>`).join('\n')}
<h2>report.md</h2><pre>${esc(markdownTableText)}</pre>
</body></html>
`;
}
