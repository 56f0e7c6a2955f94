import { describe, expect, it } from 'vitest';
import { socketDirFor, withSocketDir } from '../../src/db/connection.js';

const sockets = (...paths: string[]) => (path: string): boolean => paths.includes(path);
const DEBIAN = sockets('/var/run/postgresql/.s.PGSQL.5432');

describe('socketDirFor', () => {
  it.each([
    'postgres://postgres@127.0.0.1:5432/order_service',
    'postgresql://u:p@localhost/orders',
    'postgres://u@LOCALHOST:5432/orders',
    'postgres://u@[::1]:5432/orders',
  ])('takes the socket for a loopback host (%s) when it exists', (url) => {
    expect(socketDirFor(url, 'auto', DEBIAN)).toBe('/var/run/postgresql');
  });

  it('looks for the socket of the URL port', () => {
    expect(socketDirFor('postgres://u@127.0.0.1:5433/db', 'auto', DEBIAN)).toBeUndefined();
    expect(socketDirFor('postgres://u@127.0.0.1:5433/db', 'auto', sockets('/tmp/.s.PGSQL.5433'))).toBe('/tmp');
  });

  it('keeps TCP for another host, a missing socket, off, or a URL that chose its own path or TLS', () => {
    expect(socketDirFor('postgres://u@db:5432/orders', 'auto', DEBIAN)).toBeUndefined();
    expect(socketDirFor('postgres://u@10.0.0.5:5432/orders', 'auto', DEBIAN)).toBeUndefined();
    expect(socketDirFor('postgres://u@127.0.0.1:5432/orders', 'auto', sockets())).toBeUndefined();
    expect(socketDirFor('postgres://u@127.0.0.1:5432/orders', 'off', DEBIAN)).toBeUndefined();
    expect(socketDirFor('postgres://u@127.0.0.1:5432/orders?sslmode=require', 'auto', DEBIAN)).toBeUndefined();
    expect(socketDirFor('postgres://u@127.0.0.1:5432/orders?host=/elsewhere', 'auto', DEBIAN)).toBeUndefined();
    expect(socketDirFor('not a url', 'auto', DEBIAN)).toBeUndefined();
  });

  it('uses only the directory given, with or without a trailing slash', () => {
    expect(socketDirFor('postgres://u@127.0.0.1/db', '/run/pg/', sockets('/run/pg/.s.PGSQL.5432'))).toBe('/run/pg/');
    expect(socketDirFor('postgres://u@127.0.0.1/db', '/run/pg', DEBIAN)).toBeUndefined();
  });
});

describe('withSocketDir', () => {
  it('keeps user, password, port, database and parameters, and adds the socket directory', () => {
    const url = new URL(withSocketDir('postgres://u:p%40ss@127.0.0.1:5432/orders?application_name=x', '/var/run/postgresql'));
    expect(url.username).toBe('u');
    expect(decodeURIComponent(url.password)).toBe('p@ss');
    expect(url.port).toBe('5432');
    expect(url.pathname).toBe('/orders');
    expect(url.searchParams.get('application_name')).toBe('x');
    expect(url.searchParams.get('host')).toBe('/var/run/postgresql');
  });
});
