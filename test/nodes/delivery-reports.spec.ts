// Delivery reports over HTTP: a live account with a public URL sends with its StatusCallback, Exotel
// posts the report there (authenticated by the webhook token, as the SMS in node's callbacks), and the
// send node hands it on at its third output with the message as it was sent; also after a restart.
// A sandbox account makes its reports up. Runs the adapters from src/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { helper, load, settings, getNode, collect, until, type FlowNode, type Msg } from '../support/red';
import { MockExotel } from '../support/mock-exotel';

const TOKEN = 'Zk3v9QpL2mX8wR4tY7bN1cH6dJ5sF0gA';
const creds = { acc: { apiKey: 'key-abc123', apiToken: 'token-def456', webhookToken: TOKEN } };

describe('delivery reports (over HTTP)', function () {
  this.timeout(15_000);
  let mock: MockExotel;
  let dir: string;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-reports-'));
    settings({ exotelSms: { storePath: path.join(dir, 'store.db'), retryBaseDelayMs: 5 }, httpNodeRoot: '/hooks' });
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function flow(account: Record<string, unknown> = {}, send: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'acc', type: 'exotel-account', version: 3, accountSid: 'exampleshop1', apiBaseUrl: mock.url, defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode: 'live', publicUrl: 'https://sms.example.in', ...account },
      { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', text: 'payload', textType: 'msg', wires: [['sent'], ['failed'], ['report']], ...send },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'failed', z: 'f1', type: 'helper' },
      { id: 'report', z: 'f1', type: 'helper' },
    ];
  }

  async function sendOne(msg: Msg): Promise<{ app: Express; form: Record<string, string>; reports: Msg[] }> {
    const app = await load(flow(), creds);
    const reports = collect(getNode('report'));
    const sent = collect(getNode('sent'));
    getNode('send').receive(msg);
    await until(() => sent.length === 1, 3000, 'the SMS to be sent');
    return { app, form: mock.requests[0].form, reports };
  }

  /** The path and query of the StatusCallback, as Exotel calls it (the public URL's host is the proxy's). */
  const pathOf = (url: string) => {
    const parsed = new URL(url);
    return parsed.pathname.replace(/^\/hooks/, '') + parsed.search;
  };

  it('sends with a StatusCallback under the public URL and httpNodeRoot, with the token, and a CustomField', async function () {
    const { form } = await sendOne({ phone: '09876543210', payload: 'Your order shipped' });
    assert.equal(form.StatusCallback, `https://sms.example.in/hooks/exotel-sms/delivery-report/acc?token=${TOKEN}`);
    assert.match(form.CustomField, /^smsflow-/);
  });

  it('hands a report on at the report output, once, with the message as it was sent', async function () {
    const { app, form, reports } = await sendOne({ phone: '09876543210', payload: 'Your order shipped', order: { id: 7 } });
    const report = { SmsSid: 'mock-1', To: '09876543210', Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET', DetailedStatusCode: '20005', SmsUnits: '1', DateSent: '2026-11-28 11:30:00', CustomField: form.CustomField };
    const url = pathOf(form.StatusCallback);
    await request(app).post(url).type('form').send(report).expect(200, '');
    await request(app).post(url).type('json').send(report).expect(200, '');
    await until(() => reports.length === 1, 3000, 'the report');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(reports.length, 1, 'a report Exotel repeats is handed on once');
    const [msg] = reports;
    assert.deepEqual([msg.payload, msg.phone, msg.order], ['Your order shipped', '09876543210', { id: 7 }]);
    assert.deepEqual(msg.delivery, { status: 'delivered', exotelStatus: 'sent', code: 20005, detail: 'DELIVERED_TO_HANDSET', reason: "Delivered to the customer's phone.", sid: 'mock-1', units: 1, at: '2026-11-28T06:00:00.000Z' });
  });

  it('refuses a report without the token (401), a broken one (400) and a huge one (413)', async function () {
    const { app, form } = await sendOne({ phone: '09876543210', payload: 'hi' });
    const url = pathOf(form.StatusCallback);
    const bare = url.split('?')[0];
    await request(app).post(bare).type('form').send({ SmsSid: 'mock-1', Status: 'sent' }).expect(401);
    await request(app).post(`${bare}?token=wrong`).type('form').send({ SmsSid: 'mock-1', Status: 'sent' }).expect(401);
    const bad = await request(app).post(url).type('form').send({ SmsSid: 'mock-1', Status: 'lost' }).expect(400);
    assert.match(bad.body.error, /^Status "lost" is not one of/);
    await request(app).post(url).type('form').send({ SmsSid: 'mock-1', Status: 'sent', DetailedStatus: 'x'.repeat(70_000) }).expect(413);
    await request(app).post(url).set('content-type', 'application/xml').send('<r/>').expect(415);
  });

  it('hands on a report of an SMS sent before a restart, with that message', async function () {
    const { form } = await sendOne({ phone: '09876543210', payload: 'Sent before the restart' });
    await helper.unload();
    const app = await load(flow(), creds);
    const reports = collect(getNode('report'));
    await request(app).post(pathOf(form.StatusCallback)).type('form').send({ SmsSid: 'mock-1', Status: 'failed', DetailedStatusCode: '24120', CustomField: form.CustomField }).expect(200);
    await until(() => reports.length === 1, 3000, 'the report');
    assert.equal(reports[0].payload, 'Sent before the restart');
    assert.equal(reports[0].delivery.reason, 'Not delivered: the number is invalid, inactive or out of service.');
  });

  it('has no report endpoint and sends no StatusCallback without a public URL', async function () {
    const app = await load(flow({ publicUrl: '' }), creds);
    getNode('send').receive({ phone: '09876543210', payload: 'hi' });
    await until(() => mock.requests.length === 1, 3000, 'the send');
    assert.equal(mock.requests[0].form.StatusCallback, undefined);
    await request(app).post(`/exotel-sms/delivery-report/acc?token=${TOKEN}`).type('form').send({ SmsSid: 'mock-1', Status: 'sent' }).expect(404);
  });

  it('reports a sandbox SMS delivered about a second later, and one to +919000000001 not delivered (DND)', async function () {
    await load(flow({ mode: 'sandbox', publicUrl: '' }), {});
    const reports = collect(getNode('report'));
    getNode('send').receive({ phone: '+919876543210', payload: 'Hello' });
    getNode('send').receive({ phone: '+919000000001', payload: 'Offer' });
    await until(() => reports.length === 2, 5000, 'two sandbox reports');
    const byText = Object.fromEntries(reports.map((m) => [m.payload, m.delivery]));
    assert.equal(byText.Hello.status, 'delivered');
    assert.deepEqual([byText.Offer.status, byText.Offer.exotelStatus, byText.Offer.code], ['failed', 'failed_dnd', 23005]);
  });
});
