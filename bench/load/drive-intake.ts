// Intake driver (forked by bench:load): POST /api/orders from autocannon, closed loop
// over `connections` keep-alive connections, for the duration. Each response's time
// goes into the second's histogram; a non-2xx answer or a socket error is an error.
import { FIXED_ORDER_BODY } from '../order-load.js';
import autocannon from 'autocannon';
import { driverConfig, SecondRecorder } from './driver-side.js';

const config = driverConfig('intake');
const body = FIXED_ORDER_BODY;

const recorder = new SecondRecorder();
const instance = autocannon({
  url: `${config.url}/api/orders`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
  duration: config.durationS,
  connections: config.connections,
});
const started = recorder.start();
// Awaited, autocannon's instance is typed as its result's promise; it is also the emitter.
const events = instance as unknown as NodeJS.EventEmitter;
events.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
  recorder.record(responseTimeMs);
  recorder.completed();
  if (statusCode < 200 || statusCode > 299) recorder.error();
});
events.on('reqError', () => recorder.error());
const result = await instance;
const seconds = (performance.now() - started) / 1000;
await recorder.finish(result['2xx'] / seconds, {
  '2xx': result['2xx'],
  'non-2xx': result.non2xx,
  'socket errors': result.errors,
  timeouts: result.timeouts,
  connections: config.connections,
});
process.exit(0);
