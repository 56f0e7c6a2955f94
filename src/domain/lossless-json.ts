// JSON.parse that keeps 64-bit ids exact. JSON.parse reads 910000000000000123 as
// 910000000000000128, and Node 20 gives revivers no source text to recover it from.
// Any integer JSON.parse can round has at least 16 digits, so text without a run of 16
// digits (every record of ours until about 2032, see ids.ts) goes to JSON.parse as it
// is; only the rest takes the small strict parser below, which reads an integer
// literal beyond 2^53 as a bigint (canonical ids, id64.ts) and everything else exactly
// as JSON.parse would.
import { canonicalId } from './id64.js';

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/**
 * Past this nesting the parser stops instead of growing the stack, and JSON.parse reads
 * the text (rounding any long in it): no OrderDto or order request nests more than 3
 * levels, so such a body is refused by its validation as before (parseOrderRequest
 * refuses nesting past 32 levels; an id rounded past 2^53 fails the id64 keyword).
 */
export const MAX_LOSSLESS_DEPTH = 512;

class TooDeep extends Error {}

/** Like JSON.parse (throws SyntaxError), except that integers beyond ±(2^53-1) come back as bigint. */
export function parseJsonLossless(text: string): unknown {
  if (!hasDigitRun16(text)) return JSON.parse(text);
  try {
    return new Parser(text).document();
  } catch (err) {
    if (err instanceof TooDeep) return JSON.parse(text);
    throw err;
  }
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * Whether `text` has 16 digits in a row. Looks at every 16th character and, only at a
 * digit, back to the last non-digit, so a record costs a tenth of what JSON.parse
 * does (/\d{16}/ cost more than the parse: it tries 16 digits from every digit).
 * No run ends before `end` at any step: a non-digit at `end` rules out runs ending
 * within 15 after it, and so does the non-digit found looking back.
 */
export function hasDigitRun16(text: string): boolean {
  for (let end = 15; end < text.length; ) {
    if (!isDigit(text.charCodeAt(end))) {
      end += 16;
      continue;
    }
    let j = end - 1;
    while (j > end - 16 && isDigit(text.charCodeAt(j))) j--;
    if (j === end - 16) return true;
    end = j + 16;
  }
  return false;
}

class Parser {
  readonly #s: string;
  #i = 0;
  #depth = 0;

  constructor(text: string) {
    this.#s = text;
  }

  document(): unknown {
    const value = this.#value();
    this.#space();
    if (this.#i < this.#s.length) this.#fail('Unexpected non-whitespace character after JSON');
    return value;
  }

  #fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.#i}`);
  }

  #space(): void {
    const s = this.#s;
    for (;;) {
      const c = s.charCodeAt(this.#i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.#i++;
      else return;
    }
  }

  #value(): unknown {
    this.#space();
    const c = this.#s.charCodeAt(this.#i);
    if (c === 0x22) return this.#string();
    if (c === 0x7b) return this.#object();
    if (c === 0x5b) return this.#array();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number();
    if (this.#s.startsWith('true', this.#i)) return this.#literal(4, true);
    if (this.#s.startsWith('false', this.#i)) return this.#literal(5, false);
    if (this.#s.startsWith('null', this.#i)) return this.#literal(4, null);
    return this.#fail(Number.isNaN(c) ? 'Unexpected end of JSON input' : `Unexpected token '${this.#s[this.#i]}'`);
  }

  #literal<T>(length: number, value: T): T {
    this.#i += length;
    return value;
  }

  #number(): number | bigint {
    NUMBER.lastIndex = this.#i;
    const m = NUMBER.exec(this.#s);
    if (m === null) return this.#fail('Invalid number');
    const token = m[0];
    this.#i += token.length;
    // Only a plain integer literal is read as an integer: 9.1e17 stays the number it denotes.
    const integer = m[1] === undefined && m[2] === undefined;
    // Past 20 characters no id fits (2^63 has 19 digits); Number reads it as JSON.parse does.
    return integer && token.length > 15 && token.length <= 20 ? canonicalId(BigInt(token)) : Number(token);
  }

  #string(): string {
    const s = this.#s;
    const start = this.#i;
    let escaped = false;
    for (let i = start + 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.#i = i + 1;
        // JSON.parse checks and decodes the escapes; plain text needs neither.
        return escaped ? (JSON.parse(s.slice(start, i + 1)) as string) : s.slice(start + 1, i);
      }
      if (c === 0x5c) {
        escaped = true;
        i++;
      } else if (c < 0x20) {
        this.#i = i;
        this.#fail('Bad control character in string literal');
      }
    }
    this.#i = s.length;
    return this.#fail('Unterminated string in JSON');
  }

  #enter(): void {
    if (++this.#depth > MAX_LOSSLESS_DEPTH) throw new TooDeep();
    this.#i++;
    this.#space();
  }

  #array(): unknown[] {
    this.#enter();
    const out: unknown[] = [];
    if (this.#s.charCodeAt(this.#i) === 0x5d) return this.#leave(out);
    for (;;) {
      out.push(this.#value());
      this.#space();
      const c = this.#s.charCodeAt(this.#i);
      if (c === 0x5d) return this.#leave(out);
      if (c !== 0x2c) this.#fail("Expected ',' or ']' after array element");
      this.#i++;
    }
  }

  #object(): Record<string, unknown> {
    this.#enter();
    const out: Record<string, unknown> = {};
    if (this.#s.charCodeAt(this.#i) === 0x7d) return this.#leave(out);
    for (;;) {
      this.#space();
      if (this.#s.charCodeAt(this.#i) !== 0x22) this.#fail('Expected double-quoted property name');
      const key = this.#string();
      this.#space();
      if (this.#s.charCodeAt(this.#i) !== 0x3a) this.#fail("Expected ':' after property name");
      this.#i++;
      const value = this.#value();
      // An own property, as JSON.parse makes it: assigning '__proto__' would set the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.#space();
      const c = this.#s.charCodeAt(this.#i);
      if (c === 0x7d) return this.#leave(out);
      if (c !== 0x2c) this.#fail("Expected ',' or '}' after property value");
      this.#i++;
    }
  }

  #leave<T>(value: T): T {
    this.#depth--;
    this.#i++;
    return value;
  }
}
