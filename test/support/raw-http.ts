// A raw HTTP/1.1 client over node:net for the fuzz: it writes bytes exactly as given
// (no client library in between to fix or refuse them), in pieces if asked, and
// parses whatever comes back as a sequence of responses in request order.
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface RawExchange {
  readonly responses: readonly RawResponse[];
  /** The server closed the connection (or reset it) before the client gave up. */
  readonly closedByServer: boolean;
  /** What made the bytes that came back unreadable as HTTP/1.1 responses, if anything. */
  readonly protocolError?: string;
  /** A connection error other than a close or reset (ECONNREFUSED: the service is gone). */
  readonly socketError?: string;
}

export interface ExchangeOptions {
  /** Methods of the requests on the wire, in order: a response to HEAD has no body. */
  readonly methods: readonly string[];
  /** Responses the server owes: wait for this many up to `dueTimeoutMs`. */
  readonly due: number;
  readonly dueTimeoutMs: number;
  /** Once the due answers are in, how long a silent connection is given before giving up on it. */
  readonly idleMs: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses complete responses off the front of `buf`; returns them and the bytes consumed. */
function parseResponses(buf: Buffer, methods: readonly string[], already: number): { responses: RawResponse[]; used: number; error?: string } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf(HEADER_END, at);
    if (end < 0) return { responses, used: at };
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(head[0] ?? '');
    if (statusLine === null) return { responses, used: at, error: `bad status line ${JSON.stringify(head[0])}` };
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { responses, used: at, error: `bad header line ${JSON.stringify(line)}` };
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const status = Number(statusLine[1]);
    const isHead = methods[already + responses.length] === 'HEAD';
    let length = 0;
    if (!isHead && status !== 204 && status !== 304) {
      const declared = headers.get('content-length');
      if (declared === undefined || !/^\d+$/.test(declared)) return { responses, used: at, error: `response ${status} without a usable Content-Length (${String(declared)})` };
      length = Number(declared);
    }
    const bodyStart = end + HEADER_END.length;
    if (buf.length < bodyStart + length) return { responses, used: at };
    responses.push({ status, headers, body: Buffer.from(buf.subarray(bodyStart, bodyStart + length)) });
    at = bodyStart + length;
  }
}

/** Sends `pieces` on one connection and collects the responses (see ExchangeOptions). */
export function exchange(port: number, pieces: readonly Buffer[], options: ExchangeOptions): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const responses: RawResponse[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let protocolError: string | undefined;
    let socketError: string | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        responses,
        closedByServer,
        ...(protocolError === undefined ? {} : { protocolError }),
        ...(socketError === undefined ? {} : { socketError }),
      });
    };
    // Re-armed on every byte received: the due answers get the long deadline, anything
    // after them only the idle window.
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), responses.length < options.due ? options.dueTimeoutMs : options.idleMs);
    };

    socket.on('data', (data: Buffer) => {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      const parsed = parseResponses(pending, options.methods, responses.length);
      responses.push(...parsed.responses);
      pending = pending.subarray(parsed.used);
      if (parsed.error !== undefined) {
        protocolError = parsed.error;
        finish(false);
        return;
      }
      if (responses.length >= options.methods.length && pending.length === 0) {
        finish(false);
        return;
      }
      arm();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') socketError = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (pending.length > 0 && protocolError === undefined) protocolError = `connection closed inside a response (${pending.length} bytes unparsed)`;
      finish(true);
    });
    socket.once('connect', () => {
      arm();
      const write = (i: number): void => {
        if (settled) return;
        // The idle window counts from the last byte written, not from the connect.
        if (i >= pieces.length) return arm();
        socket.write(pieces[i]!, () => setImmediate(() => write(i + 1)));
      };
      write(0);
    });
  });
}
