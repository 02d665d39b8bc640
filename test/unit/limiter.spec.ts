import assert from 'node:assert/strict';
import sinon from 'sinon';
import { RateLimiter, type Release } from '../../src/exotel/limiter';

describe('the account rate limiter', function () {
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(function () {
    clock.restore();
  });

  it('lets the limit through at once, then one more as each slot frees a minute after its request ended', async function () {
    const limiter = new RateLimiter(3, 100);
    const started: { i: number; at: number; }[] = [];
    for (let i = 0; i < 5; i++) {
      limiter.acquire().then((release) => {
        started.push({ i, at: Date.now() - 1_000_000 });
        release();
      });
    }
    await clock.tickAsync(0);
    assert.deepEqual(started.map((s) => s.i), [0, 1, 2]);
    await clock.tickAsync(59_999);
    assert.equal(started.length, 3);
    await clock.tickAsync(1);
    assert.deepEqual(started.map((s) => [s.i, s.at]), [[0, 0], [1, 0], [2, 0], [3, 60_000], [4, 60_000]]);
  });

  it('never lets more than the limit reach Exotel in any 60 seconds, however long requests take', async function () {
    const limiter = new RateLimiter(200, 10_000);
    const requests: { start: number; arrived?: number }[] = [];
    let seed = 7;
    const latency = () => (seed = (seed * 16807) % 2147483647) % 800; // 0–800 ms on the way
    for (let i = 0; i < 1000; i++) {
      limiter.acquire().then(async (release) => {
        const r: { start: number; arrived?: number } = { start: Date.now() };
        requests.push(r);
        await new Promise((resolve) => setTimeout(resolve, latency()));
        r.arrived = Date.now(); // when Exotel counts it (at the latest)
        release();
      });
    }
    await clock.tickAsync(6 * 60_000);
    assert.equal(requests.length, 1000);
    const arrivals = requests.map((r) => r.arrived ?? NaN).sort((a, b) => a - b);
    for (let i = 200; i < arrivals.length; i++) assert.ok(arrivals[i] - arrivals[i - 200] >= 60_000, `arrival ${i} broke the window`);
    // and it keeps close to the limit: 1000 requests in about five windows
    assert.ok(arrivals[999] - arrivals[0] < 4 * 60_000 + 5_000, `${arrivals[999] - arrivals[0]} ms for 1000 requests`);
  });

  it('gives a slot back at once when no request left after all', async function () {
    const limiter = new RateLimiter(1, 10);
    const first = await limiter.acquire();
    let second: Release | undefined;
    void limiter.acquire().then((release) => (second = release));
    await clock.tickAsync(0);
    assert.equal(second, undefined, 'the one slot is held');
    first(false); // e.g. the number opted out while it waited
    await clock.tickAsync(0);
    assert.equal(typeof second, 'function', 'the waiting request got the slot with no time passing');
    // and the slot is then held as any other: a request that did go out keeps it for the window
    second!(true);
    let third: Release | undefined;
    void limiter.acquire().then((release) => (third = release));
    await clock.tickAsync(59_999);
    assert.equal(third, undefined, 'a sent request holds its slot for the whole minute');
    await clock.tickAsync(1);
    assert.equal(typeof third, 'function');
  });

  it('keeps order and refuses with queue_full when the queue is full', async function () {
    const limiter = new RateLimiter(1, 2);
    const order: string[] = [];
    const run = (name: string) => limiter.acquire().then((release) => {
      order.push(name);
      release();
    });
    run('a');
    run('b');
    run('c');
    await assert.rejects(limiter.acquire(), { code: 'queue_full', retryable: true });
    await clock.tickAsync(120_000);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  it('takes a waiter out of the queue when its wait is aborted, and rejects all when the account stops', async function () {
    const limiter = new RateLimiter(1, 10);
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const waiting = limiter.acquire();
    controller.abort();
    await assert.rejects(aborted, { code: 'stopped' });
    assert.equal(limiter.queued, 1);
    limiter.close();
    await assert.rejects(waiting, { code: 'stopped' });
  });
});
