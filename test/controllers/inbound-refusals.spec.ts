// What an SMS in node refused, kept for the SMS tab's log (exotel-inbound/refusals.ts): each refusal's
// code, reason, sender and text as far as the request could be read, never a token; a flood bounded to
// a few lines a minute and one that counts the rest; a store that fails is a warning, once. The
// controller on a real store in memory, the clock faked.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { parseAllowList } from '../../src/exotel/auth';
import { BodyError } from '../../src/exotel/request-body';
import { parseInbound } from '../../src/exotel/webhook';
import { InboundController, type InboundCall, type Reply } from '../../src/nodes/exotel-inbound/controller';
import { MAX_LOGGED_BODY, RefusalRecorder, refusalCode, senderOf, shortText } from '../../src/nodes/exotel-inbound/refusals';
import { refusal } from '../../src/nodes/shared/callback-auth';
import { SqliteStore, type InboundRefusal, type RefusalLine } from '../../src/store';
import { LogRecorder, StatusRecorder, translate } from './fakes';

const ROUTE = '/exotel/sms';
const TOKEN = 's3cret-token-of-32-characters-xx';
const API_TOKEN = 'api-token-9f8e7d';
const FORM = 'SmsSid=SM1&From=09876543210&To=08012345678&Body=STOP&AccountSid=acct1';

function call(query: string, body?: string, extra: Partial<InboundCall> = {}): InboundCall {
  return {
    method: body === undefined ? 'GET' : 'POST',
    ip: '203.0.113.9',
    query,
    contentType: body === undefined ? undefined : 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(body ?? '') }),
    ...extra,
  };
}

const account = {
  accountSid: 'acct1',
  defaultCountry: 'IN',
  checkWebhookToken: (given: (expected: string) => boolean) => given(TOKEN),
  redact: (text: string) => text.split(API_TOKEN).join('***').split(TOKEN).join('***'),
};

