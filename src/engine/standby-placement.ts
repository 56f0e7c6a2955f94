// Where standby tasks live. Kafka Streams' assignor places standbys itself; the group
// here is assigned by the broker (KIP-848), which knows nothing of state, so every
// instance works out the same placement from the instance directory on its own:
// for each partition, the NUM_STANDBY_REPLICAS live instances other than its active
// owner that rank highest by a hash of (partition, instance) — rendezvous hashing, so
// an instance joining or leaving moves only the standbys it must.
//
// A standby is used when the group moves its task to the instance that holds it (only
// the changelogs' tail is then restored). The broker's assignor does not look at
// standbys, so with fewer replicas than other instances that is a matter of chance;
// with NUM_STANDBY_REPLICAS = instances - 1 every failover lands on a warm copy.
import { murmur2 } from '../kafka/partitioner.js';

export interface PlacementMember {
  readonly instanceId: string;
  /** Partitions this instance runs (restoring or running). */
  readonly active: readonly number[];
}

function rank(partition: number, instanceId: string): number {
  return murmur2(Buffer.from(`${partition}/${instanceId}`)) >>> 0;
}

/** The partitions `self` should keep standby copies of. */
export function standbysFor(self: string, members: readonly PlacementMember[], numPartitions: number, replicas: number): number[] {
  if (replicas <= 0) return [];
  const owner = new Map<number, string>();
  for (const m of members) for (const p of m.active) owner.set(p, m.instanceId);
  const ids = [...new Set(members.map((m) => m.instanceId))];
  if (!ids.includes(self)) return [];
  const out: number[] = [];
  for (let p = 0; p < numPartitions; p++) {
    if (owner.get(p) === self) continue;
    // A partition between owners (revoked, not yet assigned) keeps standbys among all
    // instances, so a copy is not dropped just before the task moves onto it.
    const chosen = ids
      .filter((id) => id !== owner.get(p))
      .sort((a, b) => rank(p, b) - rank(p, a) || (a < b ? -1 : 1))
      .slice(0, replicas);
    if (chosen.includes(self)) out.push(p);
  }
  return out;
}
