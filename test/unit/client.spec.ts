import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockAgent, type Interceptable } from 'undici';
import { ExotelClient, parseRetryAfter } from '../../src/exotel/client';
import { withRetry, retryDelay } from '../../src/exotel/retry';
import { SendError } from '../../src/exotel/errors';
import type { SendRequest } from '../../src/exotel/client';

const BASE = 'https://api.in.exotel.com';
const PATH = '/v1/Accounts/acct1/Sms/send.json';
const SMS: SendRequest = { from: 'EXSHOP', to: '+919876543210', body: 'Hello', encoding: 'plain' };
const ok = (sid = 'sid-1') => ({ SMSMessage: { Sid: sid, Status: 'queued', DetailedStatus: 'PENDING_TO_OPERATOR', DetailedStatusCode: 21010, SmsUnits: 1 } });
const FAST = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

describe('Exotel API client and retry policy', function () {
  let agent: MockAgent;
  let pool: Interceptable;
  let client: ExotelClient;
  beforeEach(function () {
    agent = new MockAgent();
    agent.disableNetConnect();
    pool = agent.get(BASE);
    client = new ExotelClient({ accountSid: 'acct1', apiKey: 'key', apiToken: 'token', apiBaseUrl: BASE, dispatcher: agent });
  });
  afterEach(async function () {
    await agent.close();
  });

  it('posts the form with Basic credentials and maps the reply to msg.exotel', async function () {
    let seen: { headers: Record<string, string>; body: string } | undefined;
    pool.intercept({ path: PATH, method: 'POST' }).reply((opts) => {
      seen = { headers: opts.headers as Record<string, string>, body: String(opts.body) };
      return { statusCode: 200, data: ok('sms-9') };
    });
    const result = await client.send({ ...SMS, dltEntityId: '1101', dltTemplateId: '1107', smsType: 'transactional', priority: 'high', statusCallback: 'https://example.com/cb' });
    assert.deepEqual(result, { sid: 'sms-9', status: 'queued', detailedStatus: 'PENDING_TO_OPERATOR', detailedStatusCode: 21010, segments: 1, encoding: 'plain' });
    assert.equal(seen?.headers.authorization, 'Basic ' + Buffer.from('key:token').toString('base64'));
    assert.deepEqual(Object.fromEntries(new URLSearchParams(seen?.body)), {
      From: 'EXSHOP', To: '+919876543210', Body: 'Hello', EncodingType: 'plain', DltEntityId: '1101', DltTemplateId: '1107', SmsType: 'transactional', Priority: 'high', StatusCallback: 'https://example.com/cb',
    });
  });

  it('retries a 503 and then succeeds', async function () {
    pool.intercept({ path: PATH, method: 'POST' }).reply(503, { RestException: { Status: 503, Code: 503, Message: 'busy' } });
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, ok());
    let attempts = 0;
    const result = await withRetry(FAST, () => { attempts++; return client.send(SMS); });
    assert.equal(result.sid, 'sid-1');
    assert.equal(attempts, 2);
  });

  it('honours Retry-After on a 429', async function () {
    pool.intercept({ path: PATH, method: 'POST' }).reply(429, { RestException: { Status: 429, Code: 429, Message: 'Too many requests' } }, { headers: { 'retry-after': '2' } });
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, ok());
    const waits: number[] = [];
    const result = await withRetry(FAST, () => client.send(SMS), undefined, async (ms) => { waits.push(ms); });
    assert.equal(result.sid, 'sid-1');
    assert.deepEqual(waits, [2000]);
  });

  it('does not retry a 400 and passes on Exotel’s code and message', async function () {
    pool.intercept({ path: PATH, method: 'POST' }).reply(400, { RestException: { Status: 400, Code: 34011, Message: 'Invalid DLT template' } });
    let attempts = 0;
    await assert.rejects(withRetry(FAST, () => { attempts++; return client.send(SMS); }), (err: SendError) => {
      assert.deepEqual(err.toJSON(), { code: 34011, message: 'Exotel: Invalid DLT template', retryable: false, httpStatus: 400 });
      return true;
    });
    assert.equal(attempts, 1);
  });

  it('gives up after the configured attempts on repeated 500s', async function () {
    pool.intercept({ path: PATH, method: 'POST' }).reply(500, 'oops').times(4);
    let attempts = 0;
    await assert.rejects(withRetry(FAST, () => { attempts++; return client.send(SMS); }), (err: SendError) => {
      assert.equal(err.code, 'server_error');
      assert.equal(err.retryable, true);
      assert.equal(err.httpStatus, 500);
      assert.match(err.message, /after 4 attempts/);
      return true;
    });
    assert.equal(attempts, 4);
  });

  it('a 200 without an SMS id fails and is not retried (the SMS may have gone)', async function () {
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, '<html>proxy page</html>');
    let attempts = 0;
    await assert.rejects(withRetry(FAST, () => { attempts++; return client.send(SMS); }), { code: 'bad_response', retryable: false });
    assert.equal(attempts, 1);
  });

  it('times out a slow answer and retries it', async function () {
    // A real server that never answers the first request.
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      req.resume();
      if (calls === 1) return; // hang
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ok('late')));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const slow = new ExotelClient({ accountSid: 'acct1', apiKey: 'k', apiToken: 't', apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, responseTimeoutMs: 200 });
    try {
      const errors: (string | number)[] = [];
      const started = Date.now();
      const result = await withRetry(FAST, () => slow.send(SMS), (err) => errors.push(err.code));
      assert.equal(result.sid, 'late');
      assert.deepEqual(errors, ['timeout']);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await slow.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('a final failure after a timed-out attempt says Exotel may have sent it', async function () {
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      req.resume();
      if (calls === 1) return; // the request reached "Exotel", the answer never comes
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ RestException: { Status: 400, Code: 4000, Message: 'bad' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const slow = new ExotelClient({ accountSid: 'acct1', apiKey: 'k', apiToken: 't', apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, responseTimeoutMs: 200 });
    try {
      await assert.rejects(withRetry(FAST, () => slow.send(SMS)), (err: SendError) => {
        assert.equal(err.code, 4000);
        assert.equal(err.toJSON().maybeSent, true);
        assert.match(err.message, /an earlier attempt got no answer, so Exotel may have sent it/);
        return true;
      });
    } finally {
      await slow.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('retries a refused connection as a network error', async function () {
    const dead = new ExotelClient({ accountSid: 'acct1', apiKey: 'k', apiToken: 't', apiBaseUrl: 'http://127.0.0.1:9' });
    try {
      await assert.rejects(withRetry({ ...FAST, attempts: 2 }, () => dead.send(SMS)), (err: SendError) => {
        assert.equal(err.code, 'network_error');
        assert.match(err.message, /ECONNREFUSED/);
        assert.equal(err.toJSON().maybeSent, undefined, 'a refused connection never reached Exotel');
        return true;
      });
    } finally {
      await dead.close();
    }
  });

  it('keeps a path prefix of the base URL (proxies)', async function () {
    const proxied = new ExotelClient({ accountSid: 'acct1', apiKey: 'k', apiToken: 't', apiBaseUrl: `${BASE}/exotel/`, dispatcher: agent });
    pool.intercept({ path: `/exotel${PATH}`, method: 'POST' }).reply(200, ok('via-proxy'));
    assert.equal((await proxied.send(SMS)).sid, 'via-proxy');
  });

  it('backs off exponentially with jitter, capped', function () {
    const err = new SendError({ code: 'server_error', message: 'x', retryable: true });
    const policy = { attempts: 10, baseDelayMs: 1000, maxDelayMs: 30000 };
    assert.equal(retryDelay(policy, 1, err, () => 0), 500);
    assert.equal(retryDelay(policy, 1, err, () => 1), 1000);
    assert.equal(retryDelay(policy, 3, err, () => 1), 4000);
    assert.equal(retryDelay(policy, 9, err, () => 1), 30000);
  });

  it('reads Retry-After as seconds or a date', function () {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter('1.5'), 1500);
    assert.equal(parseRetryAfter(['7', '9']), 7000, 'the first of repeated headers');
    const now = Date.parse('2025-02-01T00:00:00Z');
    assert.equal(parseRetryAfter('Sat, 01 Feb 2025 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Fri, 31 Jan 2025 23:59:00 GMT', now), 0, 'a date already past: at once');
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
