// Which methods each path has, for the `Allow` header of a 405. uWS only says that no
// route took a request; this answers whether the path exists under another method.
// Matching follows uWS' router: same number of segments, static segments equal
// (case-sensitive, no decoding), a `:param` segment matches any non-empty segment.

/** Methods in the order an `Allow` header lists them. */
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type AllowedMethod = (typeof METHOD_ORDER)[number];

interface Entry {
  readonly method: AllowedMethod;
  readonly segments: readonly string[];
}

function matches(segments: readonly string[], path: readonly string[]): boolean {
  if (segments.length !== path.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.startsWith(':') ? path[i] === '' : s !== path[i]) return false;
  }
  return true;
}

export class RouteTable {
  readonly #entries: Entry[] = [];

  add(method: AllowedMethod, pattern: string): void {
    this.#entries.push({ method, segments: pattern.split('/') });
  }

  /** The methods some route has for `path` (the URL without its query); empty: no such path. */
  allowed(path: string): AllowedMethod[] {
    const segments = path.split('/');
    const found = new Set<AllowedMethod>();
    for (const e of this.#entries) if (matches(e.segments, segments)) found.add(e.method);
    return METHOD_ORDER.filter((m) => found.has(m));
  }
}
