// A Map used as a bounded LRU: JavaScript Maps keep insertion order, so re-inserting a
// key on each touch leaves the least recently used key first, and that one goes when
// the map is full. The simulators' ledgers keep their accounts and stock levels so.

/** The entry of `key`, created by `create` if absent, moved to most recently used. */
export function touchLru<K, V>(map: Map<K, V>, key: K, max: number, create: () => V): V {
  let value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
  } else {
    value = create();
    if (map.size >= max) {
      const [oldest] = map.keys();
      if (oldest !== undefined) map.delete(oldest);
    }
  }
  map.set(key, value);
  return value;
}
