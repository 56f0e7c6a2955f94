// The fault tests' verdict rests on this audit: if it missed a lost order, a
// duplicate or a record on the wrong partition, a broken engine would pass them.
import { describe, expect, it } from 'vitest';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { auditOrdersTopic, disagreeing, splitByWindow, statusOf, type OrdersRecord } from './saga-audit.js';

const N = 6;
const at = (key: string, status: string | undefined, partition = partitionFor(key, N)): OrdersRecord => ({ key, partition, status });
const wrong = (key: string): number => (partitionFor(key, N) + 1) % N;

describe('auditOrdersTopic', () => {
  it('passes orders with one NEW and one decision on their key partition', () => {
    const audit = auditOrdersTopic(['1', '2', '3'], [at('1', 'NEW'), at('2', 'NEW'), at('3', 'NEW'), at('1', 'CONFIRMED'), at('2', 'REJECTED'), at('3', 'ROLLBACK')], N);
    expect(audit).toMatchObject({ accepted: 3, lost: [], missingNew: [], duplicatedDecisions: [], conflictingDecisions: [], duplicatedNew: [], offPartition: [], unexpected: [] });
    expect([...audit.decided]).toEqual([
      ['1', 'CONFIRMED'],
      ['2', 'REJECTED'],
      ['3', 'ROLLBACK'],
    ]);
  });

  it('counts an accepted order without a decision as lost, and one without NEW as never published', () => {
    const audit = auditOrdersTopic(['1', '2'], [at('1', 'NEW')], N);
    expect(audit.lost).toEqual(['1', '2']);
    expect(audit.missingNew).toEqual(['2']);
  });

  it('finds duplicated decisions, conflicting ones, and duplicated NEW records', () => {
    const audit = auditOrdersTopic(
      ['1', '2', '3'],
      [at('1', 'NEW'), at('1', 'NEW'), at('1', 'CONFIRMED'), at('2', 'NEW'), at('2', 'CONFIRMED'), at('2', 'CONFIRMED'), at('3', 'NEW'), at('3', 'CONFIRMED'), at('3', 'ROLLBACK')],
      N,
    );
    expect(audit.duplicatedNew).toEqual(['1']);
    expect(audit.duplicatedDecisions).toEqual(['2', '3']);
    expect(audit.conflictingDecisions).toEqual(['3']);
    expect(audit.decided.get('3')).toBe('CONFIRMED');
  });

  it('finds a decision or a NEW record off its key partition', () => {
    const audit = auditOrdersTopic(['10', '11'], [at('10', 'NEW'), at('10', 'CONFIRMED', wrong('10')), at('11', 'NEW', wrong('11')), at('11', 'REJECTED')], N);
    expect(audit.offPartition).toEqual(['10', '11']);
    expect(audit.lost).toEqual([]);
  });

  it('ignores orders that were not accepted, and flags records that are neither NEW nor a decision', () => {
    const audit = auditOrdersTopic(['1'], [at('1', 'NEW'), at('1', undefined), at('1', 'ACCEPT'), at('1', 'CONFIRMED'), at('99', 'CONFIRMED'), at('99', 'CONFIRMED')], N);
    expect(audit).toMatchObject({ accepted: 1, lost: [], duplicatedDecisions: [], unexpected: ['1'] });
  });
});

describe('statusOf', () => {
  it('reads the status of an OrderDto and nothing from anything else', () => {
    expect(statusOf(Buffer.from('{"orderId":1,"status":"CONFIRMED"}'))).toBe('CONFIRMED');
    expect(statusOf(Buffer.from('{"orderId":1}'))).toBeUndefined();
    expect(statusOf(Buffer.from('not json'))).toBeUndefined();
    expect(statusOf(Buffer.from('{"status":7}'))).toBeUndefined();
  });
});

describe('disagreeing', () => {
  it('lists decided orders another view shows differently or not at all', () => {
    const decided = new Map([
      ['1', 'CONFIRMED'],
      ['2', 'REJECTED'],
      ['3', 'ROLLBACK'],
    ]);
    const seen = new Map<string, string | undefined>([
      ['1', 'CONFIRMED'],
      ['2', 'NEW'],
      ['3', undefined],
    ]);
    expect(disagreeing(decided, seen)).toEqual(['2', '3']);
  });
});

describe('splitByWindow', () => {
  const W = 10_000;
  it('calls an undecided order split only when every payment answer is more than the window from every stock answer', () => {
    const answers = [
      { key: 'split', side: 'P' as const, timestamp: 0 },
      { key: 'split', side: 'S' as const, timestamp: W + 1 },
      { key: 'close', side: 'P' as const, timestamp: 0 },
      { key: 'close', side: 'S' as const, timestamp: W },
      { key: 'one-side', side: 'S' as const, timestamp: 0 },
      { key: 'twice', side: 'P' as const, timestamp: 0 },
      { key: 'twice', side: 'P' as const, timestamp: 3 * W },
      { key: 'twice', side: 'S' as const, timestamp: 3 * W + 5 },
      { key: 'other', side: 'S' as const, timestamp: 0 },
    ];
    expect(splitByWindow(['split', 'close', 'one-side', 'none', 'twice'], answers, W)).toEqual({ split: ['split'], lost: ['close', 'one-side', 'none', 'twice'] });
  });
});
