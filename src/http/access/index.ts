// Access control at the HTTP edge: API keys, roles, rate limits, CORS (docs/security.md).
export { AccessGate, API_KEY_HEADER, type Access, type RejectReason, type Rejection, type RouteNeeds } from './gate.js';
export { ApiKeys, duplicateDigests, parseApiKeys, readApiKeyFile, sha256, sha256Hex, type ApiKeyClient, type ApiKeyEntry, type Role } from './api-keys.js';
export { CorsPolicy, type CorsSettings } from './cors.js';
export { RateLimiter, retryAfter, type Clock, type RateLimit } from './rate-limiter.js';
export { accessConfig, accessSettings, type AccessConfig, type AccessSettingKey } from './access-settings.js';
