// The HTTP layer's own ceiling for store reads: a bare uWebSockets.js server (one
// thread, no routing table, no validation, no cross-thread hop) answering
// GET /api/orders/store/{id} with the order's JSON from a Map, as the service's store
// would. The bodies are the service's own answers, read from a file of
// `id<TAB>json` lines. Prints `listening <port>` when ready.
//
//   node dist/bench/bare-uws-server.js <bodies file>
import { readFileSync } from 'node:fs';
import uWS from 'uWebSockets.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: bare-uws-server <bodies file>');
const bodies = new Map<string, Buffer>();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const tab = line.indexOf('\t');
  if (tab > 0) bodies.set(line.slice(0, tab), Buffer.from(line.slice(tab + 1)));
}
const PREFIX = '/api/orders/store/';

uWS
  .App()
  .get('/api/orders/store/:id', (res, req) => {
    const body = bodies.get(req.getParameter(0) ?? '');
    res.cork(() => {
      if (body === undefined) res.writeStatus('404 Not Found').end();
      else res.writeHeader('content-type', 'application/json').end(body);
    });
  })
  .any('/*', (res) => void res.writeStatus('404 Not Found').end())
  .listen('127.0.0.1', 0, (socket) => {
    if (socket === false) throw new Error('cannot listen');
    console.log(`listening ${uWS.us_socket_local_port(socket)} (${bodies.size} orders under ${PREFIX})`);
  });
