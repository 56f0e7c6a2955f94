import { describe, expect, it } from 'vitest';
import { lastWords } from '../fault/run-steps.js';

describe('lastWords', () => {
  it('keeps the last three lines of a child that wrote no crash report', () => {
    expect(lastWords('a\nb\nc\nd\n')).toBe('b / c / d');
  });

  it('keeps a native crash report whole, with the two lines before it', () => {
    const report = ['=== fatal signal 11 (Segmentation fault) at address 0x0 in thread \'node\' (tid 7), pid 7: native stack of the crashing thread ===', 'lib.so(f+0x1)[0x1]', 'lib.so(g+0x2)[0x2]', '=== end of the native stack ==='];
    expect(lastWords(['x', 'y', 'z', ...report, ''].join('\n'))).toBe(['y', 'z', ...report].join('\n'));
  });
});
