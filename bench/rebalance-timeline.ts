// The rebalance benchmark's bookkeeping, pure: who owns which partition after each
// assignment change reported by the members (bench/rebalance-member.ts), and what one
// step of the scenario did to the group: when it was stable again, how many partitions
// changed owner against the fewest that had to, which kept partitions were revoked on
// the way (the eager protocol revokes everything), and how many tasks were split over
// two members at any instant.
//
// A task 0_p is partition p of every source topic; its state (the join store) lives on
// one member, so p of every topic must be owned by the same member: a task "split" is a
// p whose partitions are owned by two or more live members at once. A partition owned
// by nobody for a while (moving) does not split its task, it only pauses it.

/** One member's assignment after a change: `[]` when its process starts, `null` when it is gone. */
export interface OwnershipEvent {
  readonly t: number;
  readonly member: string;
  readonly owned: readonly string[] | null;
}

export interface Layout {
  readonly topics: readonly string[];
  readonly partitions: number;
}

export const tp = (topic: string, partition: number): string => `${topic}:${partition}`;

export function allPartitions(layout: Layout): string[] {
  return layout.topics.flatMap((topic) => Array.from({ length: layout.partitions }, (_, p) => tp(topic, p)));
}

/** The assignment of every live member. */
export class Ownership {
  readonly #owned = new Map<string, ReadonlySet<string>>();

