// The far end of bench/dispatch.bench.ts: takes a batch of records the way a stream
// thread would (a cloned array, or msgpackr bytes it unpacks), touches every value so
// nothing is left lazy, and answers with a count. Serves both a plain worker's port
// and piscina's task function.
import { parentPort } from 'node:worker_threads';
import { unpack } from 'msgpackr';

interface Rec {
  readonly topic: string;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Uint8Array | null;
  readonly timestamp: number;
}

export type DispatchMessage = { readonly records: readonly Rec[] } | { readonly packed: Uint8Array };

function consume(msg: DispatchMessage): number {
  const records = 'packed' in msg ? (unpack(msg.packed) as Rec[]) : msg.records;
  let bytes = 0;
  for (const r of records) bytes += (r.value?.byteLength ?? 0) + (r.key?.length ?? 0);
  return bytes;
}

parentPort?.on('message', (msg: DispatchMessage) => parentPort!.postMessage(consume(msg)));

export default consume;
