// What to do about an error of a transactional API call, as librdkafka classifies it
// (rdkafka.h, "Transactional producer API"; examples/transactions.c):
//
//   retriable          the call timed out or conflicts with one still running in the
//                      background ("Conflicting abort_transaction API call is already
//                      in progress"): call the SAME API again, it resumes. Starting a
//                      different call instead (beginTransaction after a timed-out
//                      abort) only earns another conflict, forever.
//   txnRequiresAbort   the transaction is doomed (a delivery failed, the coordinator
//                      timed it out, the group generation moved on): abort it, rewind,
//                      process again.
//   fatal              this producer instance is finished (fenced, or an internal
//                      fatal error): replace it; initTransactions on the new one
//                      fences the old epoch and aborts what it left open.
//
// Anything else from a transactional call (ERR__STATE and friends) is a bug in the
// caller's bookkeeping; aborting is the safe way back to a known state.
import type Kafka from 'node-rdkafka';

export type TxnErrorAction = 'resume' | 'abort' | 'replace';

export function txnErrorAction(err: Pick<Kafka.LibrdKafkaError, 'isFatal' | 'isRetriable' | 'isTxnRequiresAbort'>): TxnErrorAction {
  if (err.isFatal === true) return 'replace';
  if (err.isTxnRequiresAbort === true) return 'abort';
  if (err.isRetriable === true) return 'resume';
  return 'abort';
}

/** Backoff between attempts of a resumed call: 100 ms doubling to 1 s, so recovery after an outage is quick. */
export function txnBackoffMs(attempt: number): number {
  return Math.min(1000, 100 * 2 ** Math.max(0, attempt));
}
