import { describe, expect, it } from 'vitest';
import { parseRestoreResult } from '../../../bench/load/restore.js';

// A stand-in for what bench/restore.load.ts prints: progress lines, then RESULT last.
const standIn = (result: unknown): string => `restoring 1000 records\n  ... 500 restored\nRESULT ${JSON.stringify(result)}\n`;

describe('the restore script\'s RESULT line', () => {
  it('is read from the last line', () => {
    const r = parseRestoreResult(standIn({ records: 1000, seconds: 2.5, recordsPerSecond: 400, rssMiB: 180, progress: [{ t: 1, restored: 500 }, { t: 2.5, restored: 1000 }] }));
    expect(r.recordsPerSecond).toBe(400);
    expect(r.progress).toHaveLength(2);
  });

  it.each([
    ['no RESULT line', 'restoring\ndone\n', /did not end with a RESULT line/],
    ['RESULT not last', `RESULT {}\nmore output\n`, /did not end with a RESULT line/],
    ['a missing number', standIn({ records: 1, seconds: 1, rssMiB: 1, progress: [] }), /'recordsPerSecond' is not a number/],
    ['a bad progress entry', standIn({ records: 1, seconds: 1, recordsPerSecond: 1, rssMiB: 1, progress: [{ t: 1 }] }), /'progress'/],
  ])('%s is an error', (_what, stdout, message) => {
    expect(() => parseRestoreResult(stdout)).toThrow(message);
  });
});
