// The account's rate limit shared by several instances: the sends waiting on this instance ask the
// database for their slots together, keep their order, and give back a slot nobody is waiting for.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { SharedRateLimiter } from '../../src/nodes/exotel-account/shared-limiter';
import { StoreUnavailableError } from '../../src/store';
import { settle } from './fakes';

class FakeWindow {
  readonly asked: number[] = [];
  readonly ended: Array<[number, boolean]> = [];
  private next = 1;
  /** an answer of the database waits for this (the test lets it go) */
  hold: Promise<void> = Promise.resolve();
  /** how long the database says to wait when it grants nothing */
  waitMs = 20;
  /** how many slots each call grants, in turn (then none) */
  constructor(private readonly grants: number[]) {}
  async takeRateSlots(_account: string, _perMinute: number, _windowMs: number, wanted: number) {
    this.asked.push(wanted);
    await this.hold;
    const n = Math.min(wanted, this.grants.shift() ?? 0);
    return { slots: Array.from({ length: n }, () => this.next++), waitMs: this.waitMs };
  }
  async endRateSlot(slot: number, sent: boolean) {
    this.ended.push([slot, sent]);
  }
}

/**
 * The database's window as it behaves: at most `limit` slots held; a question asked with the key of
 * one whose answer was lost gives back what that one took first. The first `losing` answers are lost
 * after the slots were taken (committed).
 */
class KeyedWindow {
  readonly held = new Map<number, string | undefined>();
  readonly keys: Array<string | undefined> = [];
  private next = 1;
  constructor(private readonly limit: number, private losing: number) {}
  async takeRateSlots(_account: string, _perMinute: number, _windowMs: number, wanted: number, attempt?: string) {
    this.keys.push(attempt);
    for (const [slot, key] of this.held) if (attempt !== undefined && key === attempt) this.held.delete(slot);
    const slots = Array.from({ length: Math.min(wanted, this.limit - this.held.size) }, () => this.next++);
    for (const slot of slots) this.held.set(slot, attempt);
    if (this.losing > 0) {
      this.losing--;
      throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
    }
    return { slots, waitMs: 20 };
  }
  async endRateSlot(slot: number, sent: boolean) {
    if (!sent) this.held.delete(slot);
  }
}

