// What an SMS in node refuses over HTTP reaches the SMS tab's log (issue 13: "rejected with reason"):
// a forged callback with a wrong token, a callback it cannot read, each as a rejected line with its
// reason, sender and address, never the token; a flood is logged a few lines a minute and one line
// counts the rest. node-red-node-test-helper, the package's nodes and plugin from src/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SqliteStore } from '../../src/store';
import { REFUSALS_PER_MINUTE } from '../../src/nodes/exotel-inbound/refusals';
import type { LogLine } from '../../src/plugins/operators/view';
import { helper, load, settings } from '../support/red';

const TOKEN = 'Zk3v9QpL2mX8wR4tY7bN1cH6dJ5sF0gA';
const FORGED = 'forged-token-0123456789abcdef';
const FORM = { SmsSid: 'forged-1', From: '09876543210', To: '08047123456', Body: 'STOP' };

const flow = [
  { id: 'tab', type: 'tab' },
  { id: 'acc', type: 'exotel-account', name: 'Shop', accountSid: 'exampleshop1', defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode: 'live', webhookAuth: 'token', version: 2 },
  { id: 'in', z: 'tab', type: 'exotel-inbound', account: 'acc', path: '/exotel/sms', wires: [[]] },
];

describe('refused callbacks in the SMS tab (over HTTP)', function () {
  this.timeout(20_000);
  let dir = '';
  let file = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-refusals-'));
    file = path.join(dir, 'store.db');
    settings({ exotelSms: { storePath: file, replayWindowMs: 100 } });
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function logLines(query: Record<string, string> = {}): Promise<{ lines: LogLine[]; raw: string }> {
    const res = await helper.request().get('/exotel-sms/log').query(query).expect(200);
    return { lines: (res.body as { items: LogLine[] }).items, raw: res.text };
  }

  async function eventually(what: string, test: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + 5_000;
    while (!(await test())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('shows a forged callback and one it could not read as rejected, with the reason, the sender it claimed and the address; never the token', async () => {
    const app = await load(flow, { acc: { apiKey: 'key', apiToken: 'api-token', webhookToken: TOKEN } });
    await request(app).post(`/exotel/sms?token=${FORGED}`).type('form').send(FORM).expect(401);
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ From: '09876543211', Body: 'no sid' }).expect(400);
    await request(app).post(`/exotel/sms?token=${TOKEN}`).type('form').send({ ...FORM, SmsSid: 'real-1', Body: 'YES' }).expect(200);
    let lines: LogLine[] = [];
    let raw = '';
    await eventually('three lines in the log', async () => {
      ({ lines, raw } = await logLines());
      return lines.length === 3;
    });
    const byBody = (body: string) => lines.find((l) => l.body === body)!;
    assert.deepEqual(
      [byBody('STOP'), byBody('no sid'), byBody('YES')].map((l) => [l.direction, l.status, l.phone, l.reason?.code ?? null, l.account]),
      [
        ['in', 'rejected', '+919876543210', 'bad_token', 'Shop'],
        ['in', 'rejected', '+919876543211', 'malformed', 'Shop'],
        ['in', 'received', '+919876543210', null, 'Shop'],
      ],
    );
    assert.deepEqual(byBody('STOP').reason, { code: 'bad_token', message: 'the webhook token is missing or wrong', httpStatus: 401 });
    assert.equal(byBody('no sid').reason?.message, 'SmsSid is missing');
    assert.match(String(byBody('STOP').remote), /127\.0\.0\.1|::1/);
    assert.ok(!raw.includes(FORGED) && !raw.includes(TOKEN), 'no token in what the tab reads');
    const customer = await logLines({ phone: '+919876543211' });
    assert.deepEqual(customer.lines.map((l) => `${l.status} ${l.body}`), ['rejected no sid'], "on the customer's page");
  });

  it('logs a flood of forged callbacks a few a minute, refusing every one, and counts the rest in one line', async () => {
    const app = await load(flow, { acc: { apiKey: 'key', apiToken: 'api-token', webhookToken: TOKEN } });
    const flood = 200;
    for (let i = 0; i < flood; i++) await request(app).post(`/exotel/sms?token=${FORGED}`).type('form').send({ ...FORM, SmsSid: `f-${i}` }).expect(401);
    await eventually('the first refusals of the minute in the log', async () => (await logLines({ limit: '200' })).lines.length >= REFUSALS_PER_MINUTE);
    // the minute may have turned during the flood: then two minutes each log their share
    const logged = (await logLines({ limit: '200' })).lines;
    assert.ok(logged.length <= 2 * REFUSALS_PER_MINUTE + 1, `${logged.length} lines for ${flood} refusals`);
    await helper.unload(); // the node closes: the line for the rest of the flood is written
    const store = new SqliteStore(file);
    try {
      const rows = await store.refusalPage({ limit: 200 });
      const oneByOne = rows.filter((r) => r.dropped === 0).length;
      const counted = rows.reduce((sum, r) => sum + r.dropped, 0);
      assert.equal(oneByOne + counted, flood, 'every refusal logged or counted');
      assert.ok(rows.length <= 2 * REFUSALS_PER_MINUTE + 2, `${rows.length} rows`);
    } finally {
      await store.close();
    }
  });
});
