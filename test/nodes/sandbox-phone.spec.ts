// The sandbox phone against the nodes from src/ in node-red-node-test-helper: replies handed to the
// SMS in node in-process (no listener of its own), only to a node that owns its route and belongs to
// the sandbox account, and every send outcome shown in the thread (issues 14 and 15).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import helper from 'node-red-node-test-helper';
import supertest from 'supertest';
import type { NodeAPI } from 'node-red';
import plugin from '../../src/plugins/exotel-sms';
import { sandboxEndpointsOf } from '../../src/plugins/sandbox-endpoints';
import exotelAccount from '../../src/nodes/exotel-account';
import exotelInbound from '../../src/nodes/exotel-inbound';
import keywordSwitch from '../../src/nodes/keyword-switch';
import conversationState from '../../src/nodes/conversation-state';
import exotelSend from '../../src/nodes/exotel-send';
import optOutStore from '../../src/nodes/opt-out-store';
import { InboundController, type InboundCall } from '../../src/nodes/exotel-inbound/controller';
import { SqliteStore } from '../../src/store';
import { LogRecorder, StatusRecorder, translate } from '../controllers/fakes';
import { optedOutError } from '../../src/nodes/exotel-send/opt-out-guard';

helper.init(require.resolve('node-red'));

const PHONE = '+919876543210';
const TOKEN = 'sandbox-token-0123456789';
type FlowNode = Record<string, unknown>;
type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let httpNode: unknown;
let runtime: NodeAPI;
const modules = [plugin, exotelAccount, exotelInbound, keywordSwitch, conversationState, exotelSend, optOutStore, (RED: NodeAPI) => {
  httpNode = RED.httpNode;
  runtime = RED;
}];

async function load(flow: FlowNode[], credentials: Record<string, unknown> = {}): Promise<void> {
  await helper.load(modules as never, flow as never, credentials as never);
}

