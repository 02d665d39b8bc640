'use strict';
const assert = require('node:assert/strict');
const sinon = require('sinon');
const { RateLimiter } = require('../../dist/exotel/limiter');

describe('the account rate limiter', function () {
  let clock;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(function () {
    clock.restore();
  });

  it('lets the limit through at once, then one more as each minute-old start expires', async function () {
    const limiter = new RateLimiter(3, 100);
    const started = [];
    for (let i = 0; i < 5; i++) limiter.acquire().then(() => started.push({ i, at: Date.now() - 1_000_000 }));
    await clock.tickAsync(0);
    assert.deepEqual(started.map((s) => s.i), [0, 1, 2]);
    await clock.tickAsync(59_999);
    assert.equal(started.length, 3);
    await clock.tickAsync(1);
    assert.deepEqual(started.map((s) => [s.i, s.at]), [[0, 0], [1, 0], [2, 0], [3, 60_000], [4, 60_000]]);
  });

  it('never starts more than the limit in any 60-second window', async function () {
    const limiter = new RateLimiter(200, 10_000);
    const starts = [];
    for (let i = 0; i < 1000; i++) limiter.acquire().then(() => starts.push(Date.now()));
    await clock.tickAsync(5 * 60_000);
    assert.equal(starts.length, 1000);
    for (let i = 200; i < starts.length; i++) assert.ok(starts[i] - starts[i - 200] >= 60_000, `start ${i} broke the window`);
  });

  it('keeps order and refuses with queue_full when the queue is full', async function () {
    const limiter = new RateLimiter(1, 2);
    const order = [];
    limiter.acquire().then(() => order.push('a'));
    limiter.acquire().then(() => order.push('b'));
    limiter.acquire().then(() => order.push('c'));
    await assert.rejects(limiter.acquire(), { code: 'queue_full', retryable: true });
    await clock.tickAsync(120_000);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  it('rejects waiters when the account stops', async function () {
    const limiter = new RateLimiter(1, 10);
    await limiter.acquire();
    const waiting = limiter.acquire();
    limiter.close();
    await assert.rejects(waiting, { code: 'stopped' });
  });
});
