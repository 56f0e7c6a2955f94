// Prints the node flags that size the kafka thread's heap from the memory budget, for
// scripts/start.sh: `node $(node dist/src/memory/node-args.js) dist/src/main.cjs`.
// Prints nothing when the configuration is invalid: the service then reports it.
import { loadConfig } from '../config.js';
import { heapFlag } from './kafka-thread-heap.js';

try {
  process.stdout.write(`${heapFlag(loadConfig().memory)}\n`);
} catch {
  process.stdout.write('\n');
}
