// exotel-send in Node-RED with India's rules: a text that does not match the account's DLT template
// (or names a template the account does not list) fails before any request to Exotel, with a red
// status and an error a Catch node sees; a promotional send at night is held in the outbox (the
// store file) and goes once at 10:00 IST, also after a restart; or fails when the node says so.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sinon from 'sinon';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { core } from '../support/examples';
import { SqliteStore } from '../../src/store';

const catchNode = core('common/25-catch.js');
const OTP = { id: '1107000000000000001', name: 'OTP', text: 'Your OTP is {#var#}. - ACME', category: 'service-implicit' };
const SALE = { id: '1107000000000000002', name: 'Sale', text: 'Sale! {#var#} off today. - ACME', category: 'promotional' };
const ist = (iso: string) => Date.parse(`${iso}+05:30`);

describe('exotel-send with DLT templates and TRAI’s hours', function () {
  let mock: MockExotel;
  let dir: string;
  let file: string;
  let clock: sinon.SinonFakeTimers | undefined;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-dlt-'));
    file = path.join(dir, 'exotel-sms.db');
    settings({ exotelSms: { storePath: file, retryBaseDelayMs: 5 } });
  });
  afterEach(async function () {
    await helper.unload();
    clock?.restore();
    clock = undefined;
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function flow(send: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      {
        id: 'acc', type: 'exotel-account', version: 3, accountSid: 'shop1', apiBaseUrl: mock.url, defaultFrom: 'ACMEIN', dltEntityId: '1101000000001', defaultCountry: 'IN',
        mode: 'live', rateLimit: 200, webhookAuth: 'token', dltTemplates: [OTP, SALE],
      },
      { id: 'send', z: 'f1', type: 'exotel-send', version: 3, account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', dltTemplateId: OTP.id, outsideHours: 'hold', wires: [['sent'], ['failed']], ...send },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'failed', z: 'f1', type: 'helper' },
    ];
  }
  const creds = { acc: { apiKey: 'k', apiToken: 't', webhookToken: 'hook-0123456789abcdef' } };
  const statusesOf = (id: string) => {
    const statuses: Array<{ fill: string; text: string }> = [];
    getNode(id).on('call:status', (call) => statuses.push(call.args[0]));
    return statuses;
  };
  const outbox = async () => {
    const store = new SqliteStore(file);
    try {
      return await store.outboxEntries('send', 'queued');
    } finally {
      await store.close();
    }
  };

  it('sends a text that matches its template', async function () {
    await load(flow(), creds);
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ payload: 'Your OTP is 482913. - ACME', phone: '9876543210' });
    await sent;
    assert.equal(mock.requests[0].form.DltTemplateId, OTP.id);
  });

  it('fails a text that does not match, with the first difference and a red status, and asks nothing of Exotel', async function () {
    await load(flow(), creds);
    const statuses = statusesOf('send');
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'Your code is 482913. - ACME', phone: '9876543210' });
    const msg = await failed;
    assert.equal(msg.error.code, 'dlt_template_mismatch');
    assert.equal(msg.error.message, 'the text does not match DLT template 1107000000000000001 (OTP): at character 6: expected "OTP is ", found "code is 482913. - ACME"');
    await until(() => statuses.some((s) => s.fill === 'red'), 3000, 'the red status');
    assert.equal(statuses.find((s) => s.fill === 'red')?.text, '0 sent · 1 failed · last: text ≠ DLT template');
    await wait(50);
    assert.equal(mock.requests.length, 0);
  });

  it('reports a template the account does not list to a Catch node when the failed output is not wired', async function () {
    const f = flow({ dltTemplateId: '', wires: [['sent'], []] });
    f.push({ id: 'catcher', z: 'f1', type: 'catch', wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper' });
    await load(f, creds, [catchNode]);
    const caught = nextMessage(getNode('caught'));
    getNode('send').receive({ payload: 'Hello', phone: '9876543210', dltTemplateId: '1107999999999999999' });
    const msg = await caught;
    assert.equal(msg.error.source.id, 'send');
    assert.match(msg.error.message, /SMS not sent: DLT template 1107999999999999999 is not among the account's templates/);
    await wait(50);
    assert.equal(mock.requests.length, 0);
  });

  it('holds a promotional send at 22:00 IST in the outbox, says so, and sends it once at 10:00 after a restart', async function () {
    clock = sinon.useFakeTimers({ now: ist('2026-03-10T22:00:00'), toFake: ['Date'], shouldAdvanceTime: true });
    await load(flow({ dltTemplateId: SALE.id }), creds);
    const statuses = statusesOf('send');
    getNode('send').receive({ payload: 'Sale! 20% off today. - ACME', phone: '9876543210', orderId: 7 });
    await until(() => statuses.some((s) => /held/.test(s.text)), 3000, 'the held status');
    assert.deepEqual(statuses.find((s) => /held/.test(s.text)), { fill: 'blue', shape: 'ring', text: '0 sent · 0 failed · 1 held until 10:00 IST' });
    await wait(100);
    assert.equal(mock.requests.length, 0, 'nothing sent at night');
    await helper.unload();
    const [entry] = await outbox();
    assert.equal(entry.notBefore, ist('2026-03-11T10:00:00'));

    clock.setSystemTime(ist('2026-03-11T09:00:00'));
    await load(flow({ dltTemplateId: SALE.id }), creds);
    await wait(300);
    assert.equal(mock.requests.length, 0, 'still held at 09:00 after a restart');
    await helper.unload();

    clock.setSystemTime(ist('2026-03-11T10:00:01'));
    await load(flow({ dltTemplateId: SALE.id }), creds);
    const sent = collect(getNode('sent'));
    await until(() => sent.length === 1, 3000, 'the held send');
    assert.equal(sent[0].orderId, 7, 'handed on as it came');
    assert.equal(mock.sent.length, 1);
    assert.deepEqual(await outbox(), []);
  });

  it('fails outside_promotional_hours at 21:00 IST when the node says so, without a request', async function () {
    clock = sinon.useFakeTimers({ now: ist('2026-03-10T21:00:00'), toFake: ['Date'], shouldAdvanceTime: true });
    await load(flow({ dltTemplateId: '', smsType: 'promotional', outsideHours: 'fail' }), creds);
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'Big sale', phone: '9876543210', dltTemplateId: '1107000000000000002' });
    const msg = await failed;
    assert.equal(msg.error.code, 'dlt_template_mismatch', 'the template is checked first');
    const next = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'Sale! 5% off today. - ACME', phone: '9876543210', dltTemplateId: '1107000000000000002' });
    assert.equal((await next).error.code, 'outside_promotional_hours');
    await wait(50);
    assert.equal(mock.requests.length, 0);
    assert.deepEqual(await outbox(), []);
  });

  it('sends a transactional SMS at 23:00 IST', async function () {
    clock = sinon.useFakeTimers({ now: ist('2026-03-10T23:00:00'), toFake: ['Date'], shouldAdvanceTime: true });
    await load(flow(), creds);
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ payload: 'Your OTP is 1. - ACME', phone: '9876543210' });
    await sent;
    assert.equal(mock.requests.length, 1);
  });
});
