// API keys of the B2B clients. Configuration holds only SHA-256 digests of the keys
// (`client:sha256-hex`, optionally `:operator`), never the keys: a leaked config map
// or environment dump gives nobody a working key.
//
// A request's X-API-Key is hashed once; the digest finds the client in a Map, then
// crypto.timingSafeEqual compares the digests. The Map's lookup time depends only on
// the digest, and learning a digest byte by byte brings an attacker no closer to a key
// that produces it (a preimage), so nothing about a configured key leaks through
// timing. Keys are random secrets, not passwords: a fast hash is the right one (a slow
// KDF would be a DoS lever). crypto.hash, one call to hex, costs a third of
// createHash().update().digest() on Node 20: no Hash object per request.
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const roles = ['client', 'operator'] as const;
export type Role = (typeof roles)[number];

/** One configured key: the client it belongs to, the SHA-256 of the key (hex, lowercase), and its role. */
export interface ApiKeyEntry {
  readonly client: string;
  readonly digest: string;
  readonly role: Role;
}

export interface ParsedKeys {
  readonly entries: readonly ApiKeyEntry[];
  /** One line per bad entry, naming where it came from (its position, never its digest). */
  readonly problems: readonly string[];
}

const ENTRY = /^([A-Za-z0-9._-]{1,64}):([^:]*)(?::([^:]*))?$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Parses `client:sha256-hex[:operator]` entries, separated by commas, spaces or new
 * lines; `#` starts a comment to the end of its line. `source` names the setting in
 * problems (API_KEYS, or the file of API_KEYS_FILE).
 */
export function parseApiKeys(text: string, source: string): ParsedKeys {
  const entries: ApiKeyEntry[] = [];
  const problems: string[] = [];
  const tokens = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((t) => t !== '');
  tokens.forEach((token, i) => {
    const where = `${source} entry ${i + 1}`;
    const m = ENTRY.exec(token);
    if (m === null) {
      problems.push(`${where}: expected client:sha256-hex[:operator] (a client name of letters, digits, '.', '_', '-')`);
      return;
    }
    const [, client, digest, role = 'client'] = m as unknown as [string, string, string, string | undefined];
    // Say what is wrong without echoing it: a plain key pasted here is a secret in a log.
    if (!SHA256_HEX.test(digest)) problems.push(`${where} (${client}): not a SHA-256 digest in hex (64 characters); configure printf %s "$KEY" | sha256sum, never the key itself`);
    else if (!(roles as readonly string[]).includes(role)) problems.push(`${where} (${client}): unknown role (the third field); use operator or leave it out`);
    else entries.push({ client, digest: digest.toLowerCase(), role: role as Role });
  });
  return { entries, problems };
}

/** Reads API_KEYS_FILE (a mounted Kubernetes Secret, say) and parses it; an unreadable file is one problem. */
export function readApiKeyFile(path: string): ParsedKeys {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { entries: [], problems: [`API_KEYS_FILE=${JSON.stringify(path)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`] };
  }
  return parseApiKeys(text, `API_KEYS_FILE ${path}`);
}

/** Entries found twice with the same digest: one key must name one client. */
export function duplicateDigests(entries: readonly ApiKeyEntry[]): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const e of entries) {
    const other = seen.get(e.digest);
    if (other !== undefined) problems.push(`API keys: clients ${other} and ${e.client} have the same key digest; one key must name one client`);
    else seen.set(e.digest, e.client);
  }
  return problems;
}

export const sha256Hex = (key: string): string => hash('sha256', key, 'hex');
export const sha256 = (key: string): Buffer => Buffer.from(sha256Hex(key), 'hex');

interface KnownKey {
  readonly digest: Buffer;
  readonly client: ApiKeyClient;
}

/** Who a valid key belongs to. One object per client and role, shared by its keys (rate limits count per client). */
export interface ApiKeyClient {
  readonly name: string;
  readonly role: Role;
}

export class ApiKeys {
  readonly #byDigest = new Map<string, KnownKey>();

  constructor(entries: readonly ApiKeyEntry[]) {
    const clients = new Map<string, ApiKeyClient>();
    for (const e of entries) {
      const id = `${e.client}\n${e.role}`;
      let client = clients.get(id);
      if (client === undefined) clients.set(id, (client = Object.freeze({ name: e.client, role: e.role })));
      this.#byDigest.set(e.digest, { digest: Buffer.from(e.digest, 'hex'), client });
    }
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** The client of `key`, or undefined for a key nobody configured. Hashes the key once. */
  identify(key: string): ApiKeyClient | undefined {
    const digest = sha256Hex(key);
    const known = this.#byDigest.get(digest);
    return known !== undefined && timingSafeEqual(known.digest, Buffer.from(digest, 'hex')) ? known.client : undefined;
  }
}