const admin = () => helper.request();
const webhook = () => supertest(httpNode as never);
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await wait(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function collect(id: string): Message[] {
  const messages: Message[] = [];
  helper.getNode(id).on('input', (msg: Message) => messages.push(msg));
  return messages;
}

async function threadOf(account: string, phone = PHONE): Promise<Message[]> {
  return (await admin().get(`/exotel-sandbox/${account}/messages`).query({ phone }).expect(200)).body as Message[];
}

/** The TCP ports this process listens on (Linux: its socket inodes in /proc/net/tcp*). */
function listeningPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** (No property may equal a config node's id: Node-RED takes it for a reference.) */
function account(id: string, mode: 'sandbox' | 'live', name: string): FlowNode {
  return { id, type: 'exotel-account', name, accountSid: mode === 'live' ? 'live-sid' : '', apiBaseUrl: 'http://127.0.0.1:9', defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode, rateLimit: 200 };
}

describe('the sandbox phone', function () {
  this.timeout(20_000);
  beforeEach(() => {
    helper.settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } } as never);
  });
  afterEach(async () => {
    await helper.unload();
  });

  describe('replies reach the SMS in node in-process (issue 14, item 2)', () => {
    const echoFlow = (allowList = ''): FlowNode[] => [
      { id: 'f1', type: 'tab' },
      account('acc', 'sandbox', 'Shop sandbox'),
      { id: 'in', z: 'f1', type: 'exotel-inbound', account: 'acc', path: '/exotel/phone-test', allowList, wires: [['received', 'echo']] },
      { id: 'echo', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'You said {{payload}}', textType: 'str', wires: [['sent'], ['failed']] },
      { id: 'received', z: 'f1', type: 'helper' },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'failed', z: 'f1', type: 'helper' },
    ];

    it('holds a conversation without opening a listening socket', async function () {
      if (!fs.existsSync('/proc/self/fd')) this.skip();
      await load(echoFlow(), { acc: { webhookToken: TOKEN } });
      const before = listeningPorts();
      const received = collect('received');
      const reply = await admin().post('/exotel-sandbox/acc/reply').send({ phone: '9876543210', text: 'YES' }).expect(200);
      assert.equal(reply.body.webhookStatus, 200);
      await until(async () => (await threadOf('acc')).length === 2, 'the flow’s answer in the thread');
      assert.deepEqual((await threadOf('acc')).map((m) => [m.direction, m.body, m.status]), [['in', 'YES', 'received'], ['out', 'You said YES', 'sent']]);
      assert.equal(received.length, 1);
      assert.equal(received[0].sms.to, 'EXSHOP');
      assert.deepEqual(listeningPorts(), before, 'the sandbox opened a listening socket');
    });

    it('goes through the node’s checks: the token, the dedupe of SmsSid', async function () {
      await load(echoFlow(), { acc: { webhookToken: TOKEN } });
      const received = collect('received');
      const [endpoint] = sandboxEndpointsOf('acc');
      const call = (query: string): InboundCall => ({
        method: 'POST', ip: '127.0.0.1', query, contentType: 'application/x-www-form-urlencoded',
        readBody: async () => ({ body: Buffer.from(`SmsSid=sandbox-in-1&From=${encodeURIComponent(PHONE)}&To=EXSHOP&Body=HI`) }),
      });
      assert.equal((await endpoint.receive('acc', call('token=wrong'))).status, 401);
      assert.equal((await endpoint.receive('acc', call(`token=${TOKEN}`))).status, 200);
      assert.equal((await endpoint.receive('acc', call(`token=${TOKEN}`))).status, 200);
      await wait(50);
      assert.equal(received.length, 1, 'a repeated SmsSid was handed on twice');
    });

    it('shows a reply the allow-list refuses as rejected, with the reason, and the flow gets nothing', async function () {
      await load(echoFlow('203.0.113.7'), {});
      const received = collect('received');
      const res = await admin().post('/exotel-sandbox/acc/reply').send({ phone: PHONE, text: 'YES' }).expect(502);
      assert.equal(res.body.webhookStatus, 403);
      assert.match(res.body.error, /allow-list/);
      const thread = await threadOf('acc');
      assert.deepEqual(thread.map((m) => [m.direction, m.status]), [['in', 'rejected']]);
      assert.match(thread[0].detail, /^\/exotel\/phone-test answered 403: .*allow-list/);
      await wait(50);
      assert.equal(received.length, 0);
    });
  });

  describe('a sandbox reply never reaches a live flow (issue 14, item 6)', () => {
    // Both accounts' SMS in nodes on one path: the one created first owns it, the other is refused.
    function sharedPath(first: 'live' | 'sandbox'): FlowNode[] {
      const live = { id: 'live-in', z: 'f1', type: 'exotel-inbound', account: 'live-acc', path: '/exotel/sms', wires: [['live-received']] };
      const sandbox = { id: 'sandbox-in', z: 'f1', type: 'exotel-inbound', account: 'box', path: '/exotel/sms', wires: [['sandbox-received']] };
      return [
        { id: 'f1', type: 'tab' },
        account('live-acc', 'live', 'Shop live'),
        account('box', 'sandbox', 'Shop sandbox'),
        ...(first === 'live' ? [live, sandbox] : [sandbox, live]),
        { id: 'live-received', z: 'f1', type: 'helper' },
        { id: 'sandbox-received', z: 'f1', type: 'helper' },
      ];
    }

    it('does not list or use an SMS in node whose path was refused', async function () {
      await load(sharedPath('live'), { 'live-acc': { apiKey: 'k', apiToken: 't' } });
      const liveFlow = collect('live-received');
      const accounts = await admin().get('/exotel-sandbox/accounts').expect(200);
      assert.deepEqual(accounts.body, [{ id: 'box', name: 'Shop sandbox', from: 'EXSHOP', inbound: [] }]);
      const res = await admin().post('/exotel-sandbox/box/reply').send({ phone: PHONE, text: 'START' });
      assert.equal(res.status, 409);
      await wait(50);
      assert.equal(liveFlow.length, 0, 'the sandbox reply reached the live flow');
    });

    it('hands replies to the sandbox account’s own node when it owns the path, never to the live one', async function () {
      await load(sharedPath('sandbox'), { 'live-acc': { apiKey: 'k', apiToken: 't' } });
      const liveFlow = collect('live-received');
      const sandboxFlow = collect('sandbox-received');
      const accounts = await admin().get('/exotel-sandbox/accounts').expect(200);
      assert.deepEqual(accounts.body[0].inbound, [{ id: 'sandbox-in', path: '/exotel/sms', name: '' }]);
      await admin().post('/exotel-sandbox/box/reply').send({ phone: PHONE, text: 'START' }).expect(200);
      await until(() => sandboxFlow.length === 1, 'the sandbox flow');
      assert.equal(liveFlow.length, 0);
      // the live account is not in the sandbox: its node takes no sandbox reply
      await admin().post('/exotel-sandbox/live-acc/reply').send({ phone: PHONE, text: 'START' }).expect(404);
    });

    it('an SMS in node refuses a sandbox reply for another account, or for a live account', async function () {
      const store = new SqliteStore(':memory:');
      const emitted: unknown[] = [];
      const make = (sandboxAccountId: string | null) => new InboundController({
        routePath: '/exotel/sms', allowList: null,
        account: { accountSid: '', defaultCountry: 'IN', checkWebhookToken: () => true, redact: (t) => t },
        store, translate, status: new StatusRecorder(), log: new LogRecorder(), emit: (msg) => emitted.push(msg), sandboxAccountId,
      });
      const call: InboundCall = {
        method: 'POST', ip: '127.0.0.1', query: '', contentType: 'application/x-www-form-urlencoded',
        readBody: async () => ({ body: Buffer.from(`SmsSid=s1&From=${encodeURIComponent(PHONE)}&To=EXSHOP&Body=START`) }),
      };
      const live = make(null);
      const box = make('box');
      try {
        assert.equal((await live.sandboxReply('box', call)).status, 403);
        assert.equal((await box.sandboxReply('other', call)).status, 403);
        assert.deepEqual(emitted, []);
        assert.equal((await box.sandboxReply('box', call)).status, 200);
        assert.equal(emitted.length, 1);
      } finally {
        await live.close();
        await box.close();
        await store.close();
      }
    });
  });

  describe('what reaches the webhook from outside the phone (issue 15, item 2)', () => {
    it('joins the sandbox account’s thread when accepted, not when refused', async function () {
      await load([
        { id: 'f1', type: 'tab' },
        account('acc', 'sandbox', 'Shop sandbox'),
        { id: 'in', z: 'f1', type: 'exotel-inbound', account: 'acc', path: '/exotel/outside', wires: [['received']] },
        { id: 'received', z: 'f1', type: 'helper' },
      ], { acc: { webhookToken: TOKEN } });
      const received = collect('received');
      const form = (sid: string, body: string) => `SmsSid=${sid}&From=09876543210&To=EXSHOP&Body=${body}`;
      await webhook().post('/exotel/outside?token=wrong').type('form').send(form('curl-0', 'FORGED')).expect(401);
      await webhook().post(`/exotel/outside?token=${TOKEN}`).type('form').send(form('curl-1', 'HELLO')).expect(200);
      await webhook().post(`/exotel/outside?token=${TOKEN}`).type('form').send(form('curl-1', 'HELLO')).expect(200);
      await until(() => received.length === 1, 'the flow');
      assert.deepEqual((await threadOf('acc')).map((m) => [m.direction, m.body, m.status, m.sid, m.detail]), [['in', 'HELLO', 'received', 'curl-1', '/exotel/outside']]);
    });
  });
});

