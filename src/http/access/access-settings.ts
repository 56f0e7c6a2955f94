// The settings of the access gate: read by src/config.ts with the others (one table,
// one validation), then checked together here, since they depend on each other and on
// a file (API_KEYS_FILE).
import type { Setting } from '../../settings.js';
import { duplicateDigests, parseApiKeys, readApiKeyFile, type ApiKeyEntry } from './api-keys.js';
import type { CorsSettings } from './cors.js';
import type { RateLimit } from './rate-limiter.js';

export interface AccessConfig {
  /** Digests of the configured keys; empty: access control is off (every route open, as before). */
  readonly apiKeys: readonly ApiKeyEntry[];
  /** Every POST, PUT and DELETE needs a key (besides /api/orders/generate and operator routes, which always do once keys exist). */
  readonly requireApiKey: boolean;
  /** Per client (key) or per remote address (no valid key); undefined: unlimited. */
  readonly rateLimit: RateLimit | undefined;
  /** Undefined: CORS off (no CORS headers; OPTIONS gets 405 as any unknown method). */
  readonly cors: CorsSettings | undefined;
}

export type AccessSettingKey =
  | 'apiKeys'
  | 'apiKeysFile'
  | 'requireApiKey'
  | 'rateLimitPerSecond'
  | 'rateLimitBurst'
  | 'corsAllowedOrigins'
  | 'corsAllowedMethods'
  | 'corsAllowedHeaders'
  | 'corsExposedHeaders'
  | 'corsMaxAgeSeconds';

const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

export const accessSettings: readonly Setting<AccessSettingKey>[] = [
  { env: 'API_KEYS', key: 'apiKeys', schema: { type: 'string', minLength: 1 } },
  { env: 'API_KEYS_FILE', key: 'apiKeysFile', schema: { type: 'string', minLength: 1 } },
  { env: 'REQUIRE_API_KEY', key: 'requireApiKey', schema: { type: 'boolean' }, default: false },
  { env: 'RATE_LIMIT_PER_SECOND', key: 'rateLimitPerSecond', schema: { type: 'number', minimum: 0, maximum: 1_000_000 }, default: 0 },
  { env: 'RATE_LIMIT_BURST', key: 'rateLimitBurst', schema: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
  { env: 'CORS_ALLOWED_ORIGINS', key: 'corsAllowedOrigins', schema: { type: 'string', minLength: 1 } },
  { env: 'CORS_ALLOWED_METHODS', key: 'corsAllowedMethods', schema: { type: 'string', pattern: '^\\s*[A-Za-z]+(\\s*,\\s*[A-Za-z]+)*\\s*$' }, default: 'GET,POST,PUT,DELETE' },
  {
    env: 'CORS_ALLOWED_HEADERS',
    key: 'corsAllowedHeaders',
    schema: { type: 'string', pattern: '^\\s*[A-Za-z0-9-]+(\\s*,\\s*[A-Za-z0-9-]+)*\\s*$' },
    default: 'Content-Type,Idempotency-Key,X-API-Key',
  },
  {
    env: 'CORS_EXPOSED_HEADERS',
    key: 'corsExposedHeaders',
    schema: { type: 'string', pattern: '^\\s*[A-Za-z0-9-]+(\\s*,\\s*[A-Za-z0-9-]+)*\\s*$' },
    default: 'Location,Retry-After,X-Served-By,X-Store-Lag',
  },
  { env: 'CORS_MAX_AGE_SECONDS', key: 'corsMaxAgeSeconds', schema: { type: 'integer', minimum: 0, maximum: 86_400 }, default: 600 },
];

// scheme://host[:port], as a browser sends Origin: no path, no trailing slash.
const ORIGIN = /^https?:\/\/[^/\s,]+$/;

/** Builds the access settings from their raw values; `lines` names each bad one. */
export function accessConfig(raw: Readonly<Record<AccessSettingKey, unknown>>): { readonly access: AccessConfig; readonly lines: readonly string[] } {
  const lines: string[] = [];
  const apiKeys: ApiKeyEntry[] = [];
  for (const parsed of [
    raw.apiKeys === undefined ? undefined : parseApiKeys(raw.apiKeys as string, 'API_KEYS'),
    raw.apiKeysFile === undefined ? undefined : readApiKeyFile(raw.apiKeysFile as string),
  ]) {
    if (parsed === undefined) continue;
    apiKeys.push(...parsed.entries);
    lines.push(...parsed.problems);
  }
  lines.push(...duplicateDigests(apiKeys));
  const requireApiKey = raw.requireApiKey as boolean;
  if (requireApiKey && apiKeys.length === 0 && lines.length === 0) lines.push('REQUIRE_API_KEY="true": no API keys are configured (API_KEYS or API_KEYS_FILE)');

  const perSecond = raw.rateLimitPerSecond as number;
  const burst = raw.rateLimitBurst as number | undefined;
  if (burst !== undefined && perSecond === 0) lines.push(`RATE_LIMIT_BURST=${JSON.stringify(String(burst))}: has no effect without RATE_LIMIT_PER_SECOND`);
  const rateLimit = perSecond > 0 ? Object.freeze({ perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond)) }) : undefined;

  let cors: CorsSettings | undefined;
  if (raw.corsAllowedOrigins !== undefined) {
    const origins = list(raw.corsAllowedOrigins as string);
    const bad = origins.filter((o) => o !== '*' && !ORIGIN.test(o));
    if (bad.length > 0) lines.push(`CORS_ALLOWED_ORIGINS=${JSON.stringify(raw.corsAllowedOrigins)}: ${bad.join(', ')} not an origin (scheme://host[:port], no path) or *`);
    cors = Object.freeze({
      origins: Object.freeze(origins),
      methods: Object.freeze(list(raw.corsAllowedMethods as string).map((m) => m.toUpperCase())),
      headers: Object.freeze(list(raw.corsAllowedHeaders as string)),
      exposedHeaders: Object.freeze(list(raw.corsExposedHeaders as string)),
      maxAgeSeconds: raw.corsMaxAgeSeconds as number,
    });
  }
  return { access: Object.freeze({ apiKeys: Object.freeze(apiKeys.map((e) => Object.freeze(e))), requireApiKey, rateLimit, cors }), lines };
}
