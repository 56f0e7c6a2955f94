import { describe, expect, it } from 'vitest';
import { dueTables } from '../../src/db/table-vacuum.js';

const tables = [
  { table: 'outbox_claims', deadRows: 5000 },
  { table: 'outbox', deadRows: 100_000 },
  { table: 'orders', deadRows: 100_000 },
];

describe('dueTables', () => {
  it('names the tables at or past their threshold, in the order given', () => {
    const dead = new Map([
      ['outbox_claims', 5000],
      ['outbox', 99_999],
      ['orders', 250_000],
    ]);
    expect(dueTables(tables, dead)).toEqual(['outbox_claims', 'orders']);
  });

  it('leaves out a table without statistics yet', () => {
    expect(dueTables(tables, new Map([['outbox', 100_000]]))).toEqual(['outbox']);
    expect(dueTables(tables, new Map())).toEqual([]);
  });
});
