// What a saga participant does with each record of `orders`, whichever it is (spec
// "The other participants"): a NEW order is answered ACCEPT or REJECT once per
// publication, after trying to reserve what it needs (a re-publication, which the
// order service sends when the saga never decided the order, gets the same answer
// again and books nothing more); CONFIRMED makes the reservation final; a ROLLBACK
// caused by the *other* participant gives the reservation back (a ROLLBACK this side
// caused has nothing to give back: it reserved nothing). Everything else on `orders`
// (REJECTED, the service's own bookkeeping states) needs no action. Pure: no I/O, so
// tests drive it record by record; src/sim/participant.ts runs it against Kafka.
import type { OrderDto, ParticipantAnswer, ParticipantSource } from '../domain/order-dto.js';
import { murmur2String } from '../kafka/partitioner.js';
import { RecentIds } from './recent-ids.js';
import type { Id64 } from '../domain/id64.js';

/** The books of one participant: funds for payment, stock for inventory. */
export interface Ledger {
  /**
   * Tops up what the order needs when it runs short, as if customers were paid or
   * suppliers delivered, so a long load run never drifts into rejecting everything.
   * Returns whether it had to.
   */
  replenish(order: OrderDto): boolean;
  /** Reserves what the order needs; false (and nothing booked) if there is not enough. */
  reserve(order: OrderDto): boolean;
  /** Makes the order's reservation final; false if it holds none. */
  commit(orderId: Id64): boolean;
  /** Gives the order's reservation back; false if it holds none. */
  release(orderId: Id64): boolean;
}

export interface ServiceStats {
  /** NEW orders answered (accepted + rejected). */
  readonly answered: number;
  readonly accepted: number;
  readonly rejected: number;
  /** NEW orders seen again and not answered again. */
  readonly duplicates: number;
  /** NEW orders published again by the order service (stuck orders), answered again as before. */
  readonly reanswered: number;
  /** Reservations made final on CONFIRMED. */
  readonly committed: number;
  /** Reservations given back on a ROLLBACK caused by the other participant. */
  readonly released: number;
  readonly replenished: number;
  /** Records that need no action here. */
  readonly ignored: number;
}

export interface SimulatedServiceOptions {
  /** The source this participant writes into its answers. */
  readonly source: ParticipantSource;
  /** The source of a ROLLBACK that means "the other side rejected: release". */
  readonly releaseOn: ParticipantSource;
  /** Share of orders (0..1) answered REJECT as if there were not enough. */
  readonly rejectRate: number;
  /** Mixed into the hash so each participant rejects an independent share. */
  readonly salt: string;
  /** How many answered ids to remember for de-duplication. */
  readonly recentIds?: number;
}

const TWO_TO_32 = 2 ** 32;

interface Answered {
  readonly status: ParticipantAnswer;
  /** The publication answered (the record's outbox-id header), if it carried one. */
  readonly publication: string | undefined;
}

/**
 * Whether the order is one of the `rate` share that finds too little. Chosen by a
 * hash of the id, not at random: the share holds over any long run, a redelivered
 * order gets the same answer, and a test can predict it.
 */
export function simulatedShortage(orderId: Id64, salt: string, rate: number): boolean {
  if (rate <= 0) return false;
  return (murmur2String(salt + String(orderId)) >>> 0) / TWO_TO_32 < rate;
}

export class SimulatedService {
  readonly source: ParticipantSource;
  readonly #ledger: Ledger;
  readonly #options: SimulatedServiceOptions;
  readonly #answered: RecentIds<Answered>;
  readonly #stats = { answered: 0, accepted: 0, rejected: 0, duplicates: 0, reanswered: 0, committed: 0, released: 0, replenished: 0, ignored: 0 };

  constructor(ledger: Ledger, options: SimulatedServiceOptions) {
    this.source = options.source;
    this.#ledger = ledger;
    this.#options = options;
    this.#answered = new RecentIds(options.recentIds ?? 100_000);
  }

  get stats(): ServiceStats {
    return { ...this.#stats };
  }

  /**
   * Applies one record of `orders`; returns the answer to publish, if there is one.
   * `publication` names the record's publication (its outbox-id header): the same NEW
   * delivered again is a duplicate, a NEW published again is a new question.
   */
  handle(order: OrderDto, publication?: string): OrderDto | undefined {
    switch (order.status) {
      case 'NEW':
        return this.#answer(order, publication);
      case 'CONFIRMED':
        if (this.#ledger.commit(order.orderId)) this.#stats.committed++;
        else this.#stats.ignored++;
        return undefined;
      case 'ROLLBACK':
        if (order.source === this.#options.releaseOn && this.#ledger.release(order.orderId)) this.#stats.released++;
        else this.#stats.ignored++;
        return undefined;
      default:
        this.#stats.ignored++;
        return undefined;
    }
  }

  #answer(order: OrderDto, publication: string | undefined): OrderDto | undefined {
    const seen = this.#answered.get(order.orderId);
    if (seen !== undefined) {
      if (publication === undefined || publication === seen.publication) {
        this.#stats.duplicates++;
        return undefined;
      }
      // Published again: the saga lost the first answers (they met no partner within
      // the join window). The same answer again; the reservation stands as it is.
      this.#answered.remember(order.orderId, { status: seen.status, publication });
      this.#stats.reanswered++;
      return { ...order, status: seen.status, source: this.source };
    }
    let status: ParticipantAnswer = 'REJECT';
    if (!simulatedShortage(order.orderId, this.#options.salt, this.#options.rejectRate)) {
      if (this.#ledger.replenish(order)) this.#stats.replenished++;
      if (this.#ledger.reserve(order)) status = 'ACCEPT';
    }
    this.#answered.remember(order.orderId, { status, publication });
    this.#stats.answered++;
    if (status === 'ACCEPT') this.#stats.accepted++;
    else this.#stats.rejected++;
    return { ...order, status, source: this.source };
  }
}