describe('exotel-inbound: the refusal log', () => {
  let store: SqliteStore;
  let log: LogRecorder;
  let controllers: InboundController[];
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    log = new LogRecorder();
    controllers = [];
  });
  afterEach(async () => {
    for (const c of controllers) await c.close();
    sinon.restore();
    await store.close();
  });

  function controller(options: { perMinute?: number; allowList?: string; sandboxAccountId?: string; logStore?: Pick<SqliteStore, 'logRefusal'>; bodyWaitMs?: number } = {}) {
    const recorder = new RefusalRecorder({ store: options.logStore ?? store, endpoint: ROUTE, account, log, translate, perMinute: options.perMinute, bodyWaitMs: options.bodyWaitMs ?? 500 });
    const c = new InboundController({
      routePath: ROUTE,
      allowList: options.allowList ? parseAllowList(options.allowList) : null,
      account,
      store,
      translate, status: new StatusRecorder(), log,
      emit: () => undefined,
      sandboxAccountId: options.sandboxAccountId,
      refusals: recorder,
    });
    controllers.push(c);
    return { c, recorder };
  }

  async function post(c: InboundController, each: InboundCall): Promise<Reply> {
    let reply: Reply | undefined;
    await c.callback(each, (r) => (reply = r));
    return reply!;
  }

  /** Every refusal logged, oldest first, once what is being written is written. */
  async function logged(recorder?: RefusalRecorder): Promise<RefusalLine[]> {
    await recorder?.close();
    await new Promise((resolve) => setImmediate(resolve));
    return (await store.refusalPage({ limit: 200 })).reverse();
  }

  const fields = (line: InboundRefusal) => ({ code: line.code, status: line.status, from: line.from, body: line.body, sid: line.sid });

  it('logs a forged callback with a wrong token: the reason, the sender and text it claimed, the address; never the token', async () => {
    const { c, recorder } = controller();
    const reply = await post(c, call('token=wrong-token-123', FORM, { authorization: `Basic ${Buffer.from(`x:${TOKEN}x`).toString('base64')}` }));
    assert.equal(reply.status, 401, 'refused as before');
    const [line] = await logged(recorder);
    const { id: _id, at, ...rest } = line;
    assert.ok(Math.abs(at - Date.now()) < 5_000);
    assert.deepEqual(rest, {
      endpoint: ROUTE, accountSid: 'acct1', status: 401, code: 'bad_token', reason: 'the webhook token is missing or wrong',
      from: '+919876543210', body: 'STOP', sid: 'SM1', remote: '203.0.113.9', dropped: 0,
    });
    assert.ok(!JSON.stringify(line).includes('wrong-token') && !JSON.stringify(line).includes('Basic'), 'neither the token given nor the credentials');
  });

  it('logs each kind of refusal with its code, and the sender when the request could be read', async () => {
    const { c, recorder } = controller();
    await post(c, call(`token=${TOKEN}`, 'From=09876543211&Body=hello'));
    await post(c, call(`token=${TOKEN}`, '<sms/>', { contentType: 'application/xml' }));
    await post(c, call(`token=${TOKEN}`, FORM.replace('acct1', 'someone-else')));
    await post(c, call(`token=${TOKEN}`, undefined, { method: 'POST', readBody: () => Promise.reject(new BodyError(413, 'the body is larger than 64 KB')) }));
    await post(c, call(`token=${TOKEN}&SmsSid=G1&From=%2B919876543212&Body=${'x'.repeat(3000)}`));
    assert.equal(c.head(call('token=nope')).status, 401);
    assert.deepEqual((await logged(recorder)).map(fields), [
      { code: 'malformed', status: 400, from: '+919876543211', body: 'hello', sid: null },
      { code: 'content_type', status: 415, from: null, body: null, sid: null },
      { code: 'wrong_account', status: 403, from: '+919876543210', body: 'STOP', sid: 'SM1' },
      { code: 'too_large', status: 413, from: null, body: null, sid: null },
      { code: 'malformed', status: 400, from: '+919876543212', body: `${'x'.repeat(MAX_LOGGED_BODY - 1)}…`, sid: 'G1' },
      { code: 'bad_token', status: 401, from: null, body: null, sid: null },
    ]);
  });

  it('an address off the allow-list, and a sandbox reply for another account, are logged as such', async () => {
    const { c, recorder } = controller({ allowList: '10.0.0.0/8', sandboxAccountId: 'sandbox-1' });
    await post(c, call(`token=${TOKEN}`, FORM));
    await c.sandboxReply('sandbox-2', call('', 'From=09876543213&Body=hi&SmsSid=S2'));
    assert.deepEqual((await logged(recorder)).map(fields), [
      { code: 'not_allowed', status: 403, from: '+919876543210', body: 'STOP', sid: 'SM1' },
      { code: 'not_this_sandbox', status: 403, from: '+919876543213', body: 'hi', sid: 'S2' },
    ]);
  });

  it('masks a credential in what it keeps', async () => {
    const { c, recorder } = controller();
    await post(c, call('', `From=09876543210&Body=${API_TOKEN}&SmsSid=${TOKEN}`));
    const [line] = await logged(recorder);
    assert.deepEqual([line.body, line.sid], ['***', '***']);
  });

  it('logs a few refusals a minute one by one, and one line for the rest of a flood; the next minute starts afresh', async () => {
    const clock = sinon.useFakeTimers({ now: 10 * 60_000 + 5_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { c, recorder } = controller({ perMinute: 3 });
    let written = 0;
    const logRefusal = store.logRefusal.bind(store);
    sinon.stub(store, 'logRefusal').callsFake((r) => {
      written++;
      return logRefusal(r);
    });
    for (let i = 0; i < 500; i++) {
      clock.tick(10);
      assert.equal(c.head({ ...call(`token=bad${i}`), ip: `198.51.100.${i % 250}` }).status, 401);
    }
    await clock.tickAsync(0);
    assert.equal(written, 3, 'a flood writes nothing more while the minute lasts');
    await clock.tickAsync(60_000);
    const lines = await store.refusalPage({ limit: 10 });
    assert.deepEqual(lines.map((l) => l.dropped), [497, 0, 0, 0]);
    assert.equal(lines[0].at, 10 * 60_000 + 5_000 + 5_000, 'the flood line is the last refusal of the minute');
    assert.equal(lines[0].remote, '198.51.100.249');
    clock.tick(1_000);
    c.head(call('token=again'));
    await clock.tickAsync(0);
    assert.equal(written, 5, 'a new minute logs again');
    clock.restore();
    await recorder.close();
  });

  it('closing writes the flood line at once, and nothing after', async () => {
    const { c, recorder } = controller({ perMinute: 1 });
    for (let i = 0; i < 4; i++) c.head(call('token=x'));
    const lines = await logged(recorder);
    assert.deepEqual(lines.map((l) => l.dropped), [0, 3]);
    const other = controller();
    other.c.head(call('token=x'));
    await other.recorder.close();
    other.c.head(call('token=x'));
    await other.recorder.close();
    assert.equal((await logged()).length, 3, 'nothing after closing');
  });

  it('reads the body for the sender only when the callback was refused before its body was read', async () => {
    const { c, recorder } = controller();
    const reads: string[] = [];
    const counted = (name: string, body?: string, extra: Partial<InboundCall> = {}) => {
      const each = call(`token=${name === 'auth' ? 'x' : TOKEN}`, body, extra);
      const read = each.readBody;
      return { ...each, readBody: () => (reads.push(name), read()) };
    };
    await post(c, counted('auth', FORM));
    await post(c, counted('get', undefined));
    c.head({ ...counted('head', undefined), method: 'HEAD' });
    await post(c, counted('parsed', 'From=09876543211'));
    await post(c, counted('large', undefined, { method: 'POST', readBody: () => Promise.reject(new BodyError(413, 'the body is larger than 64 KB')) }));
    await logged(recorder);
    assert.deepEqual(reads, ['auth', 'parsed', 'large'], 'the one refused for its token read by the recorder; the others once, by the controller; no GET or HEAD body');
  });

  it('a body that cannot be read is logged without its sender, at once', async () => {
    const { c, recorder } = controller({ bodyWaitMs: 10_000 });
    const started = Date.now();
    await post(c, call('', undefined, { method: 'POST', readBody: () => Promise.reject(new Error('socket hang up')) }));
    const [line] = await logged(recorder);
    assert.ok(Date.now() - started < 5_000, 'not after the wait');
    assert.deepEqual([line.code, line.from], ['bad_token', null]);
  });

  it('does not wait for a body that never comes: the refusal is logged without a sender', async () => {
    const { c, recorder } = controller();
    const reply = await post(c, call('', undefined, { method: 'POST', readBody: () => new Promise(() => undefined) }));
    assert.equal(reply.status, 401, 'answered at once');
    const started = Date.now();
    const [line] = await logged(recorder);
    assert.ok(Date.now() - started < 2_000);
    assert.deepEqual(fields(line), { code: 'bad_token', status: 401, from: null, body: null, sid: null });
  });

  it('a store that cannot write is a warning, once, until it writes again; the callback is refused all the same', async () => {
    let fail = true;
    const failing = { logRefusal: (r: InboundRefusal) => (fail ? Promise.reject(new Error(`disk full ${API_TOKEN}`)) : store.logRefusal(r)) };
    const { c, recorder } = controller({ logStore: failing });
    assert.equal(c.head(call('')).status, 401);
    c.head(call(''));
    await new Promise((resolve) => setImmediate(resolve));
    const warns = () => log.lines.filter((l) => l.level === 'warn').map((l) => l.text);
    assert.deepEqual(warns(), [`warn.refusalLog ${JSON.stringify({ path: ROUTE, message: 'disk full ***' })}`]);
    fail = false;
    c.head(call(''));
    await new Promise((resolve) => setImmediate(resolve));
    fail = true;
    c.head(call(''));
    assert.equal((await logged(recorder)).length, 1);
    assert.equal(warns().length, 2, 'warned again after a write succeeded');
  });

  describe('the codes', () => {
    it('names each reason the controller and the webhook give', () => {
      const auth = (extra: object, query = '') => refusal({ ...account, ...extra }, parseAllowList('10.0.0.0/8'), { ip: '10.0.0.1', query })!;
      const noToken = auth({ webhookProblem: 'noToken' });
      const shortToken = auth({ webhookProblem: 'shortToken' });
      const badToken = auth({}, 'token=x');
      const offList = refusal(account, parseAllowList('10.0.0.0/8'), { ip: '192.0.2.1', query: '' })!;
      assert.deepEqual(
        [noToken, shortToken, badToken, offList].map((r) => refusalCode(r.status, r.reason)),
        ['no_token', 'short_token', 'bad_token', 'not_allowed'],
      );
      const parsed = (body: string, contentType = 'application/x-www-form-urlencoded') => {
        const result = parseInbound({ method: 'POST', contentType, query: '', rawBody: Buffer.from(body) });
        assert.ok(!result.ok);
        return refusalCode(result.status, result.reason);
      };
      assert.deepEqual([parsed('From=1'), parsed('<x/>', 'text/xml'), parsed('{', 'application/json')], ['malformed', 'content_type', 'malformed']);
      assert.equal(refusalCode(403, 'the AccountSid is not this account’s'), 'wrong_account');
      assert.equal(refusalCode(403, 'something else'), 'refused');
      assert.equal(refusalCode(413, 'too big'), 'too_large');
      assert.equal(refusalCode(429, 'slow down'), 'refused');
    });
  });

  describe('the sender of a refused callback', () => {
    it('reads form fields and JSON of any shape, the query first, and never the token', () => {
      assert.deepEqual(senderOf('token=abc&From=09876543210', { body: Buffer.from('Body=hi&SmsSid=S1&token=zzz') }, 'IN'), { from: '+919876543210', body: 'hi', sid: 'S1' });
      assert.deepEqual(senderOf('', { body: Buffer.from(' {"Sender":"09876543211","MessageBody":"नमस्ते","Sid":7}') }, 'IN'), { from: '+919876543211', body: 'नमस्ते', sid: '7' });
      assert.deepEqual(senderOf('', { body: Buffer.from('{"From":') }, 'IN'), { from: null, body: null, sid: null }, 'broken JSON: nothing');
      assert.deepEqual(senderOf('', { body: Buffer.from('{"Body":{"a":1},"From":["09876543210"],"SmsSid":null}') }, 'IN'), { from: null, body: null, sid: null }, 'only text and numbers');
      assert.deepEqual(senderOf('From=09876543210', { body: Buffer.from('From=09876543211&Body=x') }, 'IN').from, '+919876543210', 'the query first');
      assert.deepEqual(senderOf('From=not-a-number%0Aevil', undefined, 'IN'), { from: 'not-a-number evil', body: null, sid: null }, 'not a number: kept as text, one line');
      assert.deepEqual(senderOf('From=%20&Sender=09876543210', undefined, 'IN').from, '+919876543210', 'a blank field is no field');
      assert.deepEqual(senderOf('', { body: Buffer.from('[{"From":"09876543210"}]') }, 'IN'), { from: null, body: null, sid: null });
    });

    it('cuts text short on one line', () => {
      assert.equal(shortText(' a\r\nb\u0000c ', 10), 'a b c');
      assert.equal(shortText('abcdef', 4), 'abc…');
      assert.equal(shortText('abcd', 4), 'abcd');
    });
  });
});