describe('exotel-account: the rate limit shared through the database', () => {
  it('after a question whose answer was lost, the sends get the slots it took, and the limit still holds after', async () => {
    const window = new KeyedWindow(3, 1);
    const limiter = new SharedRateLimiter(window, 'acct1', 3, 100);
    const first = await Promise.race([
      Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 3_000)),
    ]);
    assert.ok(first, 'the sends still wait: the slots the lost question took are counted against the limit');
    assert.equal(window.keys[1], window.keys[0], 'asked again with the lost question’s key');
    let fourthServed = false;
    void limiter.acquire().then(() => (fourthServed = true), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fourthServed, false, 'a fourth send within the window got a slot: an answered question’s slots were given back');
    assert.equal(window.held.size, 3);
    assert.notEqual(window.keys[2], window.keys[1], 'a new key once a question was answered');
    limiter.close();
    for (const release of first) release();
  });

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

  it('refuses a send when its node has stopped or the account is closed, and when the queue is full', async () => {
    const window = new FakeWindow([]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 2);
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(limiter.acquire(stop.signal), { code: 'stopped', retryable: true, message: 'the node was stopped while the message waited for the rate limit' });
    const waiting = [limiter.acquire(), limiter.acquire()];
    assert.equal(limiter.queued, 2);
    await assert.rejects(limiter.acquire(), { code: 'queue_full', retryable: true, message: "2 messages already wait for the account's rate limit" });
    limiter.close('the account was redeployed');
    for (const w of waiting) await assert.rejects(w, { code: 'stopped', retryable: true, message: 'the account was redeployed' });
    assert.equal(limiter.queued, 0);
    await assert.rejects(limiter.acquire(), { code: 'stopped' });
    const closed = new SharedRateLimiter(new FakeWindow([]), 'acct1', 200, 2);
    const one = closed.acquire();
    closed.close();
    await assert.rejects(one, { code: 'stopped', message: 'the Exotel account was stopped' });
  });

  it('asks for the account\'s own window, its limit and its length', async () => {
    const calls: unknown[][] = [];
    const window = new FakeWindow([1]);
    const limiter = new SharedRateLimiter({
      takeRateSlots: (...args: [string, number, number, number, string?]) => (calls.push(args), window.takeRateSlots(args[0], args[1], args[2], args[3])),
      endRateSlot: (slot, sent) => window.endRateSlot(slot, sent),
    }, 'acct1', 120, 10, 30_000);
    assert.deepEqual([limiter.perMinute, limiter.maxQueue], [120, 10]);
    (await limiter.acquire())();
    assert.deepEqual(calls.map((call) => call.slice(0, 4)), [['acct1', 120, 30_000, 1]]);
    assert.equal(typeof calls[0][4], 'string', 'with the question’s key');
    limiter.close();
  });

  it('takes a stopped send out of the queue at once', async () => {
    const window = new FakeWindow([]);
    window.hold = new Promise(() => undefined); // the database never answers
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    const stop = new AbortController();
    const first = limiter.acquire();
    const second = limiter.acquire(stop.signal);
    const third = limiter.acquire();
    stop.abort();
    await assert.rejects(second, { code: 'stopped' });
    assert.equal(limiter.queued, 2, 'the others still wait');
    limiter.close();
    await assert.rejects(first, { code: 'stopped' });
    await assert.rejects(third, { code: 'stopped' });
  });

  it('fails the first send on a database error, and lets the next ones wait for an unreachable database', async () => {
    const errors = [new Error('relation "rate_slots" does not exist'), Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })];
    const window = new FakeWindow([1, 1]);
    const limiter = new SharedRateLimiter({
      takeRateSlots: async (...args: [string, number, number, number]) => {
        const err = errors.shift();
        if (err) throw err;
        return window.takeRateSlots(...args);
      },
      endRateSlot: (slot, sent) => window.endRateSlot(slot, sent),
    }, 'acct1', 200, 100);
    const first = limiter.acquire();
    const second = limiter.acquire();
    await assert.rejects(first, { code: 'internal', retryable: true, message: 'relation "rate_slots" does not exist' });
    const started = Date.now();
    const release = await second; // after the unreachable database was asked again, a second later
    assert.ok(Date.now() - started >= 900, 'it waited before asking again');
    assert.deepEqual(window.asked, [1]);
    release();
    limiter.close();
  });

  it('waits as long as the database says when no slot is free, and not once a slot was granted', async () => {
    const window = new FakeWindow([0, 1, 1, 1]);
    window.waitMs = 300;
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    const started = Date.now();
    const first = limiter.acquire();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(window.asked, [1], 'not asked again before the wait is over');
    (await first)();
    assert.ok(Date.now() - started >= 250, 'served after the wait');
    const [second, third] = [limiter.acquire(), limiter.acquire()];
    const again = Date.now();
    (await second)();
    (await third)();
    assert.ok(Date.now() - again < 250, 'a granted slot is not followed by a wait');
    limiter.close();
  });

  it('serves a send that comes after the queue was empty', async () => {
    const window = new FakeWindow([1, 1]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    (await limiter.acquire())();
    await settle(5);
    (await limiter.acquire())();
    assert.deepEqual(window.asked, [1, 1]);
    limiter.close();
  });

  it('leaves the queue alone when a send that already has its slot stops', async () => {
    const window = new FakeWindow([1]);
    const limiter = new SharedRateLimiter(window, 'acct1', 200, 100);
    const stop = new AbortController();
    const release = await limiter.acquire(stop.signal);
    window.hold = new Promise(() => undefined); // the next question is never answered
    const others = [limiter.acquire(), limiter.acquire()];
    stop.abort();
    assert.equal(limiter.queued, 2);
    release();
    limiter.close();
    for (const other of others) await assert.rejects(other, { code: 'stopped' });
  });
});
