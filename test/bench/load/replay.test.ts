import { describe, expect, it } from 'vitest';
import { parseReplayResult } from '../../../bench/load/replay.js';

// A stand-in for what bench/replay.load.ts prints: progress lines, then RESULT last.
const standIn = (result: unknown): string => `backlog: the last 1000 records of orders\n  ... 1.0 s: 500/1000 records\nRESULT ${JSON.stringify(result)}\n`;
const progress = [
  { t: 1, replayed: 500, rssMiB: 400 },
  { t: 2, replayed: 1000, rssMiB: 420 },
];

describe('the replay script\'s RESULT line', () => {
  it('is read from the last line', () => {
    const r = parseReplayResult(standIn({ records: 1000, seconds: 2, recordsPerSecond: 500, rssMiB: 420, peakRssMiB: 430, progress }));
    expect(r.recordsPerSecond).toBe(500);
    expect(r.peakRssMiB).toBe(430);
    expect(r.progress.map((p) => p.replayed)).toEqual([500, 1000]);
  });

  it.each([
    ['no RESULT line', 'replaying\ndone\n', /replay\.load\.js did not end with a RESULT line/],
    ['a missing peak RSS', standIn({ records: 1, seconds: 1, recordsPerSecond: 1, rssMiB: 1, progress }), /'peakRssMiB' is not a number/],
    ['a progress entry without its count', standIn({ records: 1, seconds: 1, recordsPerSecond: 1, rssMiB: 1, peakRssMiB: 1, progress: [{ t: 1, rssMiB: 3 }] }), /'progress'/],
  ])('%s is an error', (_what, stdout, message) => {
    expect(() => parseReplayResult(stdout)).toThrow(message);
  });
});
