import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasDigitRun16, MAX_LOSSLESS_DEPTH, parseJsonLossless } from '../../src/domain/lossless-json.js';

describe('parseJsonLossless', () => {
  it('reads integers past 2^53 as exact bigints, wherever they are', () => {
    expect(parseJsonLossless('{"a":910000000000000123,"b":[9007199254740993,-9007199254740993],"c":{"d":9223372036854775807}}')).toEqual({
      a: 910_000_000_000_000_123n,
      b: [2n ** 53n + 1n, -(2n ** 53n + 1n)],
      c: { d: 2n ** 63n - 1n },
    });
  });

  it('keeps numbers JSON.parse reads exactly as numbers, on either path', () => {
    // The 16-digit run in the string sends this text through the strict parser.
    const text = '{"s":"1234567890123456","n":9007199254740991,"small":42,"f":12.5,"e":9.1e17,"neg":-0,"z":0}';
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
    expect((parseJsonLossless(text) as { e: unknown }).e).toBe(9.1e17);
  });

  it('reads an integer too long for any id as JSON.parse does (a number)', () => {
    expect(parseJsonLossless('[123456789012345678901234]')).toEqual([123456789012345678901234]);
  });

  it('keeps __proto__ an own property, as JSON.parse does', () => {
    const value = parseJsonLossless('{"__proto__":{"x":1},"id":9007199254740993}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'id']);
  });

  it.each([
    '',
    '{',
    '{"a":9007199254740993,}',
    '[9007199254740993,]',
    '[9007199254740993] x',
    '[09007199254740993]',
    '[+9007199254740993]',
    '[9007199254740993.]',
    '{"a" 9007199254740993}',
    "{'a':9007199254740993}",
    '["9007199254740993\u0001"]',
    '["\\x41", 9007199254740993]',
    '[9007199254740993, tru]',
    '[9007199254740993, NaN]',
  ])('refuses %j with a SyntaxError, as JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(() => parseJsonLossless(text)).toThrow(SyntaxError);
  });

  it(`hands text nested past ${MAX_LOSSLESS_DEPTH} levels to JSON.parse instead of growing the stack`, () => {
    const nested = (depth: number): string => `${'['.repeat(depth)}9007199254740993${']'.repeat(depth)}`;
    const deep = nested(MAX_LOSSLESS_DEPTH + 1);
    expect(parseJsonLossless(deep)).toEqual(JSON.parse(deep));
    let inner: unknown = parseJsonLossless(nested(MAX_LOSSLESS_DEPTH));
    while (Array.isArray(inner)) inner = inner[0];
    expect(inner).toBe(2n ** 53n + 1n);
    expect(() => parseJsonLossless(`${'['.repeat(20_000)}9007199254740993`)).toThrow(SyntaxError);
  });

  it('agrees with JSON.parse on any JSON whose integers are exact as numbers', () => {
    // Strings with a 16-digit run force the strict parser on every sample.
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(['0000000000000000', v]));
    fc.assert(
      fc.property(json, (text) => {
        // JSON.stringify writes integers below 1e21 in full: past 2^53 those are bigints here, by design.
        let rounded = false;
        JSON.parse(text, (_k, v: unknown) => (rounded ||= typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 1e21));
        fc.pre(!rounded);
        expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('hasDigitRun16', () => {
  it('agrees with /\\d{16}/ on text of digits and other characters', () => {
    const text = fc.array(fc.constantFrom('1', '2', '9', '0', '"', ',', 'a', '.'), { maxLength: 80 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(hasDigitRun16(t)).toBe(/\d{16}/.test(t));
      }),
      { numRuns: 2000 },
    );
  });

  it.each<[string, boolean]>([
    ['', false],
    ['123456789012345', false],
    ['1234567890123456', true],
    ['x1234567890123456', true],
    ['123456789012345x123456789012345', false],
    ['123456789012345x1234567890123456', true],
    ['{"orderId":250000000000000,"itemId":910000000000000123}', true],
  ])('%j: %s', (text, expected) => {
    expect(hasDigitRun16(text)).toBe(expected);
  });
});
