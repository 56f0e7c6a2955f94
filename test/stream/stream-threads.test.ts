import { Piscina, type PiscinaTask } from 'piscina';
import { describe, expect, it } from 'vitest';
import { pinnedBalancer } from '../../src/stream/stream-threads.js';

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
