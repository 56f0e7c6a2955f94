// The access gate in front of every route: API key, role, rate limit. Each route's
// needs are settled once when it is registered (routeNeeds); per request `check` reads
// what it needs from uWS' req and res synchronously (they are gone after the handler
// returns) and answers a Rejection, or undefined to let the request through.
//
// Order of the checks: the rate limit first, counted per client for a valid key and per
// remote address otherwise, so guessing keys is limited like anything else; then a key
// that was sent but is unknown (401 on any route: a client learns its key is wrong),
// then a missing key where one is needed (401), then the role (403).
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { EngineError } from '../../errors.js';
import type { ApiKeyClient, ApiKeys, Role } from './api-keys.js';
import type { CorsPolicy } from './cors.js';
import { retryAfter, type RateLimiter } from './rate-limiter.js';

export const API_KEY_HEADER = 'x-api-key';

/**
 * What a route declares: `open` (probes, metrics, instance-to-instance reads: never
 * keyed nor limited), `client` (any valid key), `operator` (a key with that role).
 * Undeclared: reads need no key, writes need one when REQUIRE_API_KEY=true; both limited.
 */
export type Access = 'open' | 'client' | 'operator';

/** A route's needs, settled at registration. */
export interface RouteNeeds {
  readonly role: Role | undefined;
  readonly limited: boolean;
}

export type RejectReason = 'missing_key' | 'invalid_key' | 'forbidden' | 'rate_limited' | 'cors_rejected';

export interface Rejection {
  readonly reason: RejectReason;
  readonly error: EngineError;
  readonly headers: Readonly<Record<string, string>>;
}

export interface AccessGateOptions {
  /** Undefined or empty: no keys configured, every route open as before. */
  readonly keys: ApiKeys | undefined;
  /** Writes (POST, PUT, DELETE) need a key unless their route says otherwise. */
  readonly requireApiKey: boolean;
  readonly limiter: RateLimiter | undefined;
  readonly cors: CorsPolicy | undefined;
}

// No standard scheme exists for a key in a header of its own; this names it and the header.
const CHALLENGE = { 'WWW-Authenticate': 'ApiKey realm="order-service", header="X-API-Key"' };

const WRITES: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE']);

export class AccessGate {
  readonly #keys: ApiKeys | undefined;
  readonly #requireApiKey: boolean;
  readonly #limiter: RateLimiter | undefined;
  readonly cors: CorsPolicy | undefined;

  constructor(options: AccessGateOptions) {
    this.#keys = options.keys !== undefined && options.keys.size > 0 ? options.keys : undefined;
    this.#requireApiKey = options.requireApiKey && this.#keys !== undefined;
    this.#limiter = options.limiter;
    this.cors = options.cors;
  }

  /** A route's needs; undefined when there is nothing to check on it (the request goes straight through). */
  routeNeeds(method: string, access: Access | undefined): RouteNeeds | undefined {
    if (access === 'open') return undefined;
    const role: Role | undefined =
      this.#keys === undefined ? undefined
      : access === 'operator' ? 'operator'
      : access === 'client' || (this.#requireApiKey && WRITES.has(method)) ? 'client'
      : undefined;
    // With keys configured every request's key is checked (a wrong one is refused anywhere).
    if (this.#keys === undefined && this.#limiter === undefined) return undefined;
    return { role, limited: this.#limiter !== undefined };
  }

  /** Checks one request; reads `req` and `res`, so call it before the first await. */
  check(req: HttpRequest, res: HttpResponse, needs: RouteNeeds): Rejection | undefined {
    let client: ApiKeyClient | undefined;
    let wrongKey = false;
    if (this.#keys !== undefined) {
      const key = req.getHeader(API_KEY_HEADER);
      if (key !== '') {
        client = this.#keys.identify(key);
        wrongKey = client === undefined;
      }
    }
    if (needs.limited && this.#limiter !== undefined) {
      const who = client !== undefined ? `key:${client.name}` : `addr:${Buffer.from(res.getRemoteAddressAsText()).toString('latin1')}`;
      const wait = this.#limiter.take(who);
      if (wait > 0) {
        const seconds = retryAfter(wait);
        return {
          reason: 'rate_limited',
          error: new EngineError('ORD_ERR_RATE_LIMITED', `${client !== undefined ? `client ${client.name}` : 'this address'} sent more requests than its rate limit allows; retry after ${seconds} s`),
          headers: { 'Retry-After': seconds },
        };
      }
    }
    if (wrongKey) return { reason: 'invalid_key', error: new EngineError('ORD_ERR_UNAUTHORIZED', 'the X-API-Key is not valid'), headers: CHALLENGE };
    if (needs.role === undefined) return undefined;
    if (client === undefined) return { reason: 'missing_key', error: new EngineError('ORD_ERR_UNAUTHORIZED', 'this request needs an X-API-Key header'), headers: CHALLENGE };
    if (needs.role === 'operator' && client.role !== 'operator') {
      return { reason: 'forbidden', error: new EngineError('ORD_ERR_FORBIDDEN', `client ${client.name} may not do this: it needs the operator role`), headers: {} };
    }
    return undefined;
  }
}
