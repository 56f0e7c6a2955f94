import { describe, expect, it } from 'vitest';
import { txnBackoffMs, txnErrorAction } from '../../src/kafka/txn-errors.js';

describe('txnErrorAction: what a transactional call\'s error asks for, as librdkafka classifies it', () => {
  it.each([
    // Regression: a timed-out abortTransaction was never resumed, and every
    // beginTransaction after it failed with this retriable conflict, forever.
    { name: '"Conflicting abort_transaction API call is already in progress" (retriable)', err: { isRetriable: true }, action: 'resume' },
    { name: 'a timeout of commitTransaction (retriable)', err: { isRetriable: true, isTxnRequiresAbort: false }, action: 'resume' },
    { name: 'a failed delivery in the transaction (requires abort)', err: { isTxnRequiresAbort: true }, action: 'abort' },
    { name: 'an abortable error that is also flagged retriable', err: { isTxnRequiresAbort: true, isRetriable: true }, action: 'abort' },
    { name: 'a fenced producer (fatal)', err: { isFatal: true }, action: 'replace' },
    { name: 'fatal wins over every other flag', err: { isFatal: true, isTxnRequiresAbort: true, isRetriable: true }, action: 'replace' },
    { name: 'an unclassified error (ERR__STATE): back to a known state', err: {}, action: 'abort' },
  ] as const)('$name → $action', ({ err, action }) => {
    expect(txnErrorAction(err)).toBe(action);
  });
});

describe('txnBackoffMs', () => {
  it('starts at 100 ms, doubles, and stays at 1 s so an outage\'s end is noticed within a second', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map(txnBackoffMs)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });
});
