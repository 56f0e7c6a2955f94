// GET /v3/api-docs: the OpenAPI 3.1 document, where the original serves it (springdoc),
// built once at start from the routes registered before it (register it last, just
// before the fallback) and answered as the same bytes every time.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './openapi/document.js';
import { API_DOCS_ROUTE } from './openapi/operations.js';
import { json } from './reply.js';
import type { HttpServer } from './server.js';

/**
 * The version in the service's package.json: found by walking up from this file, as it
 * sits at src/http/ under the tests and at dist/src/http/ when built.
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'order-engine' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not ours): look further up.
    }
    if (dirname(dir) === dir) throw new Error(`package.json of order-engine not found above ${from}`);
  }
}

export function registerApiDocsRoute(http: HttpServer, version: string = packageVersion()): void {
  let body = '';
  http.route('get', API_DOCS_ROUTE, () => json(200, body));
  // After the route itself: the document describes every route, its own included.
  body = JSON.stringify(buildOpenApiDocument(http.routes, version));
}
