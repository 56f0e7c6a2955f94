// Where the service reaches Postgres. DATABASE_URL names the database; when its host is
// this machine (localhost, 127.0.0.1, ::1), the same server is also reachable over its
// Unix socket, which skips the kernel's TCP path: on loopback the receiver's TCP work
// is charged to the sender's system call, and under intake load the HTTP thread spent
// a third of its time in `writev` to Postgres.
//
// DATABASE_SOCKET decides: `auto` (the default) takes the socket when the URL's host is
// loopback, names no socket or TLS options of its own, and `.s.PGSQL.<port>` exists in
// one of the usual socket directories; a directory takes the socket there; `off` keeps
// TCP. Either way the socket is used only if a probe connection over it succeeds at
// start: a server's pg_hba.conf may treat `local` connections differently from `host`
// ones (Debian's default is `peer` for local, which a container user fails), and a URL
// that works over TCP must keep working.
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { Logger } from '../logger.js';

/** Where Debian/Ubuntu (first) and upstream builds (second) put the socket. */
export const DEFAULT_SOCKET_DIRS: readonly string[] = ['/var/run/postgresql', '/tmp'];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// Parameters a socket connection would ignore or that say the client chose its path.
const TCP_ONLY_PARAMS = ['host', 'hostaddr', 'ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert'];

/** DATABASE_SOCKET: 'auto', 'off', or an absolute directory. */
export type DatabaseSocketSetting = string;

/**
 * The socket directory to try for `url`, or undefined for TCP. Pure but for `exists`
 * (a file check), which tests replace.
 */
export function socketDirFor(url: string, setting: DatabaseSocketSetting, exists: (path: string) => boolean = existsSync): string | undefined {
  if (setting === 'off') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!LOOPBACK_HOSTS.has(parsed.hostname.toLowerCase())) return undefined;
  if (TCP_ONLY_PARAMS.some((p) => parsed.searchParams.has(p))) return undefined;
  const port = parsed.port === '' ? '5432' : parsed.port;
  const dirs = setting === 'auto' ? DEFAULT_SOCKET_DIRS : [setting];
  return dirs.find((dir) => exists(`${dir.replace(/\/+$/, '')}/.s.PGSQL.${port}`));
}

/** `url` with its connections made over the socket in `dir` (pg reads a `host` parameter as the socket directory). */
export function withSocketDir(url: string, dir: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('host', dir);
  return parsed.toString();
}

/**
 * The URL every pool of the process uses: over the socket when `socketDirFor` finds one
 * and a probe connection through it answers, else `url` as given.
 */
export async function resolveDatabaseUrl(url: string, setting: DatabaseSocketSetting, log: Logger): Promise<string> {
  const dir = socketDirFor(url, setting);
  if (dir === undefined) {
    if (setting !== 'auto' && setting !== 'off') log.warn({ socketDir: setting }, 'DATABASE_SOCKET: no Postgres socket there for this DATABASE_URL; using TCP');
    return url;
  }
  const socketUrl = withSocketDir(url, dir);
  const probe = new pg.Client({ connectionString: socketUrl, connectionTimeoutMillis: 2000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.query('select 1');
    log.info({ socketDir: dir }, 'postgres: connecting over its Unix socket');
    return socketUrl;
  } catch (err) {
    log.warn({ socketDir: dir, err: (err as Error).message }, 'postgres: the Unix socket refused this DATABASE_URL; using TCP');
    return url;
  } finally {
    await probe.end().catch(() => undefined);
  }
}
