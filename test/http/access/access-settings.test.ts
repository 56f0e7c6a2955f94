// The access settings as loadConfig reads them from the environment (docs/security.md).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { sha256 } from '../../../src/http/access/api-keys.js';

const hex = (key: string): string => sha256(key).toString('hex');

function linesOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).lines;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('access settings', () => {
  it('are all off by default', () => {
    expect(loadConfig({}).access).toEqual({ apiKeys: [], requireApiKey: false, rateLimit: undefined, cors: undefined });
  });

  it('reads keys from API_KEYS and API_KEYS_FILE together', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'api-keys');
    writeFileSync(file, `ops:${hex('o')}:operator\n`);
    const { access } = loadConfig({ API_KEYS: `acme:${hex('a')}`, API_KEYS_FILE: file, REQUIRE_API_KEY: 'true' });
    expect(access.apiKeys).toEqual([
      { client: 'acme', digest: hex('a'), role: 'client' },
      { client: 'ops', digest: hex('o'), role: 'operator' },
    ]);
    expect(access.requireApiKey).toBe(true);
  });

  it('a rate limit has a burst of one second of it unless RATE_LIMIT_BURST says otherwise', () => {
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '1.5' }).access.rateLimit).toEqual({ perSecond: 1.5, burst: 2 });
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '0.2' }).access.rateLimit).toEqual({ perSecond: 0.2, burst: 1 });
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '100', RATE_LIMIT_BURST: '500' }).access.rateLimit).toEqual({ perSecond: 100, burst: 500 });
  });

  it('turns CORS on with CORS_ALLOWED_ORIGINS, with defaults for the rest', () => {
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://shop.example.com, http://localhost:3000' }).access.cors).toEqual({
      origins: ['https://shop.example.com', 'http://localhost:3000'],
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      headers: ['Content-Type', 'Idempotency-Key', 'X-API-Key'],
      exposedHeaders: ['Location', 'Retry-After', 'X-Served-By', 'X-Store-Lag'],
      maxAgeSeconds: 600,
    });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['keys required but none configured', { REQUIRE_API_KEY: 'true' }, /^REQUIRE_API_KEY="true": no API keys are configured/],
    ['a plain key', { API_KEYS: 'acme:hunter2' }, /^API_KEYS entry 1 \(acme\): not a SHA-256 digest/],
    ['one key for two clients', { API_KEYS: `a:${hex('k')},b:${hex('k')}` }, /clients a and b have the same key digest/],
    ['a key file that is not there', { API_KEYS_FILE: '/nonexistent/api-keys' }, /^API_KEYS_FILE="\/nonexistent\/api-keys": cannot read it/],
    ['a negative rate', { RATE_LIMIT_PER_SECOND: '-1' }, /^RATE_LIMIT_PER_SECOND="-1"/],
    ['a burst without a rate', { RATE_LIMIT_BURST: '10' }, /^RATE_LIMIT_BURST="10": has no effect/],
    ['an origin with a path', { CORS_ALLOWED_ORIGINS: 'https://shop.example.com/' }, /^CORS_ALLOWED_ORIGINS=.*https:\/\/shop.example.com\/ not an origin/],
    ['an origin without a scheme', { CORS_ALLOWED_ORIGINS: 'shop.example.com' }, /not an origin/],
    ['a header name with a space', { CORS_ALLOWED_HEADERS: 'X API Key' }, /^CORS_ALLOWED_HEADERS="X API Key"/],
  ])('refuses %s with one line', (_, env, line) => {
    expect(linesOf(env)).toEqual([expect.stringMatching(line)]);
  });

  it('a plain key in API_KEYS is not repeated in the error: it would end up in a log', () => {
    expect(linesOf({ API_KEYS: 'acme:sk_live_TOPSECRET' }).join('\n')).not.toContain('TOPSECRET');
  });

  it('is frozen and survives a structured clone (the HTTP thread gets the config that way)', () => {
    const config = loadConfig({ API_KEYS: `acme:${hex('a')}`, RATE_LIMIT_PER_SECOND: '5', CORS_ALLOWED_ORIGINS: '*' });
    expect(Object.isFrozen(config.access)).toBe(true);
    expect(Object.isFrozen(config.access.apiKeys[0])).toBe(true);
    expect(structuredClone(config.access)).toEqual(config.access);
  });
});
