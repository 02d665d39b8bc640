// The edges of the rate limiter and the retry loop that mutation testing found untested: the limit's
// own check, an aborted or stopped wait's error, a release called twice, and the final error's notes.
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/exotel/limiter';
import { withRetry } from '../../src/exotel/retry';
import { SendError } from '../../src/exotel/errors';

const info = (err: unknown) => {
  assert.ok(err instanceof SendError, String(err));
  return { code: err.code, message: err.message, retryable: err.retryable, maybeSent: err.maybeSent, httpStatus: err.httpStatus };
};

describe('the rate limiter at its edges', function () {
  it('needs a positive limit', function () {
    for (const bad of [0, -1, NaN]) assert.throws(() => new RateLimiter(bad, 1), { message: 'the rate limit must be a positive number of requests a minute' });
    assert.equal(new RateLimiter(0.5, 1).perMinute, 0.5);
  });

  it('refuses at once a wait already aborted, and says why a wait ended', async function () {
    const limiter = new RateLimiter(1, 5, 50);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(limiter.acquire(aborted.signal), (err: unknown) => {
      assert.deepEqual(info(err), { code: 'stopped', message: 'the node was stopped while the message waited for the rate limit', retryable: true, maybeSent: undefined, httpStatus: undefined });
      return true;
    });
    assert.equal(limiter.queued, 0);
    const first = await limiter.acquire();
    const stop = new AbortController();
    const a = limiter.acquire(stop.signal);
    const b = limiter.acquire();
    const c = limiter.acquire();
    assert.equal(limiter.queued, 3);
    stop.abort();
    await assert.rejects(a, { code: 'stopped' });
    assert.equal(limiter.queued, 2, 'the aborted waiter left the queue, and only it');
    stop.abort();
    assert.equal(limiter.queued, 2);
    first(false);
    const releaseB = await b;
    assert.equal(limiter.queued, 1, 'b, next in line, got the slot');
    limiter.close();
    await assert.rejects(c, (err: unknown) => {
      assert.deepEqual(info(err), { code: 'stopped', message: 'the Exotel account was stopped', retryable: true, maybeSent: undefined, httpStatus: undefined });
      return true;
    });
    releaseB(false);
  });

  it('says how many wait when the queue is full', async function () {
    const limiter = new RateLimiter(1, 2, 50);
    await limiter.acquire();
    void limiter.acquire().catch(() => undefined);
    void limiter.acquire().catch(() => undefined);
    await assert.rejects(limiter.acquire(), { code: 'queue_full', message: '2 messages already wait for the account\'s rate limit', retryable: true });
    limiter.close();
  });

  it('counts a slot released twice once', async function () {
    const limiter = new RateLimiter(2, 5, 60_000);
    const one = await limiter.acquire();
    await limiter.acquire();
    one(false);
    one(false);
    await limiter.acquire();
    let fourth = false;
    void limiter.acquire().then(() => (fourth = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fourth, false, 'the second release gave back no second slot');
    limiter.close();
  });
});

describe('retries at their edges', function () {
  const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
  const noWait = async () => undefined;
  const fail = (info: ConstructorParameters<typeof SendError>[0]) => { throw new SendError(info); };

  it('gives the first error as it is when nothing was retried', async function () {
    const err = await withRetry(policy, async () => fail({ code: 'http_400', message: 'bad', retryable: false, httpStatus: 400 }), undefined, noWait).catch((e: unknown) => e);
    assert.deepEqual(info(err), { code: 'http_400', message: 'bad', retryable: false, maybeSent: undefined, httpStatus: 400 });
  });

  it('says after how many attempts it gave up', async function () {
    const err = await withRetry(policy, async () => fail({ code: 'server_error', message: 'down', retryable: true, httpStatus: 500 }), undefined, noWait).catch((e: unknown) => e);
    assert.deepEqual(info(err), { code: 'server_error', message: 'down (after 3 attempts)', retryable: true, maybeSent: undefined, httpStatus: 500 });
  });

  it('says an earlier attempt may have been sent, when a later one is refused outright', async function () {
    const err = await withRetry(policy, async (n) => (n === 1 ? fail({ code: 'timeout', message: 'slow', retryable: true, maybeSent: true }) : fail({ code: 'http_400', message: 'bad', retryable: false, httpStatus: 400 })), undefined, noWait).catch((e: unknown) => e);
    assert.deepEqual(info(err), { code: 'http_400', message: 'bad (after 2 attempts; an earlier attempt got no answer, so Exotel may have sent it)', retryable: false, maybeSent: true, httpStatus: 400 });
    const both = await withRetry(policy, async (n) => (n === 1 ? fail({ code: 'timeout', message: 'slow', retryable: true, maybeSent: true }) : fail({ code: 'server_error', message: 'down', retryable: true })), undefined, noWait).catch((e: unknown) => e);
    assert.equal(info(both).message, 'down (after 3 attempts; an earlier attempt got no answer, so Exotel may have sent it)');
  });

  it('turns an unexpected exception into an error that is not retried', async function () {
    let calls = 0;
    const err = await withRetry(policy, async () => { calls++; throw new TypeError('oops'); }, undefined, noWait).catch((e: unknown) => e);
    assert.deepEqual(info(err), { code: 'internal', message: 'oops', retryable: false, maybeSent: undefined, httpStatus: undefined });
    assert.equal(calls, 1);
    const odd = await withRetry(policy, async () => { throw 'plain text'; }, undefined, noWait).catch((e: unknown) => e);
    assert.equal(info(odd).message, 'plain text');
  });
});
