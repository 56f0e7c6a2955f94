// Which stream thread runs which task: pure functions, tested without threads.

/** The thread for a new task: the one with the fewest tasks, the lowest index on a tie. */
export function assignThread(load: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
  return best;
}

/** Groups records by partition, keeping each partition's order. */
export function groupByPartition<T extends { readonly partition: number }>(records: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const r of records) {
    let list = groups.get(r.partition);
    if (list === undefined) groups.set(r.partition, (list = []));
    list.push(r);
  }
  return groups;
}
