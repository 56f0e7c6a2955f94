import { describe, expect, it } from 'vitest';
import { parseLoadOptions } from '../../../bench/load/options.js';
import { planRuns } from '../../../bench/load/plan.js';

const options = (...argv: string[]) => parseLoadOptions(argv, '/repo');

describe('the runs of one bench:load', () => {
  it('saga-rate once per commit mode and rate, saga-saturation once per mode; the rest once, in the order asked', () => {
    const runs = planRuns(options('--scenario', 'intake,saga-rate,saga-saturation,soak', '--rates', '200,500', '--commit-modes', 'fixed,adaptive', '--soak-minutes', '1'), true);
    expect(runs.map((r) => [r.label, r.commitMode, r.durationS])).toEqual([
      ['intake', 'default', 20],
      ['saga-rate 200/s (fixed)', 'fixed', 20],
      ['saga-rate 500/s (fixed)', 'fixed', 20],
      ['saga-rate 200/s (adaptive)', 'adaptive', 20],
      ['saga-rate 500/s (adaptive)', 'adaptive', 20],
      ['saga-saturation (fixed)', 'fixed', 20],
      ['saga-saturation (adaptive)', 'adaptive', 20],
      ['soak 500/s 1 min', 'default', 60],
    ]);
  });

  it('restore and replay run once each, sized by their own options', () => {
    const runs = planRuns(options('--scenario', 'restore,replay', '--restore-records', '1000', '--replay-records', '2000'), true);
    expect(runs.map((r) => [r.scenario, r.label])).toEqual([
      ['restore', 'restore 1000 records'],
      ['replay', 'replay 2000 records'],
    ]);
    expect(planRuns(options('--scenario', 'replay'), true).map((r) => r.label)).toEqual(['replay 300000 records']);
  });

  it('a build without COMMIT_MODE runs the curve once', () => {
    const runs = planRuns(options('--scenario', 'saga-rate', '--rates', '200,500', '--commit-modes', 'fixed,adaptive'), false);
    expect(runs.map((r) => r.label)).toEqual(['saga-rate 200/s', 'saga-rate 500/s']);
    expect(planRuns(options('--scenario', 'saga-saturation', '--commit-modes', 'fixed,adaptive'), false).map((r) => r.label)).toEqual(['saga-saturation']);
  });

  it('--warmup: one saga run first, at 200/s in the first commit mode, marked as not reported', () => {
    const runs = planRuns(options('--scenario', 'intake', '--commit-modes', 'fixed,adaptive', '--warmup', '45'), true);
    expect(runs.map((r) => [r.label, r.commitMode, r.rate, r.durationS, r.warmup === true])).toEqual([
      ['warm-up (saga 200/s, not reported)', 'fixed', 200, 45, true],
      ['intake', 'default', undefined, 20, false],
    ]);
    expect(planRuns(options('--scenario', 'intake'), true).some((r) => r.warmup === true)).toBe(false);
    expect(() => options('--scenario', 'intake', '--warmup', 'soon')).toThrow('--warmup must be a positive integer');
  });
});