describe('the sandbox phone shows every send outcome (issue 15, item 2)', function () {
  this.timeout(20_000);
  const OTHER = '+919812345678';
  beforeEach(() => {
    helper.settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } } as never);
  });
  afterEach(async () => {
    await helper.unload();
  });

  const flow: FlowNode[] = [
    { id: 'f1', type: 'tab' },
    account('acc', 'sandbox', 'Shop sandbox'),
    { ...account('dlt-acc', 'sandbox', 'DLT sandbox'), dltEntityId: '1101000000000001' },
    { ...account('slow-acc', 'sandbox', 'Slow sandbox'), rateLimit: 1, queueLimit: 1 },
    { id: 'send', z: 'f1', type: 'exotel-send', name: 'Order update', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] },
    { id: 'dlt-send', z: 'f1', type: 'exotel-send', name: 'OTP', account: 'dlt-acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] },
    { id: 'slow-send', z: 'f1', type: 'exotel-send', name: 'Bulk', account: 'slow-acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] },
    { id: 'stopper', z: 'f1', type: 'opt-out-store', action: 'optout', phone: 'phone', phoneType: 'msg', wires: [[]] },
    { id: 'sent', z: 'f1', type: 'helper' },
    { id: 'failed', z: 'f1', type: 'helper' },
  ];
  const shown = (thread: Message[]) => thread.map((m) => [m.body, m.status, m.error?.code, m.error?.node?.name]);

  it('a send that was blocked or failed is in the thread, with msg.error’s code and the send node', async function () {
    await load(flow, {});
    const failed = collect('failed');
    const sent = collect('sent');
    helper.getNode('send').receive({ payload: 'Your order has shipped.', phone: PHONE });
    await until(() => sent.length === 1, 'the first send');
    // a number the flow got wrong: filed under the customer whose SMS it answers
    helper.getNode('send').receive({ payload: 'Hi', phone: '123', sms: { sid: 'in-1', from: PHONE } });
    helper.getNode('send').receive({ payload: '  ', phone: PHONE });
    helper.getNode('stopper').receive({ phone: OTHER });
    await wait(50);
    helper.getNode('send').receive({ payload: 'A new offer', phone: OTHER });
    helper.getNode('dlt-send').receive({ payload: 'Your code is 1234', phone: PHONE });
    // one a minute, one waiting at most: of three customers, the third finds the queue full
    const bulk = [PHONE, '+919812340001', '+919812340002'];
    bulk.forEach((phone, n) => helper.getNode('slow-send').receive({ payload: `Bulk ${n + 1}`, phone }));
    await until(() => failed.length === 5, `five failures (got ${failed.map((m) => m.error.code)})`);
    assert.deepEqual(failed.map((m) => m.error.code).sort(), ['empty_text', 'invalid_number', 'no_dlt_template', 'opted_out', 'queue_full']);
    await until(async () => (await threadOf('acc')).length === 3 && (await threadOf('slow-acc', bulk[2])).length === 1, 'the threads');

    assert.deepEqual(shown(await threadOf('acc')), [
      ['Your order has shipped.', 'sent', undefined, undefined],
      ['Hi', 'failed', 'invalid_number', 'Order update'],
      ['  ', 'failed', 'empty_text', 'Order update'],
    ]);
    assert.deepEqual(shown(await threadOf('acc', OTHER)), [['A new offer', 'failed', 'opted_out', 'Order update']]);
    assert.deepEqual(shown(await threadOf('dlt-acc')), [['Your code is 1234', 'failed', 'no_dlt_template', 'OTP']]);
    assert.deepEqual(shown(await threadOf('slow-acc')), [['Bulk 1', 'sent', undefined, undefined]]);
    assert.deepEqual(shown(await threadOf('slow-acc', bulk[2])), [['Bulk 3', 'failed', 'queue_full', 'Bulk']]);
    const [blocked] = await threadOf('acc', OTHER);
    assert.equal(blocked.direction, 'out');
    assert.equal(blocked.error.node.id, 'send');
    assert.match(blocked.error.message, /opted out/);
    // the threads list shows the blocked send as the last message, with its cause
    const threads = (await admin().get('/exotel-sandbox/acc/threads').expect(200)).body as Message[];
    assert.equal(threads.find((t) => t.phone === OTHER)?.last.error.code, 'opted_out');
  });

  it('is announced to the editor as it happens, with its cause', async function () {
    await load(flow, {});
    const RED = runtime as unknown as { comms: { publish(topic: string, data: unknown, retain: boolean): void } };
    const published: Array<{ topic: string; data: Message }> = [];
    const publish = RED.comms.publish;
    RED.comms.publish = (topic, data, retain) => {
      published.push({ topic, data: data as Message });
      return publish.call(RED.comms, topic, data, retain);
    };
    try {
      helper.getNode('stopper').receive({ phone: PHONE });
      await wait(50);
      helper.getNode('send').receive({ payload: 'A new offer', phone: PHONE });
      await until(() => published.some((p) => p.data.status === 'failed'), 'the announcement');
      const [announced] = published.filter((p) => p.data.status === 'failed');
      assert.equal(announced.topic, 'exotel-sandbox/acc');
      assert.deepEqual(announced.data.error, { code: 'opted_out', message: optedOutError(PHONE).message, node: { id: 'send', name: 'Order update' } });
    } finally {
      RED.comms.publish = publish;
    }
  });

  it('the phone’s catalogue explains every msg.error.code the send node can give', function () {
    const catalogue = JSON.parse(fs.readFileSync(require.resolve('../../plugins/locales/en-US/exotel-sms.json'), 'utf8'))['exotel-sms'];
    const sources = ['src/exotel/client.ts', 'src/exotel/limiter.ts', 'src/exotel/retry.ts', 'src/nodes/exotel-send/controller.ts', 'src/nodes/exotel-send/outbox-dispatcher.ts']
      .map((file) => fs.readFileSync(require.resolve(`../../${file}`), 'utf8')).join('\n');
    const codes = new Set([...sources.matchAll(/code: (?:rest\?\.Code \?\? )?'([a-z_]+)'/g)].map((m) => m[1]));
    assert.ok(codes.size >= 15, `only ${[...codes]} found: has the source changed shape?`);
    for (const code of codes) {
      assert.ok(catalogue.causes[code]?.cause && catalogue.causes[code]?.fix, `plugins/locales/en-US/exotel-sms.json has no causes.${code}.cause and .fix`);
    }
    assert.match(catalogue.notSent, /__cause__/);
    assert.equal(catalogue.causes.opted_out.cause, 'this customer opted out.');
  });
});
