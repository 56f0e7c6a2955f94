// The kafka (main) thread's V8 heap is fixed when the process starts, before any of
// our code runs: only a flag can size it. scripts/start.sh passes the one printed by
// src/memory/node-args.ts; the service checks at start that it was applied.
import { getHeapStatistics } from 'node:v8';
import type { MemoryBudget } from './memory-budget.js';

/** The flag that gives the kafka thread its share of the budget. */
export const heapFlag = (budget: MemoryBudget): string => `--max-old-space-size=${budget.heapMb.kafkaThread}`;

/**
 * Why the running heap limit does not match the budget, or undefined when it does.
 * V8's limit also counts the young generation, hence the slack.
 */
export function heapLimitMismatch(budget: MemoryBudget, heapSizeLimit = getHeapStatistics().heap_size_limit): string | undefined {
  const mb = Math.round(heapSizeLimit / 1024 / 1024);
  if (mb <= budget.heapMb.kafkaThread * 1.25 + 64) return undefined;
  return `the kafka thread's V8 heap may grow to ${mb} MiB, above its ${budget.heapMb.kafkaThread} MiB share of the memory budget: start with scripts/start.sh or node ${heapFlag(budget)}`;
}
