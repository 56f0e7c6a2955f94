// How long a fault kept decisions from flowing, from the client's side. Times are
// performance.now() milliseconds of the test process: when each order was POSTed
// (due, in an open-loop load) and when its decision arrived on a read_committed
// reader of `orders`.
//
// - recovery: from the fault's end (the faulty part back, or its restart issued: the
//   caller decides) to the first decision that arrives after it for an order POSTed
//   at or after the fault began. Orders from
//   before the fault are left out: their decisions may have been committed before it
//   and only read after, which says nothing about the engine working again.
// - worst in-flight latency: the longest POST → decision among the orders POSTed in
//   the few seconds before the fault began, the orders a crash catches half-way.
// - longest stall: the longest time without any decision arriving, between the fault's
//   beginning and the end of the load, while orders were still being sent.

export interface TimedOrder {
  readonly id: string;
  readonly sentAt: number;
}

export interface FaultWindow {
  /** The first disruptive action (a kill, a stop). */
  readonly start: number;
  /** When the engine could begin to recover (the faulty part back, or the restart issued). */
  readonly end: number;
}

export interface RecoveryFigures {
  /** ms; undefined when no such decision arrived. */
  readonly recoveryMs: number | undefined;
  /** Orders POSTed at or after the fault began and accepted. */
  readonly acceptedAfterFault: number;
  /** ms; undefined when no order was POSTed in the window; Infinity when one of them was never decided. */
  readonly worstInFlightMs: number | undefined;
  /** Orders POSTed in the window before the fault. */
  readonly inFlightOrders: number;
  /** ms. */
  readonly longestStallMs: number;
}

export function recoveryFigures(
  accepted: readonly TimedOrder[],
  decisionAt: ReadonlyMap<string, number>,
  fault: FaultWindow,
  loadEnd: number,
  inFlightWindowMs = 5000,
): RecoveryFigures {
  let firstAfter: number | undefined;
  let acceptedAfterFault = 0;
  let worstInFlightMs: number | undefined;
  let inFlightOrders = 0;
  for (const order of accepted) {
    const at = decisionAt.get(order.id);
    if (order.sentAt >= fault.start) {
      acceptedAfterFault++;
      if (at !== undefined && at >= fault.end && (firstAfter === undefined || at < firstAfter)) firstAfter = at;
    } else if (order.sentAt >= fault.start - inFlightWindowMs) {
      inFlightOrders++;
      const latency = at === undefined ? Infinity : at - order.sentAt;
      worstInFlightMs = Math.max(worstInFlightMs ?? 0, latency);
    }
  }
  const arrivals = [...decisionAt.values()].filter((t) => t > fault.start && t < loadEnd).sort((a, b) => a - b);
  let longestStallMs = 0;
  let previous = fault.start;
  for (const t of [...arrivals, loadEnd]) {
    longestStallMs = Math.max(longestStallMs, t - previous);
    previous = t;
  }
  return {
    recoveryMs: firstAfter === undefined ? undefined : firstAfter - fault.end,
    acceptedAfterFault,
    worstInFlightMs,
    inFlightOrders,
    longestStallMs,
  };
}
