// The packed restore batch (src/stream/restore-batch.ts): what the kafka thread packs
// is what the stream thread reads, record for record, tombstones and empty values apart.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { encodeRestoreBatch, forEachRestoreRecord, restoreBatchTransferList, type ChangelogRecordBytes, type RestoreBatch } from '../../src/stream/restore-batch.js';

const read = (batch: RestoreBatch): [string, string, string | undefined][] => {
  const out: [string, string, string | undefined][] = [];
  forEachRestoreRecord(batch, (changelog, key, value) => out.push([changelog, key.toString(), value?.toString()]));
  return out;
};

describe('restore batch', () => {
  it('reads back every record in order: puts, tombstones, empty values, two changelogs', () => {
    const records: ChangelogRecordBytes[] = [
      { topic: 'app-orders-store-changelog', key: Buffer.from('101'), value: Buffer.from('{"orderId":101}') },
      { topic: 'app-saga-join-store-changelog', key: Buffer.from('101|P|000000000000001|7'), value: Buffer.from('{"status":"ACCEPT"}') },
      { topic: 'app-orders-store-changelog', key: Buffer.from('102'), value: null },
      { topic: 'app-orders-store-changelog', key: Buffer.from('103'), value: Buffer.alloc(0) },
      { topic: 'app-orders-store-changelog', key: '104', value: Buffer.from('x') },
      { topic: 'app-orders-store-changelog', key: null, value: Buffer.from('keyless') },
    ];
    const batch = encodeRestoreBatch(records);
    expect(batch.count).toBe(6);
    expect(batch.changelogs).toEqual(['app-orders-store-changelog', 'app-saga-join-store-changelog']);
    expect(read(batch)).toEqual([
      ['app-orders-store-changelog', '101', '{"orderId":101}'],
      ['app-saga-join-store-changelog', '101|P|000000000000001|7', '{"status":"ACCEPT"}'],
      ['app-orders-store-changelog', '102', undefined],
      ['app-orders-store-changelog', '103', ''],
      ['app-orders-store-changelog', '104', 'x'],
      ['app-orders-store-changelog', '', 'keyless'],
    ]);
  });

  it('an empty step packs to an empty batch', () => {
    const batch = encodeRestoreBatch([]);
    expect(batch.count).toBe(0);
    expect(read(batch)).toEqual([]);
  });

  it('moves to another thread with its buffers transferred, not copied', async () => {
    const batch = encodeRestoreBatch([{ topic: 't', key: Buffer.from('k'), value: Buffer.from('v') }]);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<RestoreBatch>((resolve) => port2.once('message', resolve));
    port1.postMessage(batch, restoreBatchTransferList(batch));
    const arrived = await received;
    port1.close();
    expect(batch.data.byteLength).toBe(0); // detached on the sender's side
    expect(read(arrived)).toEqual([['t', 'k', 'v']]);
  });
});
