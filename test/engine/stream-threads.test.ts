import { Piscina, type PiscinaTask } from 'piscina';
import { describe, expect, it } from 'vitest';
import { pinnedBalancer } from '../../src/engine/stream-threads.js';

/** A queued task as piscina hands it to the balancer: the run() argument with its queue options. */
const pinned = (thread: number): PiscinaTask => ({ [Piscina.queueOptionsSymbol]: { thread } }) as unknown as PiscinaTask;
const workers = (...ids: number[]): { id: number }[] => ids.map((id) => ({ id }));

describe('pinnedBalancer', () => {
  it.each([0, 1, 2])('places nothing while only %i of 3 workers are up', (n) => {
    const balance = pinnedBalancer(3);
    const up = workers(10, 20, 30).slice(0, n);
    for (const thread of [0, 1, 2]) expect(balance(pinned(thread), up)).toBeNull();
  });

  it('maps thread index i to the worker with the i-th smallest id, whatever the array order', () => {
    const balance = pinnedBalancer(3);
    const orders = [
      [4, 17, 9],
      [17, 9, 4],
      [9, 4, 17],
      [4, 9, 17],
      [17, 4, 9],
      [9, 17, 4],
    ];
    for (const ids of orders) {
      const list = workers(...ids);
      expect([0, 1, 2].map((t) => balance(pinned(t), list)?.id)).toEqual([4, 9, 17]);
      // The very worker object of the list, so piscina runs the task on it.
      expect(list).toContain(balance(pinned(0), list));
    }
  });

  it('does not reorder the worker list it is given', () => {
    const list = workers(3, 1, 2);
    pinnedBalancer(3)(pinned(0), list);
    expect(list.map((w) => w.id)).toEqual([3, 1, 2]);
  });

  it('compares ids as numbers, not as text', () => {
    const balance = pinnedBalancer(3);
    const list = workers(10, 9, 100);
    expect([0, 1, 2].map((t) => balance(pinned(t), list)?.id)).toEqual([9, 10, 100]);
  });

  it('gives a thread index beyond the pool no worker', () => {
    expect(pinnedBalancer(2)(pinned(2), workers(1, 2))).toBeNull();
  });

  it.each([
    { name: 'a task without queue options', task: {} },
    { name: 'a task whose queue options are null', task: { [Piscina.queueOptionsSymbol]: null } },
  ])('places nothing for $name', ({ task }) => {
    expect(pinnedBalancer(2)(task as unknown as PiscinaTask, workers(1, 2))).toBeNull();
  });
});

describe('pinnedBalancer: a replaced thread keeps its index', () => {
  // Regression: the index was the rank of the worker's id, so when piscina replaced a
  // dead worker (the new one has the largest id), every index above it shifted and
  // tasks ran on threads that did not hold their stores.
  it('gives the dead worker\'s index to its replacement and leaves the others where they were', () => {
    const slots: number[] = [];
    const balance = pinnedBalancer(3, slots);
    const before = workers(4, 9, 17);
    expect([0, 1, 2].map((t) => balance(pinned(t), before)?.id)).toEqual([4, 9, 17]);
    // Worker 4 (index 0) died; piscina starts worker 23 in its place.
    const after = workers(9, 17, 23);
    expect([0, 1, 2].map((t) => balance(pinned(t), after)?.id)).toEqual([23, 9, 17]);
    expect(slots).toEqual([23, 9, 17]);
  });

  it('keeps only the dead worker\'s tasks waiting until its replacement is up', () => {
    const balance = pinnedBalancer(2, []);
    expect([0, 1].map((t) => balance(pinned(t), workers(5, 6))?.id)).toEqual([5, 6]);
    const replacing = workers(6); // 5 died, its replacement not up yet
    expect(balance(pinned(0), replacing)).toBeNull();
    expect(balance(pinned(1), replacing)?.id).toBe(6);
    expect(balance(pinned(0), workers(6, 8))?.id).toBe(8);
  });
});
