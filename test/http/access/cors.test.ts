import { describe, expect, it } from 'vitest';
import { CorsPolicy, type CorsSettings } from '../../../src/http/access/cors.js';

const settings: CorsSettings = {
  origins: ['https://shop.example.com', 'http://localhost:3000'],
  methods: ['GET', 'POST', 'PUT', 'DELETE'],
  headers: ['Content-Type', 'Idempotency-Key', 'X-API-Key'],
  exposedHeaders: ['Location', 'Retry-After'],
  maxAgeSeconds: 600,
};

describe('CorsPolicy.responseHeaders', () => {
  const cors = new CorsPolicy(settings);

  it('allows a listed origin by name, with the exposed headers, varying on Origin', () => {
    expect(cors.responseHeaders('https://shop.example.com')).toEqual({
      'Access-Control-Allow-Origin': 'https://shop.example.com',
      'Access-Control-Expose-Headers': 'Location, Retry-After',
      Vary: 'Origin',
    });
  });

  it.each(['', 'https://evil.example.com', 'https://shop.example.com.evil.com', 'http://shop.example.com', 'null'])(
    'gives origin %j no Access-Control-Allow-Origin, only Vary',
    (origin) => {
      expect(cors.responseHeaders(origin)).toEqual({ Vary: 'Origin' });
    },
  );

  it("with '*' allows any origin as '*' and needs no Vary", () => {
    const any = new CorsPolicy({ ...settings, origins: ['*'] });
    expect(any.responseHeaders('https://anything.example')).toEqual({ 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Location, Retry-After' });
    expect(any.responseHeaders('')).toEqual({});
  });
});

describe('CorsPolicy.preflight', () => {
  const cors = new CorsPolicy(settings);

  it('answers an allowed origin, method and headers with what is allowed and for how long', () => {
    expect(cors.preflight('http://localhost:3000', 'POST', 'content-type, x-api-key')).toEqual({
      ok: true,
      headers: {
        'Access-Control-Allow-Origin': 'http://localhost:3000',
        'Access-Control-Expose-Headers': 'Location, Retry-After',
        'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
        'Access-Control-Allow-Headers': 'Content-Type, Idempotency-Key, X-API-Key',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      },
    });
  });

  it.each([
    ['https://evil.example.com', 'POST', '', /origin https:\/\/evil.example.com is not allowed/],
    ['', 'POST', '', /needs an Origin/],
    ['http://localhost:3000', 'PATCH', '', /method PATCH is not allowed/],
    ['http://localhost:3000', 'POST', 'content-type, x-secret, authorization', /not allowed for cross-origin requests: x-secret, authorization/],
  ])('refuses origin %j, method %s, headers %j', (origin, method, headers, detail) => {
    const answer = cors.preflight(origin, method, headers);
    expect(answer.ok).toBe(false);
    expect(answer).toMatchObject({ detail: expect.stringMatching(detail) });
    expect(answer.headers['Access-Control-Allow-Origin']).toBeUndefined();
  });
});
