// What a service instance's own log (pino JSON lines on stdout) says about its tasks:
// each assignment it finished ('tasks assigned and restored', with the partitions),
// and each changelog restore ('restore: started' with how many records are due,
// 'restore: done' with how many were read). Read defensively: the engine's messages
// are being reworked, so a line is matched by words, not by its exact text, fields
// of another shape are skipped, and what cannot be found is simply not reported.
// Pure: times are the lines' own `time` (epoch ms).

export interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Assignment {
  readonly time: number;
  readonly partitions: readonly number[];
}

export interface Restore {
  readonly startedAt: number;
  /** Undefined while (or if) the restore never finished. */
  readonly doneAt: number | undefined;
  /** Records the restore said were due ('upTo' or 'of'), if it said. */
  readonly due: number | undefined;
  /** Records read, from the 'done' line (or the last 'progress' line). */
  readonly records: number;
}

export interface InstanceLog {
  readonly assignments: readonly Assignment[];
  readonly restores: readonly Restore[];
  /** The 'shutting down' and 'stopped' lines of a shutdown, if any. */
  readonly shutdown: { readonly startedAt: number | undefined; readonly stoppedAt: number | undefined };
}

/** Each line that is a JSON object with a numeric `time` and a string `msg`; anything else is passed over. */
export function parseLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of output.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const fields = JSON.parse(raw) as Record<string, unknown>;
      if (typeof fields.time === 'number' && typeof fields.msg === 'string') lines.push({ time: fields.time, msg: fields.msg, fields });
    } catch {
      // a line cut short (a killed process) or not JSON
    }
  }
  return lines;
}

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** Partitions from `tasks`: numbers, or objects with a numeric `partition` (or `id`). */
function partitionsOf(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: number[] = [];
  for (const t of value) {
    const p = typeof t === 'number' ? t : typeof t === 'object' && t !== null ? count((t as { partition?: unknown }).partition ?? (t as { id?: unknown }).id) : undefined;
    if (p !== undefined) out.push(p);
  }
  return out;
}

export function readInstanceLog(output: string): InstanceLog {
  const assignments: Assignment[] = [];
  const restores: { startedAt: number; doneAt: number | undefined; due: number | undefined; records: number }[] = [];
  let shutdownAt: number | undefined;
  let stoppedAt: number | undefined;
  for (const line of parseLines(output)) {
    const msg = line.msg.toLowerCase();
    if (msg.includes('tasks assigned')) {
      const partitions = partitionsOf(line.fields.tasks ?? line.fields.partitions ?? line.fields.assigned);
      if (partitions !== undefined) assignments.push({ time: line.time, partitions });
    } else if (msg.startsWith('restore') || line.fields.component === 'restore') {
      const open = restores.at(-1);
      if (msg.includes('start')) restores.push({ startedAt: line.time, doneAt: undefined, due: count(line.fields.upTo ?? line.fields.of), records: 0 });
      else if (open !== undefined && open.doneAt === undefined && msg.includes('progress')) {
        open.records = count(line.fields.restored) ?? open.records;
        open.due ??= count(line.fields.of);
      } else if (open !== undefined && open.doneAt === undefined && msg.includes('done')) {
        open.doneAt = line.time;
        open.records = count(line.fields.restored) ?? open.records;
      }
    } else if (msg === 'shutting down') shutdownAt ??= line.time;
    else if (msg === 'stopped') stoppedAt = line.time;
  }
  return { assignments, restores, shutdown: { startedAt: shutdownAt, stoppedAt } };
}
