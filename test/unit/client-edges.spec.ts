// The edges of the Exotel API client that mutation testing found untested: every HTTP status it maps,
// with and without Exotel's RestException; failures before and after the request left; the optional
// form fields; defaults of the answer; the base URL; one request per connection; and close().
import assert from 'node:assert/strict';
import { MockAgent, type Interceptable } from 'undici';
import { ExotelClient, parseBaseUrl, type SendRequest } from '../../src/exotel/client';
import { SendError } from '../../src/exotel/errors';

const BASE = 'https://api.in.exotel.com';
const PATH = '/v1/Accounts/acct1/Sms/send.json';
const SMS: SendRequest = { from: 'EXSHOP', to: '+919876543210', body: 'Hello', encoding: 'plain' };

/** The fields of a SendError that say what the send node does with it. */
const facts = (err: unknown) => {
  assert.ok(err instanceof SendError, String(err));
  const { code, message, retryable, httpStatus, retryAfterMs, maybeSent } = err;
  return { code, message, retryable, httpStatus, retryAfterMs, maybeSent };
};

describe('Exotel API client at its edges', function () {
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

  async function failure(statusCode: number, data?: unknown, headers: Record<string, string> = {}) {
    pool.intercept({ path: PATH, method: 'POST' }).reply(statusCode, data === undefined ? '' : JSON.stringify(data), { headers });
    return facts(await client.send(SMS).then(() => assert.fail('resolved'), (err: unknown) => err));
  }

  it('maps each refusal to a code, whether to retry, and what Exotel said', async function () {
    const none = { retryAfterMs: undefined, maybeSent: undefined };
    assert.deepEqual(await failure(429, undefined, { 'retry-after': '2' }), { code: 'rate_limited', message: 'Exotel answered HTTP 429', retryable: true, httpStatus: 429, retryAfterMs: 2000, maybeSent: undefined });
    assert.deepEqual(await failure(503), { code: 'unavailable', message: 'Exotel answered HTTP 503', retryable: true, httpStatus: 503, ...none });
    assert.deepEqual(await failure(500), { code: 'server_error', message: 'Exotel answered HTTP 500', retryable: true, httpStatus: 500, ...none });
    assert.deepEqual(await failure(401), { code: 'unauthorized', message: 'Exotel answered HTTP 401 (check the account SID, API key and token)', retryable: false, httpStatus: 401, ...none });
    assert.deepEqual(await failure(403), { code: 'unauthorized', message: 'Exotel answered HTTP 403 (check the account SID, API key and token)', retryable: false, httpStatus: 403, ...none });
    assert.deepEqual(await failure(404), { code: 'http_404', message: 'Exotel answered HTTP 404', retryable: false, httpStatus: 404, ...none });
    assert.deepEqual(await failure(300), { code: 'http_300', message: 'Exotel answered HTTP 300', retryable: false, httpStatus: 300, ...none });
    assert.deepEqual(await failure(400, 'not json'), { code: 'http_400', message: 'Exotel answered HTTP 400', retryable: false, httpStatus: 400, ...none });
  });

  it('takes Exotel\'s own code and message from a RestException', async function () {
    const rest = (Code: number, Message: string) => ({ RestException: { Status: 0, Code, Message } });
    for (const [status, retryable] of [[429, true], [503, true], [502, true], [403, false], [400, false]] as const) {
      const got = await failure(status, rest(20000 + status, `refused ${status}`));
      assert.equal(got.code, 20000 + status);
      assert.equal(got.retryable, retryable);
      assert.match(got.message, new RegExp(`^Exotel: refused ${status}`));
    }
  });

  it('tells a failure before the request left (not sent) from one after (maybe sent)', async function () {
    const thrown = async (code: string | undefined, name = 'Error') => {
      const err = Object.assign(new Error(`failed ${code}`), code ? { code } : {}, { name });
      pool.intercept({ path: PATH, method: 'POST' }).replyWithError(err);
      return facts(await client.send(SMS).then(() => assert.fail('resolved'), (e: unknown) => e));
    };
    const notSent = { retryable: true, httpStatus: undefined, retryAfterMs: undefined, maybeSent: undefined };
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']) {
      assert.deepEqual(await thrown(code), { code: 'network_error', message: `could not reach Exotel (${code})`, ...notSent });
    }
    const maybe = { retryable: true, httpStatus: undefined, retryAfterMs: undefined, maybeSent: true };
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) {
      assert.deepEqual(await thrown(code), { code: 'timeout', message: 'Exotel did not answer in time', ...maybe });
    }
    assert.deepEqual(await thrown(undefined, 'TimeoutError'), { code: 'timeout', message: 'Exotel did not answer in time', ...maybe });
    assert.deepEqual(await thrown('ECONNRESET'), { code: 'network_error', message: 'the connection to Exotel failed (ECONNRESET)', ...maybe });
    assert.deepEqual(await thrown(undefined), { code: 'network_error', message: 'the connection to Exotel failed (failed undefined)', ...maybe });
  });

  it('sends only the optional fields that are set, the custom field too', async function () {
    const forms: Array<Record<string, string>> = [];
    const answer = (opts: { body?: unknown }) => {
      forms.push(Object.fromEntries(new URLSearchParams(String(opts.body))));
      return { statusCode: 200, data: { SMSMessage: { Sid: 's' } } };
    };
    pool.intercept({ path: PATH, method: 'POST' }).reply(answer);
    pool.intercept({ path: PATH, method: 'POST' }).reply(answer);
    await client.send({ ...SMS, dltEntityId: '', smsType: undefined });
    await client.send({ ...SMS, customField: 'order-42' });
    assert.deepEqual(forms, [
      { From: 'EXSHOP', To: '+919876543210', Body: 'Hello', EncodingType: 'plain' },
      { From: 'EXSHOP', To: '+919876543210', Body: 'Hello', EncodingType: 'plain', CustomField: 'order-42' },
    ]);
  });

  it('fills what the answer leaves out, and counts segments only when they are a positive number', async function () {
    const answer = async (message: Record<string, unknown>, encoding: SendRequest['encoding'] = 'plain') => {
      pool.intercept({ path: PATH, method: 'POST' }).reply(201, { SMSMessage: message });
      return client.send({ ...SMS, encoding });
    };
    assert.deepEqual(await answer({ Sid: 'a' }), { sid: 'a', status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 0, encoding: 'plain' });
    assert.equal((await answer({ Sid: 'b', SmsUnits: '3' }, 'unicode')).segments, 3);
    assert.equal((await answer({ Sid: 'c', SmsUnits: 0 })).segments, 0);
    assert.equal((await answer({ Sid: 'd', SmsUnits: -2 })).segments, 0);
    assert.equal((await answer({ Sid: 'e', SmsUnits: 'many' })).segments, 0);
    assert.deepEqual(await answer({ Sid: 'f', Status: 'sent', DetailedStatus: 'DELIVERED', DetailedStatusCode: '20005' }, 'unicode'), {
      sid: 'f', status: 'sent', detailedStatus: 'DELIVERED', detailedStatusCode: '20005', segments: 0, encoding: 'unicode',
    });
  });

  it('never retries an accepted request whose answer has no SMS id', async function () {
    for (const data of [{ SMSMessage: { Sid: 42 } }, { SMSMessage: null }, {}]) {
      assert.deepEqual(await failure(200, data), {
        code: 'bad_response', message: 'Exotel accepted the request but its answer had no SMS id', retryable: false, httpStatus: 200, retryAfterMs: undefined, maybeSent: undefined,
      });
    }
  });

  it('asks for JSON and sends a form', async function () {
    let headers: Record<string, string> = {};
    pool.intercept({ path: PATH, method: 'POST' }).reply((opts) => {
      headers = opts.headers as Record<string, string>;
      return { statusCode: 200, data: { SMSMessage: { Sid: 's' } } };
    });
    await client.send(SMS);
    assert.equal(headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(headers.accept, 'application/json');
  });

  it('lets one request a connection go at a time, the next when one ends', async function () {
    const events: string[] = [];
    const one = new ExotelClient({ accountSid: 'acct1', apiKey: 'key', apiToken: 'token', apiBaseUrl: BASE, dispatcher: agent, connections: 0.5 });
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'a' } }).delay(30);
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'b' } }).delay(30);
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'c' } });
    const send = (c: ExotelClient, name: string) => c.send(SMS, () => void events.push(`${name} leaves`)).then(() => events.push(`${name} done`));
    await Promise.all([send(one, 'a'), send(one, 'b'), send(one, 'c')]);
    assert.deepEqual(events, ['a leaves', 'a done', 'b leaves', 'b done', 'c leaves', 'c done'], 'connections: 0.5 is one connection');
    events.length = 0;
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'd' } }).delay(30);
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'e' } }).delay(30);
    await Promise.all([send(client, 'd'), send(client, 'e')]);
    assert.deepEqual(events.slice(0, 2), ['d leaves', 'e leaves'], 'eight connections by default');
  });

  it('leaves a dispatcher it was given open when it closes', async function () {
    await client.close();
    pool.intercept({ path: PATH, method: 'POST' }).reply(200, { SMSMessage: { Sid: 'after' } });
    const other = new ExotelClient({ accountSid: 'acct1', apiKey: 'key', apiToken: 'token', apiBaseUrl: BASE, dispatcher: agent });
    assert.equal((await other.send(SMS)).sid, 'after');
  });

  it('closes its own connection pool', async function () {
    const own = new ExotelClient({ accountSid: 'acct1', apiKey: 'key', apiToken: 'token', apiBaseUrl: 'http://127.0.0.1:9' });
    await own.close();
    await assert.rejects(own.send(SMS), (err: unknown) => err instanceof SendError && err.message === 'the connection to Exotel failed (UND_ERR_DESTROYED)');
  });

  it('takes an http(s) base URL with a path, and refuses anything else', function () {
    assert.deepEqual(parseBaseUrl('https://user:pw@api.example.com/exotel///'), { origin: 'https://api.example.com', prefix: '/exotel' });
    assert.deepEqual(parseBaseUrl('http://127.0.0.1:8080'), { origin: 'http://127.0.0.1:8080', prefix: '' });
    assert.throws(() => parseBaseUrl('ftp://api.example.com'), { message: 'the API base URL must start with https:// or http://' });
    assert.throws(() => parseBaseUrl('api.example.com'), { message: 'the API base URL is not a URL' });
  });
});
