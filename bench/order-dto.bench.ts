// What reading and writing an OrderDto costs per record (every record of the stream
// threads and the simulators goes through both): with our own ids (53-bit, the text has
// no 16-digit run, so parseJsonLossless hands it to JSON.parse), and with the original
// service's 64-bit TSIDs past 2^53 (its small strict parser), against bare JSON.parse.
// A 3-item order, as the load generators send. Run: npm run build && node dist/bench/order-dto.bench.js
import { Bench } from 'tinybench';
import { IdGenerator } from '../src/domain/ids.js';
import { parseOrderDto, serializeOrderDto } from '../src/domain/order-dto.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const KEYS = 1024;
const ITEMS = 3;
const params = { records: KEYS, items: ITEMS, time: 1000 };
const m = printMachine('order-dto', params);

const ids = new IdGenerator(1);
const dtoText = (orderId: string, customerId: string, itemId: (i: number) => string): string =>
  `{"orderId":${orderId},"customerId":${customerId},"status":"NEW","source":null,"items":[` +
  Array.from({ length: ITEMS }, (_, i) => `{"itemId":${itemId(i)},"productId":"P-${100 + i}","quantity":${i + 1},"productPrice":${(12.5 + i).toFixed(2)}}`).join(',') +
  ']}';
const ours = Array.from({ length: KEYS }, () => Buffer.from(dtoText(String(ids.next()), '42', () => String(ids.next()))));
// Upstream-shaped: TSIDs about 9.1e17 for the order, its items and the customer.
const tsid = (k: number): string => String(910_000_000_000_000_000n + BigInt(k));
const upstream = Array.from({ length: KEYS }, (_, k) => Buffer.from(dtoText(tsid(k * 8), tsid(k * 8 + 1), (i) => tsid(k * 8 + 2 + i))));

// Where parseOrderDto refuses TSIDs (before this change), its case is left out.
const accepts = (b: Buffer): boolean => {
  try {
    parseOrderDto(b);
    return true;
  } catch {
    return false;
  }
};
const parsedOurs = ours.map((b) => parseOrderDto(b));
const parsedUpstream = accepts(upstream[0]!) ? upstream.map((b) => parseOrderDto(b)) : undefined;

let sink = 0;
let i = 0;
const bench = new Bench({ time: params.time, warmup: true });
bench
  .add('JSON.parse only (baseline: no validation, rounds TSIDs)', () => {
    sink ^= (JSON.parse(ours[i++ & (KEYS - 1)]!.toString('utf8')) as { items: unknown[] }).items.length;
  })
  .add('parseOrderDto, our 53-bit ids', () => {
    sink ^= parseOrderDto(ours[i++ & (KEYS - 1)]!).items.length;
  })
  .add('serializeOrderDto, our 53-bit ids', () => {
    sink ^= serializeOrderDto(parsedOurs[i++ & (KEYS - 1)]!).length;
  });
if (parsedUpstream !== undefined) {
  bench
    .add('parseOrderDto, 64-bit TSIDs past 2^53', () => {
      sink ^= parseOrderDto(upstream[i++ & (KEYS - 1)]!).items.length;
    })
    .add('serializeOrderDto, 64-bit TSIDs past 2^53', () => {
      sink ^= serializeOrderDto(parsedUpstream[i++ & (KEYS - 1)]!).length;
    });
} else {
  console.log('parseOrderDto refuses ids past 2^53 here: the TSID cases are left out');
}
await bench.run();

const rows = tinybenchRows(bench);
console.table(rows);
console.log(`(sink ${sink & 1})`);
console.log(`saved: ${saveResults('order-dto', { machine: m, params, rows })}`);
