import { describe, expect, it } from 'vitest';
import { OutboxDoorbell } from '../../src/db/outbox-doorbell.js';

describe('OutboxDoorbell', () => {
  it('asks for a message only while the relay is idle', () => {
    const bell = new OutboxDoorbell();
    expect(bell.ring()).toBe(true); // idle at first: wake it
    expect(bell.ring()).toBe(false); // a message is on its way
    const mark = bell.begin();
    expect(bell.ring()).toBe(false); // running: it will see the commit when the pass ends
    expect(bell.end(mark)).toBe(true); // so it runs again
    const again = bell.begin();
    expect(bell.end(again)).toBe(false); // nothing new: idle
    expect(bell.ring()).toBe(true);
  });

  it('is shared through its buffer: a second view starts as the first left it', () => {
    const relay = new OutboxDoorbell();
    const http = new OutboxDoorbell(relay.buffer);
    const mark = relay.begin();
    expect(http.ring()).toBe(false);
    expect(relay.end(mark)).toBe(true);
    expect(relay.end(relay.begin())).toBe(false);
    expect(http.ring()).toBe(true);
  });

  it('loses no commit announced between the end of a pass and its check', () => {
    // The interleaving the swap guards: the relay marks itself idle, a commit lands, the
    // relay reads the count. It runs again, and the committer also sends a message (one
    // extra pass at worst).
    const bell = new OutboxDoorbell();
    const mark = bell.begin();
    const rungBeforeCheck = bell.ring(); // IDLE is still 0 here: no message
    expect(rungBeforeCheck).toBe(false);
    expect(bell.end(mark)).toBe(true);
  });
});
