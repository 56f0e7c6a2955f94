import { describe, expect, it } from 'vitest';
import { takeDue } from '../../src/db/table-vacuum.js';

const schedules = () => [
  { tables: ['outbox_claims'], everyRows: 100, rows: 0 },
  { tables: ['outbox'], everyRows: 1000, rows: 0 },
];

describe('takeDue', () => {
  it('names a schedule once its rows reach the count, and starts it over', () => {
    const s = schedules();
    expect(takeDue(s, 99, false)).toEqual([]);
    expect(takeDue(s, 1, false)).toEqual(['outbox_claims']);
    expect(s.map((x) => x.rows)).toEqual([0, 100]);
    expect(takeDue(s, 99, false)).toEqual([]);
  });

  it('names every due schedule together, each table once', () => {
    const s = [...schedules(), { tables: ['outbox', 'orders'], everyRows: 500, rows: 0 }];
    expect(takeDue(s, 1000, false)).toEqual(['outbox_claims', 'outbox', 'orders']);
    expect(s.every((x) => x.rows === 0)).toBe(true);
  });

  it('counts rows while a vacuum runs and names the tables at the next call after it', () => {
    const s = schedules();
    expect(takeDue(s, 150, true)).toEqual([]);
    expect(s[0]!.rows).toBe(150);
    expect(takeDue(s, 0, false)).toEqual(['outbox_claims']);
  });
});
