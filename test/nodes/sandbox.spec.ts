import assert from 'node:assert/strict';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import type { SandboxMessage } from '../../src/store';

const PHONE = '+919876543210';

describe('sandbox mode', function () {
  let mock: MockExotel;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } });
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
  });

  function flow({ mode = 'sandbox', inbound = true } = {}): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      // apiBaseUrl points at the mock: a sandbox account must never call it
      { id: 'acc', type: 'exotel-account', name: 'Shop sandbox', accountSid: '', apiBaseUrl: mock.url, defaultFrom: 'EXSTOR', defaultCountry: 'IN', mode, rateLimit: 200 },
      { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] },
      { id: 'stopper', z: 'f1', type: 'opt-out-store', action: 'optout', phone: 'phone', phoneType: 'msg', wires: [[]] },
      ...(inbound ? [{ id: 'in', z: 'f1', type: 'exotel-inbound', account: 'acc', path: '/exotel/sandbox-test', wires: [['received']] }] : []),
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'failed', z: 'f1', type: 'helper' },
      { id: 'received', z: 'f1', type: 'helper' },
    ];
  }

  it('sends into the sandbox, never to Exotel, with a realistic msg.exotel', async function () {
    await load(flow(), {});
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ payload: 'Your order has shipped.', phone: '09876543210' });
    const msg = await sent;
    assert.match(msg.exotel.sid, /^sandbox-out-[0-9a-f]{16}$/);
    assert.deepEqual({ ...msg.exotel, sid: 'x' }, { sid: 'x', status: 'sent', detailedStatus: 'DELIVERED_TO_SANDBOX', detailedStatusCode: null, segments: 1, encoding: 'plain' });
    await wait(50);
    assert.equal(mock.requests.length, 0);
    const thread = await helper.request().get('/exotel-sandbox/acc/messages').query({ phone: PHONE }).expect(200);
    assert.deepEqual(thread.body.map((m: SandboxMessage) => [m.direction, m.body, m.status, m.phone]), [['out', 'Your order has shipped.', 'sent', PHONE]]);
    const threads = await helper.request().get('/exotel-sandbox/acc/threads').expect(200);
    assert.deepEqual(threads.body.map((t: { phone: string; count: number }) => [t.phone, t.count]), [[PHONE, 1]]);
  });

  it('applies the same checks as live: opt-out and number', async function () {
    await load(flow(), {});
    const failures = collect(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '123' });
    getNode('stopper').receive({ phone: PHONE });
    await wait(50);
    getNode('send').receive({ payload: 'hi', phone: PHONE });
    await until(() => failures.length === 2);
    assert.deepEqual(failures.map((m) => m.error.code), ['invalid_number', 'opted_out']);
    // nothing went out, and the phone shows the blocked attempt with its cause (the bad number has no thread)
    const thread = await helper.request().get('/exotel-sandbox/acc/messages').query({ phone: PHONE });
    assert.deepEqual(thread.body.map((m: SandboxMessage & { error?: { code: string } }) => [m.direction, m.body, m.status, m.error?.code]), [['out', 'hi', 'failed', 'opted_out']]);
  });

  it('a reply typed in the sandbox phone reaches exotel-inbound over HTTP and joins the thread', async function () {
    await load(flow(), { acc: { webhookToken: 'sandbox-token-1' } });
    const received = nextMessage(getNode('received'));
    const res = await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: '9876543210', text: 'YES' }).expect(200);
    assert.equal(res.body.webhookStatus, 200);
    const msg = await received;
    assert.equal(msg.payload, 'YES');
    assert.equal(msg.phone, PHONE);
    assert.match(msg.sms.sid, /^sandbox-in-/);
    assert.equal(msg.sms.to, 'EXSTOR');
    const thread = await helper.request().get('/exotel-sandbox/acc/messages').query({ phone: PHONE });
    assert.deepEqual(thread.body.map((m: SandboxMessage) => [m.direction, m.body, m.status, m.detail]), [['in', 'YES', 'received', '/exotel/sandbox-test']]);
  });

  it('shows a reply the webhook refused as rejected, with the reason', async function () {
    // The webhook only takes callbacks from Exotel's addresses; the sandbox phone posts from 127.0.0.1.
    const nodes = flow().map((n) => (n.id === 'in' ? { ...n, allowList: '203.0.113.0/24' } : n));
    await load(nodes, { acc: { webhookToken: 'sandbox-token-1' } });
    const received = collect(getNode('received'));
    const res = await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: '9876543210', text: 'YES' });
    assert.equal(res.status, 502);
    assert.equal(res.body.webhookStatus, 403);
    assert.equal(res.body.error, 'this address is not on the IP allow-list');
    const thread = await helper.request().get('/exotel-sandbox/acc/messages').query({ phone: PHONE }).expect(200);
    assert.deepEqual(thread.body.map((m: SandboxMessage) => [m.direction, m.body, m.status, m.detail]), [
      ['in', 'YES', 'rejected', '/exotel/sandbox-test answered 403: this address is not on the IP allow-list'],
    ]);
    assert.deepEqual(received, [], 'the refused reply never reached the flow');
    // What the sandbox phone itself refuses never reaches the webhook, nor the thread.
    assert.equal((await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: 'not a phone', text: 'YES' })).status, 400);
    assert.equal((await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: PHONE, text: 42 })).status, 400);
    assert.equal((await helper.request().get('/exotel-sandbox/acc/messages').query({ phone: PHONE })).body.length, 1);
  });

  it('says so when no exotel-inbound node uses the account', async function () {
    await load(flow({ inbound: false }), {});
    const res = await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: PHONE, text: 'YES' });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /no deployed exotel-inbound node/);
  });

  it('lists sandbox accounts with their webhooks, and is off for live accounts', async function () {
    await load(flow(), {});
    const accounts = await helper.request().get('/exotel-sandbox/accounts').expect(200);
    assert.deepEqual(accounts.body, [{ id: 'acc', name: 'Shop sandbox', from: 'EXSTOR', inbound: [{ id: 'in', path: '/exotel/sandbox-test', name: '' }] }]);
    await helper.unload();
    await load(flow({ mode: 'live' }), { acc: { apiKey: 'k', apiToken: 't' } });
    assert.deepEqual((await helper.request().get('/exotel-sandbox/accounts')).body, []);
    await helper.request().get('/exotel-sandbox/acc/threads').expect(404);
    await helper.request().post('/exotel-sandbox/acc/reply').send({ phone: PHONE, text: 'YES' }).expect(404);
  });
});
