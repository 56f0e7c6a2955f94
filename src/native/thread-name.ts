// OS thread names for the service's own threads ('http', 'stream-N'): Node leaves every
// worker named after the process, so top -H, perf and pidstat showed a row of `node`s.
// The main thread (the kafka thread) keeps the process's name, which `ps` and `pkill`
// match. librdkafka and RocksDB name their threads themselves (rdk:*, rocksdb:*).
import { binding } from './binding.js';

/** Names the calling thread (at most 15 bytes are kept); false where that is not possible. */
export function nameThread(name: string): boolean {
  if (name.length === 0) throw new RangeError('a thread name must not be empty');
  return binding.setThreadName(name);
}
