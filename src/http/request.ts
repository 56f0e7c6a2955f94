// Everything a handler may need from a request, copied out of uWebSockets.js' `req`
// before the first await (uWS frees `req` when the handler returns), and the body
// read with a hard size limit.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { EngineError } from '../errors.js';

export interface RequestInput {
  readonly method: string;
  readonly url: string;
  readonly query: URLSearchParams;
  readonly params: readonly string[];
  readonly contentType: string;
  readonly idempotencyKey: string;
  body: Buffer | undefined;
}

export function copyRequest(req: HttpRequest, paramCount: number): RequestInput {
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(decodeURIComponent(req.getParameter(i) ?? ''));
  return {
    method: req.getCaseSensitiveMethod(),
    url: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    params,
    contentType: req.getHeader('content-type'),
    idempotencyKey: req.getHeader('idempotency-key'),
    body: undefined,
  };
}

/**
 * Reads the whole body, refusing more than `limit` bytes: by Content-Length up front
 * when it is declared, else as soon as the chunks pass the limit.
 */
export function readBody(res: HttpResponse, req: HttpRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.getHeader('content-length') || 0);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(tooLarge(limit));
        return;
      }
      // The chunk's memory belongs to uWS and is reused after this callback: copy it.
      const copy = Buffer.allocUnsafe(chunk.byteLength);
      copy.set(new Uint8Array(chunk));
      chunks.push(copy);
      if (isLast) {
        done = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    });
  });
}

function tooLarge(limit: number): EngineError {
  return new EngineError('ORD_ERR_BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
}

export function requireJson(input: RequestInput): void {
  const type = input.contentType.toLowerCase();
  // A request without Content-Type is taken as JSON; any other media type is refused (415).
  if (type !== '' && !/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    throw new EngineError('ORD_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type '${input.contentType}' is not supported; send application/json`);
  }
}
