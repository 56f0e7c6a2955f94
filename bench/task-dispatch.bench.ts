// The stream loop's per-task requests through the real stream threads (piscina,
// stream-thread.js, RocksDB stores): one message per task, as the commit cycle sent
// them, against one message per thread (StreamThreads.runEach). Six tasks on two
// threads, as the default layout has them; prepareCommit with an empty cache and
// postCommit with nothing to write, so what is timed is the dispatch itself. Besides
// tinybench's latency, the kafka thread's CPU per round (process.threadCpuUsage is
// not in Node 20: the process's CPU, stream threads included).
//   npm run build && npm run bench:task-dispatch
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { StreamThreads } from '../src/engine/stream-threads.js';
import type { TaskConfig, TaskRequest } from '../src/stream/protocol.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const TASKS = 6;
const params = { tasks: TASKS, threads: 2, time: 3000 };
const m = printMachine('task dispatch: kafka thread → stream threads, per commit phase', params);
const stateDir = mkdtempSync(join(tmpdir(), 'task-dispatch-'));
const threads = new StreamThreads(params.threads, undefined, { onThreadLost: (thread, err) => console.error(`thread ${thread} lost: ${err.message}`) });
const task = (partition: number): TaskConfig => ({
  partition,
  applicationId: 'task-dispatch-bench',
  stateDir,
  joinWindowMs: 10_000,
  joinMaxWaitMs: 60_000,
  numPartitions: TASKS,
  dlqPartitions: TASKS,
  repartitionInputs: false,
});
const partitions = Array.from({ length: TASKS }, (_, p) => p);
for (const partition of partitions) await threads.run(partition, { type: 'open', task: task(partition) });

const phase = (): TaskRequest[][] => [
  partitions.map((partition) => ({ type: 'prepareCommit', partition })),
  partitions.map((partition) => ({ type: 'postCommit', partition, changelogEnd: [] })),
];
const cpu: Record<string, { micros: number; rounds: number }> = {};
const timed = (name: string, round: () => Promise<void>): [string, () => Promise<void>] => {
  cpu[name] = { micros: 0, rounds: 0 };
  return [
    name,
    async () => {
      const before = process.cpuUsage();
      await round();
      const used = process.cpuUsage(before);
      cpu[name]!.micros += used.user + used.system;
      cpu[name]!.rounds++;
    },
  ];
};
const bench = new Bench({ time: params.time, warmup: true });
bench.add(
  ...timed('one message per task (6 × 2 per commit)', async () => {
    for (const requests of phase()) await Promise.all(requests.map((r) => threads.run(r.partition, r)));
  }),
);
bench.add(
  ...timed('one message per thread: runEach (2 × 2 per commit)', async () => {
    for (const requests of phase()) await threads.runEach(requests);
  }),
);
await bench.run();
await Promise.all(partitions.map((partition) => threads.run(partition, { type: 'close', partition, dirty: true })));
await threads.close();
rmSync(stateDir, { recursive: true, force: true });

const rows = tinybenchRows(bench).map((r) => ({ ...r, 'process CPU µs per commit': Math.round(cpu[r.task]!.micros / Math.max(1, cpu[r.task]!.rounds)) }));
console.table(rows);
console.log(`saved: ${saveResults('task-dispatch', { machine: m, params, rows })}`);
