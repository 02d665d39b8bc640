import assert from 'node:assert/strict';
import type { NodeStatus } from 'node-red';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode } from '../support/red';

const ACCOUNT = { id: 'acc', type: 'exotel-account', accountSid: 'exampleshop1', apiBaseUrl: 'http://127.0.0.1:9', defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode: 'live', rateLimit: 200 };
const TOKEN = 'wh-secret-7f3a9c';

function flow(extra = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { ...ACCOUNT, z: undefined },
    { id: 'in', z: 'f1', type: 'exotel-inbound', account: 'acc', path: '/exotel/sms', wires: [['out']], ...extra },
    { id: 'out', z: 'f1', type: 'helper' },
  ];
}
const creds = (webhookToken = TOKEN) => ({ acc: { apiKey: 'key-123', apiToken: 'tok-456', webhookToken } });

describe('exotel-inbound', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-inbound-'));
    settings({ exotelSms: { storePath: path.join(dir, 'store.db'), replayWindowMs: 100 } });
  });
  afterEach(async function () {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a form POST, answers an empty 200 and emits the message contract', async function () {
    const app = await load(flow(), creds());
    const out = getNode('out');
    const got = nextMessage(out);
    const res = await request(app)
      .post(`/exotel/sms?token=${TOKEN}`)
      .type('form')
      .send({ SmsSid: 'sms-1', From: '09876543210', To: '01140123456', Body: 'YES', DateCreated: '2025-01-15 10:30:00', AccountSid: 'exampleshop1' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.match(res.headers['content-type'], /^text\/plain/);
    const msg = await got;
    assert.equal(msg.payload, 'YES');
    assert.equal(msg.phone, '+919876543210');
    assert.deepEqual(msg.sms, {
      sid: 'sms-1', from: '+919876543210', to: '+911140123456', body: 'YES', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: 'exampleshop1',
    });
  });

  it('accepts the JSON shape with Sender and MessageBody', async function () {
    const app = await load(flow(), creds());
    const got = nextMessage(getNode('out'));
    await request(app)
      .post(`/exotel/sms?token=${TOKEN}`)
      .send({ SmsSid: 'sms-2', Direction: 'incoming', Sender: '+91 98765 43210', ReceivedOn: '08047123456', MessageBody: 'STOP', ReceivedTime: '2025-01-15T10:30:00+05:30' })
      .expect(200, '');
    const msg = await got;
    assert.equal(msg.payload, 'STOP');
    assert.equal(msg.sms.from, '+919876543210');
    assert.equal(msg.sms.to, '+918047123456');
    assert.equal(msg.sms.accountSid, 'exampleshop1');
  });

  it('accepts the legacy applet: HEAD, then GET with a query', async function () {
    const app = await load(flow(), creds());
    const got = nextMessage(getNode('out'));
    const head = await request(app).head(`/exotel/sms?token=${TOKEN}`);
    assert.equal(head.status, 200);
    const res = await request(app).get(`/exotel/sms?token=${TOKEN}&SmsSid=sms-3&From=919876543210&To=01140123456&Date=2025-01-15%2010:30:00&Body=HELP`);
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    const msg = await got;
    assert.equal(msg.payload, 'HELP');
    assert.equal(msg.phone, '+919876543210');
  });

  it('takes the token as the password of HTTP Basic credentials', async function () {
    const app = await load(flow(), creds());
    const got = nextMessage(getNode('out'));
    await request(app).post('/exotel/sms').auth('exotel', TOKEN).type('form').send({ SmsSid: 'sms-4', From: '9876543210', Body: 'hi' }).expect(200);
    assert.equal((await got).payload, 'hi');
  });

  it('refuses a missing or wrong token with 401 and emits nothing', async function () {
    const app = await load(flow(), creds());
    const seen = collect(getNode('out'));
    const none = await request(app).post('/exotel/sms').type('form').send({ SmsSid: 'x1', From: '9876543210', Body: 'STOP' });
    assert.equal(none.status, 401);
    assert.match(none.body.error, /token/);
    const wrong = await request(app).post('/exotel/sms?token=guess').type('form').send({ SmsSid: 'x2', From: '9876543210', Body: 'STOP' });
    assert.equal(wrong.status, 401);
    const basic = await request(app).post('/exotel/sms').auth('exotel', 'guess').type('form').send({ SmsSid: 'x3', From: '9876543210', Body: 'STOP' });
    assert.equal(basic.status, 401);
    await wait(50);
    assert.equal(seen.length, 0);
  });

  it('refuses another account’s SID with 403', async function () {
    const app = await load(flow(), creds());
    const res = await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'x4', From: '9876543210', Body: 'STOP', AccountSid: 'someoneelse' });
    assert.equal(res.status, 403);
    assert.match(res.body.error, /AccountSid/);
  });

  it('refuses addresses outside the IP allow-list with 403', async function () {
    const app = await load(flow({ allowList: '52.74.0.0/16' }), creds());
    const res = await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'x5', From: '9876543210', Body: 'hi' });
    assert.equal(res.status, 403);
    await helper.unload();
    const app2 = await load(flow({ allowList: '52.74.0.0/16, 127.0.0.0/8, ::1/128' }), creds());
    await request(app2).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'x6', From: '9876543210', Body: 'hi' }).expect(200);
  });

  it('works without a token when the account says "no authentication"', async function () {
    const app = await load(flow().map((n) => (n.type === 'exotel-account' ? { ...n, version: 2, webhookAuth: 'none' } : n)), creds(''));
    const got = nextMessage(getNode('out'));
    await request(app).post('/exotel/sms').type('form').send({ SmsSid: 'sms-5', From: '9876543210', Body: 'hi' }).expect(200);
    assert.equal((await got).payload, 'hi');
  });

  it('answers bad input with a 4xx and the reason, and keeps serving', async function () {
    const app = await load(flow(), creds());
    const seen = collect(getNode('out'));
    const url = `/exotel/sms?token=${TOKEN}`;
    const noSid = await request(app).post(url).type('form').send({ From: '9876543210', Body: 'hi' });
    assert.deepEqual([noSid.status, noSid.body.error], [400, 'SmsSid is missing']);
    const noFrom = await request(app).post(url).type('form').send({ SmsSid: 'b1', Body: 'hi' });
    assert.deepEqual([noFrom.status, noFrom.body.error], [400, 'the sender (From) is missing']);
    const badFrom = await request(app).post(url).type('form').send({ SmsSid: 'b2', From: 'hello', Body: 'hi' });
    assert.equal(badFrom.status, 400);
    const badJson = await request(app).post(url).set('Content-Type', 'application/json').send('{"SmsSid": "b3",');
    assert.deepEqual([badJson.status, badJson.body.error], [400, 'the body is not valid JSON']);
    const huge = await request(app).post(url).type('form').send('SmsSid=b4&From=9876543210&Body=' + 'a'.repeat(70 * 1024));
    assert.equal(huge.status, 413);
    const xml = await request(app).post(url).set('Content-Type', 'application/xml').send('<x/>');
    assert.equal(xml.status, 415);
    await request(app).post(url).type('form').send({ SmsSid: 'ok-1', From: '9876543210', Body: 'still here' }).expect(200);
    await until(() => seen.length === 1, 2000, 'the valid callback');
    assert.equal(seen[0].payload, 'still here');
  });

  it('answers a repeated SmsSid with 200 and does not emit it again, even after a restart', async function () {
    let app = await load(flow(), creds());
    let seen = collect(getNode('out'));
    const body = { SmsSid: 'dup-1', From: '9876543210', Body: 'STOP' };
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send(body).expect(200);
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send(body).expect(200, '');
    await wait(200); // past the replay window: handled for good
    assert.equal(seen.length, 1);
    await helper.unload();
    app = await load(flow(), creds());
    seen = collect(getNode('out'));
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send(body).expect(200, '');
    await wait(50);
    assert.equal(seen.length, 0);
  });

  it('hands on an SMS that was recorded but not handed to the flow before a crash', async function () {
    // What a process killed between the acknowledgement and the emit leaves behind.
    const { SqliteStore } = require('../../src/store');
    const store = new SqliteStore(path.join(dir, 'store.db'));
    await store.recordInbound({ sid: 'crash-1', endpoint: '/exotel/sms', from: '+919876543210', to: '', body: 'STOP', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: 'exampleshop1' });
    await store.recordInbound({ sid: 'other-path', endpoint: '/exotel/other', from: '+919876543210', to: '', body: 'x', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: 'exampleshop1' });
    await store.close();
    await load(flow(), creds());
    const msg = await nextMessage(getNode('out'));
    assert.equal(msg.payload, 'STOP');
    assert.equal(msg.sms.sid, 'crash-1');
    assert.equal(msg.sms.replayed, true);
    assert.equal(msg.phone, '+919876543210');
    await wait(300); // the flow has had its time with it
    await helper.unload();
    // handed on once: not again at the next start
    await load(flow(), creds());
    const seen = collect(getNode('out'));
    await wait(200);
    assert.equal(seen.length, 0);
  });

  it('hands on again, after a stop, an SMS the flow had less than the replay window to act on', async function () {
    settings({ exotelSms: { storePath: path.join(dir, 'store.db'), replayWindowMs: 60_000 } });
    let app = await load(flow(), creds());
    const first = nextMessage(getNode('out'));
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'w-1', From: '9876543210', Body: 'STOP' }).expect(200);
    assert.equal((await first).sms.replayed, undefined);
    await helper.unload(); // stopped (or killed) a moment later
    app = await load(flow(), creds());
    const again = await nextMessage(getNode('out'));
    assert.deepEqual([again.sms.sid, again.sms.replayed], ['w-1', true]);
    // and Exotel's retry of it is still a duplicate
    const seen = collect(getNode('out'));
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'w-1', From: '9876543210', Body: 'STOP' }).expect(200, '');
    await wait(100);
    assert.equal(seen.length, 0);
  });

  it('takes a "?" inside a value as part of the value', async function () {
    const app = await load(flow(), creds());
    const got = nextMessage(getNode('out'));
    await request(app).get(`/exotel/sms?SmsSid=q-1&From=9876543210&Body=Is%20it%20open?%20today&token=${TOKEN}`).expect(200);
    assert.equal((await got).payload, 'Is it open? today');
  });

  it('shows received, duplicate and rejected counts under the node', async function () {
    const app = await load(flow(), creds());
    const node = getNode('in');
    const statuses: NodeStatus[] = [];
    node.on('call:status', (call) => statuses.push(call.args[0]));
    const url = `/exotel/sms?token=${TOKEN}`;
    await request(app).post(url).type('form').send({ SmsSid: 's1', From: '9876543210', Body: 'a' });
    await request(app).post(url).type('form').send({ SmsSid: 's1', From: '9876543210', Body: 'a' });
    await request(app).post('/exotel/sms').type('form').send({ SmsSid: 's2', From: '9876543210', Body: 'a' });
    await until(() => statuses.some((s) => s.text === '1 received · 1 duplicate · 1 rejected'), 2000, 'the status');
  });

  it('removes its route when the flow is stopped', async function () {
    const app = await load(flow(), creds());
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'r1', From: '9876543210', Body: 'a' }).expect(200);
    await helper.unload();
    await load([{ id: 'f1', type: 'tab' }], {});
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'r2', From: '9876543210', Body: 'a' }).expect(404);
  });

  it('refuses a second node on the same path with a clear error', async function () {
    const f = flow();
    f.push({ id: 'in2', z: 'f1', type: 'exotel-inbound', account: 'acc', path: '/exotel/sms/', wires: [] });
    await load(f, creds());
    const errors = helper.log().args.filter((a) => a[0].level === 20).map((a) => a[0].msg);
    assert.ok(errors.some((m) => /already listens on \/exotel\/sms/.test(m)), JSON.stringify(errors));
  });

  it('works behind an httpNodeMiddleware that has already parsed the body', async function () {
    const express = require('express');
    settings({ exotelSms: { storePath: path.join(dir, 'store.db') }, httpNodeMiddleware: [express.urlencoded({ extended: false }), express.json()] });
    const app = await load(flow(), creds());
    const seen = collect(getNode('out'));
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ SmsSid: 'mw-1', From: '9876543210', Body: 'form' }).expect(200, '');
    await request(app).post(`/exotel/sms?token=${TOKEN}`).send({ SmsSid: 'mw-2', Sender: '9876543210', MessageBody: 'json' }).expect(200, '');
    await until(() => seen.length === 2, 2000, 'both callbacks');
    assert.deepEqual(seen.map((m) => m.payload), ['form', 'json']);
  });

  it('refuses a path that is not a plain path, with a red status', async function () {
    await load(flow({ path: '/exotel/:id' }), creds());
    const errors = helper.log().args.filter((a) => a[0].level === 20).map((a) => a[0].msg);
    assert.ok(errors.some((m) => /needs a plain path starting with \//.test(m)), JSON.stringify(errors));
  });

  it('never puts the credentials in a message, status or log line', async function () {
    const app = await load(flow(), creds());
    const got = nextMessage(getNode('out'));
    await request(app).get(`/exotel/sms?token=${TOKEN}&SmsSid=c1&From=9876543210&Body=hello`).expect(200);
    const msg = await got;
    // a refused callback too: its status line counts it, its answer and the log say why
    const refused = await request(app).get(`/exotel/sms?token=${TOKEN}x&SmsSid=c2&From=9876543210&Body=hello`).expect(401);
    await until(() => getNode('in').status.args.some(([s]) => /1 rejected/.test(String((s as NodeStatus).text))), 2000, 'the rejected count');
    const statuses = ['acc', 'in'].flatMap((id) => getNode(id).status.args.map(([s]) => JSON.stringify(s)));
    assert.ok(statuses.length >= 2, 'statuses were shown');
    const seen = { message: JSON.stringify(msg), statuses: statuses.join('\n'), log: JSON.stringify(helper.log().args), answer: refused.text };
    for (const secret of [TOKEN, 'key-123', 'tok-456']) {
      for (const [where, text] of Object.entries(seen)) assert.ok(!text.includes(secret), `the ${where} holds ${secret}`);
    }
  });
});