  static copy(from: Ownership): Ownership {
    const o = new Ownership();
    for (const [m, s] of from.#owned) o.#owned.set(m, s);
    return o;
  }

  apply(e: OwnershipEvent): void {
    if (e.owned === null) this.#owned.delete(e.member);
    else this.#owned.set(e.member, new Set(e.owned));
  }

  get members(): string[] {
    return [...this.#owned.keys()];
  }

  ownedBy(member: string): ReadonlySet<string> {
    return this.#owned.get(member) ?? new Set();
  }

  /** Every owner of each owned partition. */
  owners(): Map<string, string[]> {
    const owners = new Map<string, string[]>();
    for (const [m, set] of this.#owned) {
      for (const p of set) {
        const list = owners.get(p);
        if (list) list.push(m);
        else owners.set(p, [m]);
      }
    }
    return owners;
  }

  /** partition → its single owner (a partition owned twice keeps the first). */
  ownerMap(): Map<string, string> {
    return new Map([...this.owners()].map(([p, ms]) => [p, ms[0]!]));
  }

  /** Every partition owned by exactly one live member, and every live member owns one at least (the group has ≤ 6 members, 6 tasks). */
  complete(layout: Layout): boolean {
    const owners = this.owners();
    if (!allPartitions(layout).every((p) => owners.get(p)?.length === 1)) return false;
    return [...this.#owned.values()].every((s) => s.size > 0);
  }

  /** Partitions owned by two live members at once (must stay 0). */
  doubleOwned(): number {
    return [...this.owners().values()].filter((ms) => ms.length > 1).length;
  }

  /** Tasks p whose partitions are owned by more than one live member. */
  splitTasks(layout: Layout): number {
    const owners = this.ownerMap();
    let split = 0;
    for (let p = 0; p < layout.partitions; p++) {
      const on = new Set(layout.topics.map((t) => owners.get(tp(t, p))).filter((m) => m !== undefined));
      if (on.size > 1) split += 1;
    }
    return split;
  }
}

/** Of `total` units over members holding `counts`, the most that can stay put when each ends with ⌊total/N⌋ or ⌈total/N⌉. */
function keptWhenBalanced(counts: number[], total: number): number {
  const q = Math.floor(total / counts.length);
  const r = total % counts.length;
  // The ⌈total/N⌉ places go to the members that hold the most (an exchange argument).
  return [...counts].sort((a, b) => b - a).reduce((sum, c, i) => sum + Math.min(c, i < r ? q + 1 : q), 0);
}

/**
 * The fewest partitions that must change owner to go from `before` to a balanced
 * assignment over `live`, under the looser of two notions of balance: per topic, each
 * member holds ⌊P/N⌋ or ⌈P/N⌉ partitions (tasks as units, what a co-partitioning
 * assignor does), or over all topics, each holds ⌊T·P/N⌋ or ⌈T·P/N⌉ (what a
 * partition-level assignor does). Partitions of members that left all move.
 */
export function minMoves(before: ReadonlyMap<string, string>, live: readonly string[], layout: Layout): number {
  if (live.length === 0) return 0;
  const total = layout.topics.length * layout.partitions;
  let perTopicMoves = 0;
  const overall = live.map(() => 0);
  for (const topic of layout.topics) {
    const counts = live.map((m, i) => {
      let c = 0;
      for (let p = 0; p < layout.partitions; p++) if (before.get(tp(topic, p)) === m) c += 1;
      overall[i]! += c;
      return c;
    });
    perTopicMoves += layout.partitions - keptWhenBalanced(counts, layout.partitions);
  }
  return Math.min(perTopicMoves, total - keptWhenBalanced(overall, total));
}

export interface StepAnalysis {
  /** From the event to the last change that made the group complete (ms). */
  readonly stableMs: number;
  /** Partitions whose owner differs between the stable states before and after. */
  readonly moved: number;
  readonly minMoves: number;
  /** Partitions a member owned before and after but had revoked in between (it stopped consuming them). */
  readonly keptRevoked: number;
  /** The longest such pause (ms). */
  readonly maxPauseMs: number;
  readonly splitStable: number;
  /** The most tasks split at any instant between the event and the stable point. */
  readonly splitMax: number;
  readonly doubleOwnedMax: number;
  readonly live: number;
}

/**
 * Replays the events of one step in time order from the state before it. `t0` is the
 * event (spawn, signal); `events` are those reported for this step, in any order.
 */
export function analyzeStep(before: Ownership, events: readonly OwnershipEvent[], t0: number, layout: Layout): StepAnalysis {
  const state = Ownership.copy(before);
  const ownerBefore = before.ownerMap();
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const gone = new Set(sorted.filter((e) => e.owned === null).map((e) => e.member));
  let splitMax = state.splitTasks(layout);
  let doubleOwnedMax = state.doubleOwned();
  let lastChange = t0;
  /** member → partition → when it was revoked (members that stayed up throughout). */
  const revokedAt = new Map<string, Map<string, number>>();
  let maxPauseMs = 0;
  const pausedKept = new Set<string>();
  for (const e of sorted) {
    const prev = state.ownedBy(e.member);
    const wasLive = state.members.includes(e.member);
    state.apply(e);
    const changed = e.owned === null ? wasLive : !wasLive || e.owned.length !== prev.size || e.owned.some((p) => !prev.has(p));
    if (!changed) continue;
    lastChange = Math.max(lastChange, e.t);
    splitMax = Math.max(splitMax, state.splitTasks(layout));
    doubleOwnedMax = Math.max(doubleOwnedMax, state.doubleOwned());
    if (gone.has(e.member) || e.owned === null) continue;
    const now = new Set(e.owned);
    const rev = revokedAt.get(e.member) ?? new Map<string, number>();
    revokedAt.set(e.member, rev);
    for (const p of prev) if (!now.has(p) && ownerBefore.get(p) === e.member) rev.set(p, e.t);
    for (const p of now) {
      const since = rev.get(p);
      if (since !== undefined) {
        rev.delete(p);
        pausedKept.add(`${e.member}/${p}`);
        maxPauseMs = Math.max(maxPauseMs, e.t - since);
      }
    }
  }
  const after = state.ownerMap();
  let moved = 0;
  for (const p of allPartitions(layout)) if (ownerBefore.get(p) !== after.get(p)) moved += 1;
  const live = state.members;
  return {
    stableMs: Math.max(0, lastChange - t0),
    moved,
    minMoves: minMoves(ownerBefore, live, layout),
    keptRevoked: pausedKept.size,
    maxPauseMs,
    splitStable: state.splitTasks(layout),
    splitMax,
    doubleOwnedMax,
    live: live.length,
  };
}
