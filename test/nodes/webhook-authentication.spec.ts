// exotel-inbound over HTTP with the account's webhook settings (issue 14, item 1): a live account
// without a usable token refuses every callback (401, red status, a warning) unless it is set to
// "no authentication"; the callback URL comes from an admin route. Runs the adapters from src/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import helper from 'node-red-node-test-helper';
import accountModule from '../../src/nodes/exotel-account';
import inboundModule from '../../src/nodes/exotel-inbound';
import sendModule from '../../src/nodes/exotel-send';
import { settings } from '../support/red';

helper.init(require.resolve('node-red'));
const statusNode = require(require.resolve('@node-red/nodes/core/common/25-status.js', { paths: [path.dirname(require.resolve('node-red'))] }));

const TOKEN = 'Zk3v9QpL2mX8wR4tY7bN1cH6dJ5sF0gA'; // 32 letters and digits, as the editor generates
const FORM = { SmsSid: 'auth-1', From: '09876543210', To: '08047123456', Body: 'START' };

type Flow = Array<Record<string, unknown>>;

function flow(account: Record<string, unknown>): Flow {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'acc', type: 'exotel-account', accountSid: 'exampleshop1', defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode: 'live', ...account },
    { id: 'in', z: 'tab', type: 'exotel-inbound', account: 'acc', path: '/exotel/sms', wires: [['out']] },
    { id: 'statuses', z: 'tab', type: 'status', scope: ['in'], wires: [['seen']] },
    { id: 'out', z: 'tab', type: 'helper' },
    { id: 'seen', z: 'tab', type: 'helper' },
  ];
}

let httpNode: unknown;
const capture = (RED: { httpNode: unknown }) => void (httpNode = RED.httpNode);

async function load(account: Record<string, unknown>, credentials: Record<string, string> = {}, extra: Flow = []) {
  await helper.load([accountModule, inboundModule, sendModule, statusNode, capture] as never, [...flow(account), ...extra] as never, { acc: credentials });
  const received: unknown[] = [];
  const statuses: Array<{ fill: string; text: string }> = [];
  (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (msg: unknown) => received.push(msg));
  (helper.getNode('seen') as unknown as NodeJS.EventEmitter).on('input', (msg: { status: { fill: string; text: string } }) => statuses.push(msg.status));
  return { app: httpNode as never, received, statuses };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, predicate: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await wait(10);
  }
}

function warnings(): string[] {
  return (helper.log().args as Array<[{ level: number; msg: unknown }]>).filter((a) => a[0].level === 30).map((a) => String(a[0].msg));
}

