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

helper.init(require.resolve('node-red'));

const PHONE = '+919876543210';
const TOKEN = 'sandbox-token-0123456789';
type FlowNode = Record<string, unknown>;
type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let httpNode: unknown;
const modules = [plugin, exotelAccount, exotelInbound, keywordSwitch, conversationState, exotelSend, optOutStore, (RED: NodeAPI) => {
  httpNode = RED.httpNode;
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
    helper.settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } });
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
