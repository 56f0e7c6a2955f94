import { describe, expect, it } from 'vitest';
import { errorLines } from '../../../bench/load/run-driver.js';

describe('why a driver died', () => {
  it('is read from the error lines of its stderr, not its stack', () => {
    const stderr = 'node:internal/deps/undici\n      Error.captureStackTrace(err);\n\nTypeError: fetch failed\n    at node:internal/x:1:2\n  [cause]: Error: bad port\n      at makeNetworkError (x)\n}\n\nNode.js v20.20.2\n';
    expect(errorLines(stderr)).toBe('TypeError: fetch failed / [cause]: Error: bad port');
    expect(errorLines('something odd\nhappened\n')).toBe('something odd / happened');
  });
});
