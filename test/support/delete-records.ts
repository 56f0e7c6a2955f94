// DeleteRecords from a test (see DeleteRecords.java): the log start offset of each
// partition moved to `offset`, as an operator's kafka-delete-records.sh or a retention
// set on the topic would. A compact-only topic's cleanup.policy becomes compact,delete
// first (the broker refuses DeleteRecords otherwise). Runs the JVM on the broker's own jars (.infra/kafka-libs,
// fetched by scripts/infra-up.sh before any test broker starts).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface RecordsToDelete {
  readonly topic: string;
  readonly partition: number;
  /** Records before this offset are deleted. */
  readonly offset: number;
}

/** Resolves with each partition's new log start offset, keyed `topic-partition`. */
export function deleteRecords(bootstrapServers: string, records: readonly RecordsToDelete[], repoDir = process.cwd()): Promise<Map<string, number>> {
  const args = ['-cp', join(repoDir, '.infra', 'kafka-libs', '*'), join(repoDir, 'test', 'support', 'DeleteRecords.java'), bootstrapServers];
  for (const r of records) args.push(`${r.topic}:${r.partition}:${r.offset}`);
  return new Promise((resolve, reject) =>
    execFile('java', args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`DeleteRecords failed: ${err.message}\n${stderr}`));
      const lows = new Map<string, number>();
      for (const line of stdout.split('\n')) {
        const [tp, low] = line.trim().split(' ');
        if (tp !== undefined && low !== undefined) lows.set(tp, Number(low));
      }
      resolve(lows);
    }),
  );
}
