// The checkpoint of a task: up to which changelog offset its local stores hold the
// committed state, in Kafka Streams' OffsetCheckpoint format, so a restarted task
// restores only from there. `.checkpoint` in the task directory:
//
//   0                      version
//   2                      number of entries
//   topic partition offset one line each
//
// Written atomically (temp file, fsync, rename, fsync of the directory): a crash
// leaves either the old or the new file, never a torn one. A leftover
// `.checkpoint.tmp` from such a crash is never read and is overwritten by the next
// write. A file that does not parse is ORD_ERR_STATE_CORRUPTED, not an empty
// checkpoint: restoring from the beginning over a store that already has data is only
// right if the store is wiped first, which is what that error's recovery class asks
// of the caller (Task.wipe).
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../errors.js';

export const CHECKPOINT_FILE = '.checkpoint';
const TMP_SUFFIX = '.tmp';
const VERSION = '0';
// Kafka's legal topic characters: no spaces, and no ':' so the map key splits cleanly.
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The map key of a changelog partition. */
export const checkpointKey = (topic: string, partition: number): string => `${topic}:${partition}`;

const corrupt = (file: string, why: string): EngineError => new EngineError('ORD_ERR_STATE_CORRUPTED', `checkpoint ${file} is corrupt: ${why}`);

const isOffset = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isPartition = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1;

/** Offsets by `${topic}:${partition}`; empty if the task has no checkpoint yet. */
export async function readCheckpoint(dir: string): Promise<Map<string, number>> {
  const file = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new EngineError('ORD_ERR_INTERNAL', `cannot read checkpoint ${file}`, { cause: err });
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== VERSION) throw corrupt(file, `unknown version ${JSON.stringify(lines[0] ?? '')}`);
  const count = Number(lines[1]);
  if (lines[1] === undefined || !/^\d+$/.test(lines[1]) || !Number.isSafeInteger(count)) throw corrupt(file, `bad entry count ${JSON.stringify(lines[1] ?? '')}`);
  if (lines.length - 2 !== count) throw corrupt(file, `expected ${count} entries, found ${lines.length - 2}`);
  const offsets = new Map<string, number>();
  for (let i = 2; i < lines.length; i++) {
    const [topic, p, o, ...rest] = lines[i]!.split(' ');
    const partition = Number(p);
    const offset = Number(o);
    const valid = topic !== undefined && TOPIC.test(topic) && rest.length === 0 && /^\d+$/.test(p ?? '') && /^\d+$/.test(o ?? '') && isPartition(partition) && isOffset(offset);
    if (!valid) throw corrupt(file, `bad line ${i + 1}: ${JSON.stringify(lines[i])}`);
    const key = checkpointKey(topic, partition);
    if (offsets.has(key)) throw corrupt(file, `${key} appears twice`);
    offsets.set(key, offset);
  }
  return offsets;
}

/** Replaces the checkpoint of the task in `dir` (which must exist) atomically and durably. */
export async function writeCheckpoint(dir: string, offsets: ReadonlyMap<string, number>): Promise<void> {
  const lines: string[] = [];
  for (const [key, offset] of offsets) {
    const colon = key.lastIndexOf(':');
    const topic = key.slice(0, colon);
    const partition = Number(key.slice(colon + 1));
    if (colon < 0 || !TOPIC.test(topic) || !/^\d+$/.test(key.slice(colon + 1)) || !isPartition(partition)) {
      throw new EngineError('ORD_ERR_INTERNAL', `checkpoint key ${JSON.stringify(key)} is not "topic:partition"`);
    }
    if (!isOffset(offset)) throw new EngineError('ORD_ERR_INTERNAL', `checkpoint offset of ${key} must be a non-negative integer, got ${offset}`);
    lines.push(`${topic} ${partition} ${offset}`);
  }
  lines.sort();
  const file = join(dir, CHECKPOINT_FILE);
  const tmp = file + TMP_SUFFIX;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${VERSION}\n${lines.length}\n${lines.map((l) => l + '\n').join('')}`, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  // The rename is durable only once the directory entry is.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Removes the checkpoint, as Kafka Streams does before a task wipes its stores. */
export async function deleteCheckpoint(dir: string): Promise<void> {
  await rm(join(dir, CHECKPOINT_FILE), { force: true });
}
