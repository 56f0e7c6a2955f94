import { describe, expect, it } from 'vitest';
import { initialPositions, nextOffsets, OUTBOX_ID_HEADER, outboxIdOf, tailRanges, type Watermarks } from '../../src/db/outbox-positions.js';

const wm = (partition: number, low: number, high: number, topic = 'orders'): Watermarks => ({ topic, partition, low, high });

describe('nextOffsets: the confirmed position a mark moves to', () => {
  it('is the offset after the highest acknowledged record of each partition, whatever the order of the acks', () => {
    expect(
      nextOffsets([
        { topic: 'orders', partition: 1, offset: 7 },
        { topic: 'orders', partition: 0, offset: 3 },
        { topic: 'orders', partition: 1, offset: 9 },
        { topic: 'orders', partition: 1, offset: 8 },
        { topic: 'other', partition: 1, offset: 2 },
      ]),
    ).toEqual([
      { topic: 'orders', partition: 1, offset: 10 },
      { topic: 'orders', partition: 0, offset: 4 },
      { topic: 'other', partition: 1, offset: 3 },
    ]);
  });

  it('is nothing for an empty batch', () => {
    expect(nextOffsets([])).toEqual([]);
  });
});

describe('initialPositions: where an instance starts before its first claim', () => {
  it('starts a new instance at the end of every partition: it has sent nothing yet', () => {
    expect(initialPositions([], [wm(0, 5, 50), wm(1, 0, 7)])).toEqual([
      { topic: 'orders', partition: 0, offset: 50 },
      { topic: 'orders', partition: 1, offset: 7 },
    ]);
  });

  it('keeps existing positions and starts a partition added since at its beginning, where the instance may have sent', () => {
    expect(initialPositions([{ topic: 'orders', partition: 0, offset: 40 }], [wm(0, 5, 50), wm(1, 3, 7)])).toEqual([
      { topic: 'orders', partition: 1, offset: 3 },
    ]);
  });

  it('treats each topic on its own', () => {
    expect(initialPositions([{ topic: 'other', partition: 0, offset: 1 }], [wm(0, 2, 9)])).toEqual([{ topic: 'orders', partition: 0, offset: 9 }]);
  });
});

describe('tailRanges: what a recovery reads', () => {
  it('reads from the confirmed position to the end, and skips partitions with nothing past it', () => {
    const plan = tailRanges(
      [
        { topic: 'orders', partition: 0, offset: 10 },
        { topic: 'orders', partition: 1, offset: 20 },
      ],
      [wm(0, 0, 15), wm(1, 0, 20)],
    );
    expect(plan).toEqual({ ranges: [{ topic: 'orders', partition: 0, from: 10, to: 15 }], unpositioned: [], truncated: [] });
  });

  it('reads a partition without a position from its beginning, never skipping a record', () => {
    expect(tailRanges([], [wm(2, 4, 9)])).toEqual({ ranges: [{ topic: 'orders', partition: 2, from: 4, to: 9 }], unpositioned: ['orders:2'], truncated: [] });
  });

  it('says when retention deleted records past the position', () => {
    expect(tailRanges([{ topic: 'orders', partition: 0, offset: 3 }], [wm(0, 8, 12)])).toEqual({
      ranges: [{ topic: 'orders', partition: 0, from: 8, to: 12 }],
      unpositioned: [],
      truncated: ['orders:0'],
    });
  });
});

describe('outboxIdOf: the header a relay record carries', () => {
  const cases: { headers: Parameters<typeof outboxIdOf>[0]; id: number | undefined }[] = [
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('42') }], id: 42 },
    { headers: [{ other: Buffer.from('x') }, { [OUTBOX_ID_HEADER]: '9007199254740991' }], id: 9007199254740991 },
    { headers: undefined, id: undefined },
    { headers: [], id: undefined },
    { headers: [{ other: Buffer.from('1') }], id: undefined },
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('') }], id: undefined },
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('0') }], id: undefined },
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('-1') }], id: undefined },
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('1e3') }], id: undefined },
    { headers: [{ [OUTBOX_ID_HEADER]: Buffer.from('9007199254740993') }], id: undefined },
  ];
  it.each(cases)('reads $headers as $id', ({ headers, id }) => {
    expect(outboxIdOf(headers)).toBe(id);
  });
});
