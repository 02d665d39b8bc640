// The account's rate limit shared by several instances: the sends waiting on this instance ask the
// database for their slots together, keep their order, and give back a slot nobody is waiting for.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { SharedRateLimiter } from '../../src/nodes/exotel-account/shared-limiter';
import { settle } from './fakes';

class FakeWindow {
  readonly asked: number[] = [];
  readonly ended: Array<[number, boolean]> = [];
  private next = 1;
  /** an answer of the database waits for this (the test lets it go) */
  hold: Promise<void> = Promise.resolve();
  /** how many slots each call grants, in turn (then none) */
  constructor(private readonly grants: number[]) {}
  async takeRateSlots(_account: string, _perMinute: number, _windowMs: number, wanted: number) {
    this.asked.push(wanted);
    await this.hold;
    const n = Math.min(wanted, this.grants.shift() ?? 0);
    return { slots: Array.from({ length: n }, () => this.next++), waitMs: 20 };
  }
  async endRateSlot(slot: number, sent: boolean) {
    this.ended.push([slot, sent]);
  }
}

describe('exotel-account: the rate limit shared through the database', () => {
  it('asks once for all the sends waiting, hands the slots out in order, and asks again for the rest', async () => {
    const window = new FakeWindow([1, 1, 1]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    let answer!: () => void;
    window.hold = new Promise((resolve) => (answer = resolve));
    const order: string[] = [];
    const sends = ['a', 'b', 'c'].map((name) => limiter.acquire().then((release) => {
      order.push(name);
      return release;
    }));
    answer(); // the database answers the question asked for a: meanwhile b and c wait
    const releases = await Promise.all(sends);
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.deepEqual(window.asked, [1, 2, 1], 'one question for b and c together, then one for c');
    releases[0]();
    releases[1](false);
    releases[1]();
    assert.deepEqual(window.ended, [[1, true], [2, false]], 'each slot ended once: held a window when sent, given back when not');
    limiter.close();
  });

  it('gives back a slot granted for a send that stopped waiting meanwhile', async () => {
    const window = new FakeWindow([0, 2]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    let answer!: () => void;
    const first = limiter.acquire(); // the first question: none free, asked again 20 ms later
    window.hold = new Promise((resolve) => (answer = resolve));
    const stop = new AbortController();
    const second = limiter.acquire(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(window.asked, [1, 2], 'the second question is for both');
    stop.abort(); // while the database answers
    await assert.rejects(second, { code: 'stopped' });
    answer();
    const release = await first;
    await settle(5);
    assert.deepEqual(window.ended, [[2, false]], 'the slot granted for the stopped send is given back at once');
    release();
    limiter.close();
  });

  it('leaves no listener on the node’s stop signal once a send has its slot or failed (they would pile up)', async () => {
    const window = new FakeWindow([1, 1, 1]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    const stop = new AbortController();
    const releases = await Promise.all([1, 2, 3].map(() => limiter.acquire(stop.signal)));
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
    limiter.close();
    const late = new AbortController();
    const waiting = new SharedRateLimiter(new FakeWindow([]), 'acct1', 200, 100);
    const refused = waiting.acquire(late.signal);
    waiting.close();
    await assert.rejects(refused, { code: 'stopped' });
    assert.equal(getEventListeners(late.signal, 'abort').length, 0);
    for (const release of releases) release();
  });
});