describe('webhook authentication of a live account (over HTTP)', function () {
  this.timeout(10_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-webhook-auth-'));
    settings({ exotelSms: { storePath: path.join(dir, 'store.db'), replayWindowMs: 100 } });
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a live account saved before version 2 with no token refuses a forged START: 401 saying what to do, a red status, a warning, nothing emitted', async () => {
    const { app, received, statuses } = await load({ version: 1 }, { apiKey: 'k', apiToken: 't' });
    const res = await request(app).post('/exotel/sms').type('form').send(FORM);
    assert.equal(res.status, 401);
    assert.match(res.body.error, /no webhook token.*Generate/);
    const head = await request(app).head('/exotel/sms');
    assert.equal(head.status, 401);
    await until('a red status', () => statuses.some((s) => s.fill === 'red' && /account has no webhook token/.test(s.text)));
    assert.ok(warnings().some((w) => /refuses every callback.*no webhook token.*Generate/.test(w)), warnings().join('\n'));
    await wait(50);
    assert.equal(received.length, 0);
  });

  it('a token typed too short is refused at runtime, even when the callback carries it', async () => {
    const { app, received, statuses } = await load({ version: 2, webhookAuth: 'token' }, { webhookToken: 'short-token-15c' });
    await request(app).post('/exotel/sms?token=short-token-15c').type('form').send(FORM).expect(401);
    await until('a red status', () => statuses.some((s) => s.fill === 'red' && /too short/.test(s.text)));
    assert.ok(warnings().some((w) => /shorter than 16 characters/.test(w)));
    assert.equal(received.length, 0);
  });

  it('"no authentication (not recommended)" takes callbacks without a token, with a warning and a status that says so', async () => {
    const { app, received, statuses } = await load({ version: 2, webhookAuth: 'none' });
    await request(app).post('/exotel/sms').type('form').send(FORM).expect(200, '');
    await until('the SMS in the flow', () => received.length === 1);
    assert.equal((received[0] as { payload: string }).payload, 'START');
    await until('a status saying "no authentication"', () => statuses.some((s) => s.fill === 'yellow' && /no authentication/.test(s.text)));
    assert.ok(warnings().some((w) => /without a webhook token.*no authentication/.test(w)));
  });

  it('a live account with a generated token takes only callbacks that carry it', async () => {
    const { app, received } = await load({ version: 2, webhookAuth: 'token' }, { webhookToken: TOKEN });
    await request(app).post('/exotel/sms').type('form').send(FORM).expect(401);
    await request(app).post(`/exotel/sms?token=${TOKEN.slice(0, -1)}`).type('form').send(FORM).expect(401);
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send(FORM).expect(200, '');
    await until('the SMS in the flow', () => received.length === 1);
  });

  it('a sandbox account needs no token and no sender: a callback passes and a send SMS goes out as SANDBOX', async () => {
    const send = [
      { id: 'send', z: 'tab', type: 'exotel-send', account: 'acc', text: 'Welcome', textType: 'str', wires: [['sent'], ['failed'], []] },
      { id: 'sent', z: 'tab', type: 'helper' },
      { id: 'failed', z: 'tab', type: 'helper' },
    ];
    const { app, received } = await load({ mode: 'sandbox', accountSid: '', defaultFrom: '', version: 2 }, {}, send);
    await request(app).post('/exotel/sms').type('form').send(FORM).expect(200, '');
    await until('the SMS in the flow', () => received.length === 1);
    const outcome = new Promise<{ which: string; msg: Record<string, unknown> }>((resolve) => {
      helper.getNode('sent').once('input', (msg: Record<string, unknown>) => resolve({ which: 'sent', msg }));
      helper.getNode('failed').once('input', (msg: Record<string, unknown>) => resolve({ which: 'failed', msg }));
    });
    helper.getNode('send').receive({ payload: 'hi', phone: '+919876543210' });
    const { which, msg } = await outcome;
    assert.equal(which, 'sent', JSON.stringify(msg.error));
    assert.equal((msg.exotel as { status: string }).status, 'sent');
  });

  describe('the callback URL for the SMS in dialog (admin route)', () => {
    it('holds the token, on the editor’s address and the node root', async () => {
      await load({ version: 2 }, { webhookToken: TOKEN });
      const res = await helper.request().get('/exotel-account/acc/callback-url').query({ path: '/exotel/sms', origin: 'https://shop.example' }).expect(200);
      assert.deepEqual(res.body, { url: `https://shop.example/exotel/sms?token=${TOKEN}`, mode: 'live', webhookAuth: 'token', problem: null });
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('says why a live account’s SMS in nodes refuse callbacks; 404 for an account not deployed; 400 for a bad path', async () => {
      await load({ version: 1 });
      const res = await helper.request().get('/exotel-account/acc/callback-url').query({ path: '/exotel/sms' }).expect(200);
      assert.equal(res.body.problem, 'noToken');
      assert.match(res.body.url, /\/exotel\/sms$/);
      await helper.request().get('/exotel-account/nope/callback-url').query({ path: '/exotel/sms' }).expect(404);
      await helper.request().get('/exotel-account/acc/callback-url').query({ path: 'exotel sms' }).expect(400);
    });
  });
});
