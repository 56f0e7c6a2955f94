import { describe, expect, it } from 'vitest';
import { curveTable, hopsTable, markdownTable, ms, renderMarkdown, runsTable, soakTable } from '../../../bench/load/markdown.js';
import type { LoadReport, ScenarioRun } from '../../../bench/load/report-types.js';

const latency = (p95: number) => ({ count: 100, p50: p95 / 2, p95, p99: p95 * 1.5, max: p95 * 2, mean: p95 / 2 });
const run = (over: Partial<ScenarioRun>): ScenarioRun => ({
  scenario: 'saga-rate',
  label: 'saga-rate 200/s',
  status: 'ok',
  driver: 'node open-loop',
  commitMode: 'default',
  durationS: 20,
  throughput: 199.6,
  throughputUnit: 'decided orders/s',
  latencyWhat: 'POST → decision on orders',
  latency: latency(268),
  otherLatencies: {},
  errors: 0,
  figures: {},
  series: [],
  rss: [],
  ...over,
});

describe('report.md', () => {
  it('a table escapes pipes and newlines in cells', () => {
    expect(markdownTable(['a', 'b'], [['x|y', 'line\nbreak']])).toBe('| a | b |\n|---|---|\n| x\\|y | line break |');
  });

  it('milliseconds keep three significant figures', () => {
    expect([ms(0.123), ms(4.5), ms(42.04), ms(1604.4), ms(NaN), ms(undefined)]).toEqual(['0.12', '4.50', '42.0', '1604', '-', '-']);
  });

  it('one row per run, a skipped run with its reason', () => {
    const table = runsTable([run({}), run({ scenario: 'restore', label: 'restore', status: 'skipped', reason: 'no script', latency: null, throughput: null })]);
    expect(table.split('\n')).toEqual([
      '| scenario | driver | throughput | p50 ms | p95 ms | p99 ms | max ms | errors |',
      '|---|---|---|---|---|---|---|---|',
      '| saga-rate 200/s | node open-loop | 200 decided orders/s | 134 | 268 | 402 | 536 | 0 |',
      '| restore | node open-loop | skipped: no script | - | - | - | - | - |',
    ]);
  });

  it('the commit curve: one column per mode, one row per rate, a missing point as -', () => {
    const table = curveTable([
      run({ commitMode: 'fixed', offeredRate: 200, latency: latency(2121) }),
      run({ commitMode: 'fixed', offeredRate: 500, latency: latency(2152) }),
      run({ commitMode: 'adaptive', offeredRate: 200, latency: latency(268) }),
    ])!;
    expect(table.split('\n')[0]).toBe('| offered orders/s | fixed: p50 / p95 / p99 ms (decided/s) | adaptive: p50 / p95 / p99 ms (decided/s) |');
    expect(table).toContain('| 200 | 1061 / 2121 / 3182 (200/s) | 134 / 268 / 402 (200/s) |');
    expect(table).toContain('| 500 | 1076 / 2152 / 3228 (200/s) | - |');
    expect(curveTable([run({ scenario: 'intake' })])).toBeUndefined();
  });

  it('the saga hops: one column per hop, only runs that measured them', () => {
    const hops = { 'hop: POST→NEW': latency(20), 'hop: NEW→answers': latency(40), 'hop: answers→decision': latency(200), post: latency(4) };
    const table = hopsTable([run({ otherLatencies: hops }), run({ scenario: 'intake', label: 'intake' })])!;
    expect(table.split('\n')).toEqual([
      '| saga run | POST→decision p50 / p95 / p99 ms | POST→NEW p50 / p95 / p99 ms | NEW→answers p50 / p95 / p99 ms | answers→decision p50 / p95 / p99 ms |',
      '|---|---|---|---|---|',
      '| saga-rate 200/s | 134 / 268 / 402 | 10.0 / 20.0 / 30.0 | 20.0 / 40.0 / 60.0 | 100 / 200 / 300 |',
    ]);
    expect(hopsTable([run({})])).toBeUndefined();
  });

  it('the soak: RSS first, min, max and last', () => {
    const soak = run({ scenario: 'soak', label: 'soak 500/s 1 min', rss: [{ t: 0, mib: 300 }, { t: 5, mib: 280 }, { t: 10, mib: 410 }, { t: 15, mib: 350 }] });
    expect(soakTable([soak])).toContain('| soak 500/s 1 min | 200 decided orders/s | 402 | 300 / 280 / 410 / 350 | 4 |');
  });

  it('the whole report names the commits and the machine', () => {
    const report = {
      tool: 'bench:load',
      startedAt: '2026-11-28T00:00:00Z',
      finishedAt: '2026-11-28T00:01:00Z',
      machine: { cpu: 'CPU', cores: 2, memoryGiB: 4, node: 'v20', platform: 'Linux', date: '' },
      service: { url: 'http://127.0.0.1:1', dir: '/before', commit: 'abc', dirty: true, nodeArgs: ['--max-old-space-size=307'], commitModeKnown: false },
      driver: { commit: 'def', dirty: false },
      options: {} as LoadReport['options'],
      runs: [run({ offeredRate: 200 })],
    } satisfies LoadReport;
    const md = renderMarkdown(report);
    expect(md).toContain('commit abc (dirty), node --max-old-space-size=307');
    expect(md).toContain('drivers: commit def');
    expect(md).toContain('CPU, 2 cores');
    expect(md).toContain('does not read COMMIT_MODE');
  });
});
