// Where other instances reach this one's HTTP API (Kafka Streams' application.server),
// and the parsing of such an address. Pure.
import { hostname } from 'node:os';
import type { Config } from '../config.js';

/** Addresses a server listens on that nobody can dial. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * APPLICATION_SERVER when set; else HOST (the hostname when HOST is a wildcard) and the
 * port actually listened on (which differs from PORT when PORT is 0).
 */
export function advertisedEndpoint(config: Pick<Config, 'applicationServer' | 'host'>, listeningPort: number): string {
  if (config.applicationServer !== undefined) return config.applicationServer;
  const host = WILDCARDS.has(config.host) ? hostname() : config.host;
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${listeningPort}`;
}

export interface Endpoint {
  /** Without brackets for IPv6, as node:http takes it. */
  readonly host: string;
  readonly port: number;
}

/** host:port or [ipv6]:port; undefined when it is neither. */
export function parseEndpoint(endpoint: string): Endpoint | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(endpoint);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}
