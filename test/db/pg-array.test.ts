import { describe, expect, it } from 'vitest';
import { numberArray, textArray } from '../../src/db/pg-array.js';

describe('textArray', () => {
  it('quotes every element and escapes quotes and backslashes', () => {
    expect(textArray(['a', 'b c', '', 'NULL', '{x,y}', 'say "hi"', 'back\\slash'])).toBe(
      '{"a","b c","","NULL","{x,y}","say \\"hi\\"","back\\\\slash"}',
    );
  });

  it('escapes a backslash before a quote as two characters, each escaped once', () => {
    // JSON with an escaped quote inside a string: {"a":"x\"y"}
    expect(textArray(['{"a":"x\\"y"}', '\\\\"'])).toBe('{"{\\"a\\":\\"x\\\\\\"y\\"}","\\\\\\\\\\""}');
  });

  it('writes null as NULL and an empty column as {}', () => {
    expect(textArray([null, 'x', null])).toBe('{NULL,"x",NULL}');
    expect(textArray([])).toBe('{}');
  });

  it('keeps non-ASCII text as it is', () => {
    expect(textArray(['Zürich', '東京', '😀'])).toBe('{"Zürich","東京","😀"}');
  });
});

describe('numberArray', () => {
  it('joins numbers', () => {
    expect(numberArray([1, 2_251_799_813_685_248, 42])).toBe('{1,2251799813685248,42}');
    expect(numberArray([])).toBe('{}');
  });
});
