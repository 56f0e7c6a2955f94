import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { CHECKPOINT_FILE, checkpointKey, deleteCheckpoint, readCheckpoint, writeCheckpoint } from '../../src/state/checkpoint.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'order-engine-checkpoint-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoint', () => {
  it.each([
    ['no offsets', []],
    ['one changelog partition', [['order-service-orders-store-changelog:3', 1234]]],
    [
      'several topics and partitions',
      [
        ['order-service-orders-store-changelog:0', 0],
        ['order-service-orders-store-changelog:11', 7],
        ['order-service-saga-join-store-changelog:0', 42],
      ],
    ],
    ['the largest exact offset', [['t:2147483647', Number.MAX_SAFE_INTEGER]]],
  ] as [string, [string, number][]][])('reads back what was written: %s', async (_name, entries) => {
    await writeCheckpoint(dir, new Map(entries));
    expect(await readCheckpoint(dir)).toEqual(new Map(entries));
  });

  it("writes Kafka Streams' OffsetCheckpoint text: version, count, one sorted line per partition", async () => {
    await writeCheckpoint(
      dir,
      new Map([
        [checkpointKey('b-changelog', 1), 20],
        [checkpointKey('a-changelog', 0), 10],
      ]),
    );
    expect(readFileSync(join(dir, CHECKPOINT_FILE), 'utf8')).toBe('0\n2\na-changelog 0 10\nb-changelog 1 20\n');
  });

  it('reads a missing checkpoint as empty (a new task restores from the beginning)', async () => {
    expect(await readCheckpoint(dir)).toEqual(new Map());
  });

  it.each([
    ['an empty file', ''],
    ['an unknown version', '1\n0\n'],
    ['a missing count', '0\n'],
    ['a count that is not a number', '0\nx\n'],
    ['fewer entries than counted', '0\n2\nt 0 1\n'],
    ['more entries than counted', '0\n1\nt 0 1\nt 1 1\n'],
    ['a line with four fields', '0\n1\nt 0 1 9\n'],
    ['a negative offset', '0\n1\nt 0 -1\n'],
    ['a fractional offset', '0\n1\nt 0 1.5\n'],
    ['an offset past 2^53', '0\n1\nt 0 9007199254740993\n'],
    ['a topic with an illegal character', '0\n1\nt:x 0 1\n'],
    ['the same partition twice', '0\n2\nt 0 1\nt 0 2\n'],
    ['a blank line among entries', '0\n2\nt 0 1\n\nt 1 2\n'],
  ])('rejects a corrupt file: %s', async (_name, text) => {
    writeFileSync(join(dir, CHECKPOINT_FILE), text);
    await expect(readCheckpoint(dir)).rejects.toThrow(EngineError);
    await expect(readCheckpoint(dir)).rejects.toThrow(/is corrupt/);
    // The recovery class asks the caller to wipe the task and restore it, not to stop.
    await expect(readCheckpoint(dir)).rejects.toMatchObject({ code: 'ORD_ERR_STATE_CORRUPTED', recovery: 'wipe' });
  });

  it('ignores a .tmp file left by a crash before the rename, and replaces it on the next write', async () => {
    await writeCheckpoint(dir, new Map([['t:0', 5]]));
    writeFileSync(join(dir, `${CHECKPOINT_FILE}.tmp`), '0\n1\nt 0 9'); // torn: no final line end
    expect(await readCheckpoint(dir)).toEqual(new Map([['t:0', 5]]));
    await writeCheckpoint(dir, new Map([['t:0', 6]]));
    expect(await readCheckpoint(dir)).toEqual(new Map([['t:0', 6]]));
    expect(existsSync(join(dir, `${CHECKPOINT_FILE}.tmp`))).toBe(false);
  });

  it('replaces the whole checkpoint: partitions left out are gone', async () => {
    await writeCheckpoint(dir, new Map([['t:0', 5], ['t:1', 6]]));
    await writeCheckpoint(dir, new Map([['t:1', 7]]));
    expect(await readCheckpoint(dir)).toEqual(new Map([['t:1', 7]]));
  });

  it.each([
    ['a key without a partition', 'topic', 1],
    ['a key with a non-numeric partition', 'topic:x', 1],
    ['a topic with a space', 'my topic:0', 1],
    ['a negative offset', 't:0', -1],
    ['a fractional offset', 't:0', 0.5],
  ])('refuses to write %s, leaving the old checkpoint', async (_name, key, offset) => {
    await writeCheckpoint(dir, new Map([['t:0', 5]]));
    await expect(writeCheckpoint(dir, new Map([[key, offset]]))).rejects.toThrow(EngineError);
    expect(await readCheckpoint(dir)).toEqual(new Map([['t:0', 5]]));
  });

  it('deletes the checkpoint, and deleting a missing one is fine', async () => {
    await writeCheckpoint(dir, new Map([['t:0', 5]]));
    await deleteCheckpoint(dir);
    expect(await readCheckpoint(dir)).toEqual(new Map());
    await deleteCheckpoint(dir);
  });
});
