// exotel-inbound's controller, without Node-RED or Express, on a real (in-memory) store.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import { InboundController, setUp, type InboundCall, type InboundMessage, type Reply } from '../../src/nodes/exotel-inbound/controller';
import { LogRecorder, StatusRecorder, translate } from './fakes';

const ROUTE = '/exotel/sms';

function call(query: string, body?: string): InboundCall {
  return {
    method: body === undefined ? 'GET' : 'POST',
    ip: '10.0.0.1',
    query,
    contentType: body === undefined ? undefined : 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(body ?? ''), contentType: 'application/x-www-form-urlencoded' }),
  };
}

const sms = (sid: string) => `SmsSid=${sid}&From=09876543210&To=08012345678&Body=STOP&AccountSid=acct1`;

describe('exotel-inbound controller', () => {
  let store: SqliteStore;
  let emitted: InboundMessage[];
  let events: string[];
  const controllers: InboundController[] = [];
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    emitted = [];
    events = [];
  });
  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.close();
    sinon.restore();
    await store.close();
  });

  function controller(options: { store?: SqliteStore; replayWindowMs?: number } = {}) {
    const c = new InboundController({
      routePath: ROUTE,
      allowList: null,
      account: { accountSid: 'acct1', defaultCountry: 'IN', checkWebhookToken: (given) => given('s3cret'), redact: (t) => t },
      store: options.store ?? store,
      translate, status: new StatusRecorder(), log: new LogRecorder(),
      emit: (msg) => {
        events.push('emit');
        emitted.push(msg);
      },
      replayWindowMs: options.replayWindowMs,
    });
    controllers.push(c);
    return c;
  }

  async function post(c: InboundController, c2: InboundCall): Promise<Reply> {
    let reply: Reply | undefined;
    await c.callback(c2, (r) => {
      events.push(`reply ${r.status}`);
      reply = r;
    });
    return reply!;
  }

  it('acknowledges a callback with the token, records it, and only then hands it to the flow', async () => {
    const c = controller();
    assert.deepEqual(await post(c, call('token=s3cret', sms('SM1'))), { status: 200 });
    assert.deepEqual(events, ['reply 200', 'emit']);
    assert.equal(emitted[0].phone, '+919876543210');
    assert.equal(emitted[0].payload, 'STOP');
    assert.equal(await store.recordInbound({ ...emitted[0].sms, endpoint: ROUTE }), false, 'it is in the inbound log');
  });

  it('answers 401 without the token, asks for credentials, and records nothing', async () => {
    const c = controller();
    assert.deepEqual(await post(c, call('', sms('SM1'))), { status: 401, error: 'the webhook token is missing or wrong', challenge: true });
    assert.deepEqual(c.head(call('token=wrong')), { status: 401, error: 'the webhook token is missing or wrong', challenge: true });
    assert.deepEqual(c.head(call('token=s3cret')), { status: 200 });
    assert.equal(emitted.length, 0);
    assert.deepEqual(await store.unhandledInbound(ROUTE), []);
  });

  it('acknowledges a duplicate SmsSid and drops it', async () => {
    const c = controller();
    await post(c, call('token=s3cret', sms('SM1')));
    assert.deepEqual(await post(c, call('token=s3cret', sms('SM1'))), { status: 200 });
    assert.equal(emitted.length, 1);
  });

  it('answers 403 to another account’s SMS', async () => {
    const reply = await post(controller(), call('token=s3cret', sms('SM1').replace('acct1', 'acct2')));
    assert.equal(reply.status, 403);
    assert.equal(emitted.length, 0);
  });

  it('answers 503, so that Exotel tries again, when the SMS cannot be recorded', async () => {
    const broken = new SqliteStore(':memory:');
    await broken.close();
    const reply = await post(controller({ store: broken }), call('token=s3cret', sms('SM1')));
    assert.equal(reply.status, 503);
    assert.equal(emitted.length, 0);
  });

  it('hands on again, after a restart, what was recorded but never handled; not what the flow had time for', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const first = controller({ replayWindowMs: 1_000 });
    await post(first, call('token=s3cret', sms('SM1')));
    await clock.tickAsync(1_500);
    await post(first, call('token=s3cret', sms('SM2')));
    await first.close();
    controllers.splice(0);
    emitted = [];
    await controller({ replayWindowMs: 1_000 }).replay();
    assert.deepEqual(emitted.map((m) => [m.sms.sid, m.sms.replayed]), [['SM2', true]]);
  });
});

describe('exotel-inbound set-up', () => {
  it('refuses a missing account, a path that is not plain, a path in use and a bad allow-list', () => {
    const free = () => undefined;
    assert.equal((setUp({ path: '/sms' }, false, free, 'n') as { status: string }).status, 'status.noAccount');
    assert.equal((setUp({ path: '/sms/:id' }, true, free, 'n') as { status: string }).status, 'status.badPath');
    assert.equal((setUp({ path: '/sms' }, true, () => 'other', 'n') as { status: string }).status, 'status.pathInUse');
    assert.equal((setUp({ path: '/sms', allowList: 'not an address' }, true, free, 'n') as { status: string }).status, 'status.badAllowList');
    assert.deepEqual(setUp({ path: ' /sms/ ' }, true, () => 'n', 'n'), { ok: true, routePath: '/sms', allowList: null });
  });
});
