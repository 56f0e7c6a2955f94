import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/error-of.js';
import { ClientGoneError } from '../../src/http/exchange.js';
import { decodeParams, parseQuery, readBody } from '../../src/http/request.js';

// Each makes decodeURIComponent throw a URIError, which used to escape the uWS handler
// and abort the process (issue 6, item 1).
const MALFORMED = ['%E0', '%', '%4', '%G0', '%%', '%u0041', '%C3%28', '%ED%A0%80', '%C0%AF', '%F4%90%80%80', '%F0%9F%98'];

describe('decodeParams', () => {
  it('decodes percent-encoded UTF-8', () => {
    expect(decodeParams(['42', 'Z%C3%BCrich', '1%2F2', '%F0%9F%9A%80'], ['id', 'city', 'x', 'y'])).toEqual(['42', 'Zürich', '1/2', '🚀']);
  });

  it.each(MALFORMED)('turns %s into a 400 ORD_ERR_BAD_PARAMETER naming the parameter', (bad) => {
    const err = errorOf(() => decodeParams([`1${bad}`], ['customerId']));
    expect(err).toMatchObject({ code: 'ORD_ERR_BAD_PARAMETER', status: 400 });
    expect(err.violations).toEqual([{ field: 'customerId', message: `'1${bad}' is not valid percent-encoded UTF-8` }]);
  });
});

describe('parseQuery', () => {
  it('parses pairs like URLSearchParams: + is a space, empty pairs and values are kept apart', () => {
    const q = parseQuery('pageNo=2&sortBy=id&&flag&name=a+b%20c&sort=id%2Cdesc');
    expect([...q.entries()]).toEqual([
      ['pageNo', '2'],
      ['sortBy', 'id'],
      ['flag', ''],
      ['name', 'a b c'],
      ['sort', 'id,desc'],
    ]);
    expect([...parseQuery('').entries()]).toEqual([]);
  });

  it('replaces what URLSearchParams did: turn %E0 silently into U+FFFD', () => {
    expect(new URLSearchParams('sortBy=%E0').get('sortBy')).toBe('\ufffd');
  });

  it.each(MALFORMED)('refuses %s in a value with a 400 naming the parameter', (bad) => {
    const err = errorOf(() => parseQuery(`pageNo=0&sortBy=${bad}`));
    expect(err).toMatchObject({ code: 'ORD_ERR_BAD_PARAMETER', status: 400 });
    expect(err.violations).toEqual([{ field: 'sortBy', message: `'${bad}' is not valid percent-encoded UTF-8` }]);
  });

  it.each(MALFORMED)('refuses %s in a parameter name', (bad) => {
    expect(errorOf(() => parseQuery(`${bad}=1`)).violations).toEqual([{ field: '(query)', message: `parameter name '${bad}' is not valid percent-encoded UTF-8` }]);
  });
});

/** A stand-in for uWS' response that lets the test deliver body chunks as uWS would. */
function fakeResponse(): { res: HttpResponse; send: (chunk: ArrayBuffer, isLast: boolean) => void } {
  let handler: ((chunk: ArrayBuffer, isLast: boolean) => void) | undefined;
  const res = { onData: (h: (chunk: ArrayBuffer, isLast: boolean) => void) => (handler = h) } as unknown as HttpResponse;
  return { res, send: (chunk, isLast) => handler!(chunk, isLast) };
}

const requestWith = (contentLength: string): HttpRequest => ({ getHeader: (name: string) => (name === 'content-length' ? contentLength : '') }) as unknown as HttpRequest;
const bytes = (s: string): ArrayBuffer => new Uint8Array(Buffer.from(s)).buffer;

describe('readBody', () => {
  it('joins the chunks and copies them out of uWS memory', async () => {
    const { res, send } = fakeResponse();
    const read = readBody(res, requestWith('7'), 100);
    const first = bytes('{"a"');
    send(first, false);
    new Uint8Array(first).fill(0); // uWS reuses the chunk's memory after the callback
    send(bytes(':1}'), true);
    expect((await read.body).toString()).toBe('{"a":1}');
  });

  it.each(['-1', 'abc', '', '1e1'])('reads by the chunks when Content-Length is %j (uWS frames the body)', async (declared) => {
    const { res, send } = fakeResponse();
    const read = readBody(res, requestWith(declared), 100);
    send(bytes('[]'), true);
    expect((await read.body).toString()).toBe('[]');
  });

  it('refuses a declared Content-Length over the limit at once', async () => {
    const read = readBody(fakeResponse().res, requestWith('101'), 100);
    await expect(read.body).rejects.toMatchObject({ code: 'ORD_ERR_BODY_TOO_LARGE', status: 413 });
  });

  it('refuses chunks past the limit whatever Content-Length said, and ignores what follows', async () => {
    const { res, send } = fakeResponse();
    const read = readBody(res, requestWith('10'), 10);
    send(bytes('x'.repeat(8)), false);
    send(bytes('x'.repeat(8)), false);
    send(bytes('x'), true);
    await expect(read.body).rejects.toMatchObject({ code: 'ORD_ERR_BODY_TOO_LARGE' });
  });

  it('ends the wait with ClientGoneError when the client goes away', async () => {
    const { res, send } = fakeResponse();
    const read = readBody(res, requestWith('10'), 100);
    send(bytes('{'), false);
    read.abort();
    await expect(read.body).rejects.toBeInstanceOf(ClientGoneError);
  });

  it('turns an exception inside the data callback into a rejection instead of throwing into uWS', async () => {
    const { res, send } = fakeResponse();
    const read = readBody(res, requestWith('10'), 100);
    const poisoned = {
      get byteLength(): number {
        throw new TypeError('detached');
      },
    } as unknown as ArrayBuffer;
    expect(() => send(poisoned, true)).not.toThrow();
    await expect(read.body).rejects.toThrow('detached');
  });
});
