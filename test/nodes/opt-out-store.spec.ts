import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode, type Msg } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { SqliteStore } from '../../src/store';
import type { OptOutRecord } from '../../src/store/store';
import { present } from '../support/present';
import sinon from 'sinon';

const PHONE = '+919876543210';

describe('opt-out-store', function () {
  let dir: string;
  let file: string;
  let mock: MockExotel;
  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-optout-'));
    file = path.join(dir, 'exotel-sms.db');
    settings({ exotelSms: { storePath: file, retryBaseDelayMs: 5 } });
    mock = await new MockExotel().start();
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const account = () => ({ id: 'acc', type: 'exotel-account', accountSid: 'shop1', apiBaseUrl: mock.url, defaultFrom: 'EXSHOP', defaultCountry: 'IN', mode: 'live', rateLimit: 200 });
  const creds = { acc: { apiKey: 'k', apiToken: 't' } };
  function store(action: string, extra = {}, outputs = 1): FlowNode[] {
    const wires = action === 'check' ? [['in'], ['out'], ['unknown']] : [['next']];
    return [
      { id: 'f1', type: 'tab' },
      { id: 'store', z: 'f1', type: 'opt-out-store', action, phone: 'phone', phoneType: 'msg', defaultCountry: 'IN', outputs, wires, ...extra },
      { id: 'next', z: 'f1', type: 'helper' },
      { id: 'in', z: 'f1', type: 'helper' },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'unknown', z: 'f1', type: 'helper' },
    ];
  }

  it('opts a number out, normalised to E.164, committed before the message moves on', async function () {
    await load(store('optout'), {});
    const next = getNode('next');
    const committed = new Promise<{ msg: Msg; out: boolean }>((resolve) => {
      next.once('input', (msg) => {
        // another connection to the same file already sees it when the message arrives
        const reader = new SqliteStore(file);
        reader.isOptedOut(PHONE).then((out) => reader.close().then(() => resolve({ msg, out })));
      });
    });
    getNode('store').receive({ payload: 'STOP', keyword: 'STOP', phone: '09876543210', sms: { sid: 'sms-1' } });
    const { msg, out } = await committed;
    assert.equal(out, true);
    assert.equal(msg.optOut.phone, PHONE);
    assert.equal(msg.optOut.status, 'opted-out');
    assert.equal(msg.optOut.keyword, 'STOP');
    assert.equal(msg.optOut.source, 'sms-1');
    assert.equal(msg.optOut.changed, true);
    assert.match(msg.optOut.updatedAt, /^\d{4}-\d\d-\d\dT/);
  });

  it('check sends opted-in, opted-out and unknown numbers to their own outputs', async function () {
    const reader = new SqliteStore(file);
    await reader.setOptStatus({ phone: '+919876543211', status: 'opted-in', source: 'manual' });
    await reader.setOptStatus({ phone: '+919876543212', status: 'opted-out', source: 'manual' });
    await reader.close();
    await load(store('check', {}, 3), {});
    const node = getNode('store');
    const [inMsgs, outMsgs, unknownMsgs] = [collect(getNode('in')), collect(getNode('out')), collect(getNode('unknown'))];
    node.receive({ phone: '9876543211' });
    node.receive({ phone: '9876543212' });
    node.receive({ phone: '9876543213' });
    await until(() => inMsgs.length + outMsgs.length + unknownMsgs.length === 3);
    assert.deepEqual([inMsgs[0].optOut.phone, outMsgs[0].optOut.phone, unknownMsgs[0].optOut.phone], ['+919876543211', '+919876543212', '+919876543213']);
    assert.equal(unknownMsgs[0].optOut.status, 'unknown');
  });

  it('get sets msg.optOut; opt in reverses an opt-out', async function () {
    const reader = new SqliteStore(file);
    await reader.setOptStatus({ phone: PHONE, status: 'opted-out', source: 'manual' });
    await reader.close();
    await load(store('optin'), {});
    const got = nextMessage(getNode('next'));
    getNode('store').receive({ phone: PHONE, keyword: 'START', sms: { sid: 's2' } });
    assert.equal((await got).optOut.status, 'opted-in');
    await helper.unload();
    await load(store('get'), {});
    const got2 = nextMessage(getNode('next'));
    getNode('store').receive({ phone: PHONE });
    const msg = await got2;
    assert.deepEqual([msg.optOut.status, msg.optOut.keyword], ['opted-in', 'START']);
  });

  it('imports a CSV of numbers with a status, and export lists every record', async function () {
    await load(store('import'), {});
    const statuses: string[] = [];
    getNode('store').on('call:status', (c) => statuses.push(c.args[0].text));
    const got = nextMessage(getNode('next'));
    getNode('store').receive({ payload: 'name,mobile\nAsha,09876543210\nRavi,+91 98765 43211\nBad,12\nAsha again,9876543210\n' });
    const msg = await got;
    assert.deepEqual(msg.payload, { total: 4, imported: 2, changed: 2, unchanged: 0, duplicates: 1, invalid: 1, invalidNumbers: ['12'], status: 'opted-out' });
    assert.ok(statuses.includes('imported 2 · 1 invalid'), statuses.join('|'));
    await helper.unload();
    await load(store('export'), {});
    const exported = nextMessage(getNode('next'));
    getNode('store').receive({});
    assert.deepEqual((await exported).payload.map((r: OptOutRecord) => [r.phone, r.status, r.source]), [[PHONE, 'opted-out', 'import'], ['+919876543211', 'opted-out', 'import']]);
  });

  it('imports 100,000 numbers from an array', async function () {
    this.timeout(60_000);
    await load(store('import'), {});
    const got = nextMessage(getNode('next'), 50_000);
    getNode('store').receive({ payload: Array.from({ length: 100_000 }, (_, i) => `98${String(i).padStart(8, '0')}`) });
    const msg = await got;
    assert.equal(msg.payload.imported, 100_000);
    assert.equal(msg.payload.invalid, 0);
    const reader = new SqliteStore(file);
    assert.equal(await reader.optedOutCount(), 100_000);
    await reader.close();
  });

  it('shows how many numbers are opted out', async function () {
    await load(store('optout'), {});
    const node = getNode('store');
    const statuses: string[] = [];
    node.on('call:status', (c) => statuses.push(c.args[0].text));
    node.receive({ phone: '9876543210' });
    node.receive({ phone: '9876543211' });
    await until(() => statuses.includes('2 opted out'), 2000, 'the status');
  });

  it('refuses a message without a usable number with done(err), recording nothing', async function () {
    await load(store('optout'), {});
    const node = getNode('store');
    node.receive({ phone: 'hello' });
    await until(() => helper.log().args.some((a) => a[0].level === 20 && /"hello" is not a phone number/.test(a[0].msg)));
    const reader = new SqliteStore(file);
    assert.equal(await reader.optedOutCount(), 0);
    await reader.close();
  });

  it('keeps an opt-out when the process is killed right after it', function () {
    this.timeout(20_000);
    const script = `
      const { SqliteStore } = require(${JSON.stringify(path.join(__dirname, '../../src/store'))});
      const store = new SqliteStore(${JSON.stringify(file)});
      store.setOptStatus({ phone: '${PHONE}', status: 'opted-out', keyword: 'STOP', source: 'killed' })
        .then(() => process.kill(process.pid, 'SIGKILL'));`;
    // the child loads the store from src/ through tsx, as the specs do
    assert.throws(() => execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { stdio: 'pipe' }), (err: { signal?: string }) => err.signal === 'SIGKILL');
    const reader = new SqliteStore(file);
    return reader.getOptStatus(PHONE).then(async (found) => {
      const record = present(found);
      assert.equal(record.status, 'opted-out');
      assert.equal(record.source, 'killed');
      await reader.close();
    });
  });

  describe('enforcement in exotel-send', function () {
    function sendFlow(sendExtra = {}): FlowNode[] {
      return [
        { id: 'f1', type: 'tab' },
        account(),
        { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']], ...sendExtra },
        { id: 'sent', z: 'f1', type: 'helper' },
        { id: 'failed', z: 'f1', type: 'helper' },
      ];
    }

    it('never sends to an opted-out number: the mock API receives nothing', async function () {
      const reader = new SqliteStore(file);
      await reader.setOptStatus({ phone: PHONE, status: 'opted-out', keyword: 'STOP', source: 'manual' });
      await reader.close();
      await load(sendFlow(), creds);
      const failed = nextMessage(getNode('failed'));
      getNode('send').receive({ payload: 'Your order has shipped.', phone: '09876543210' });
      const msg = await failed;
      assert.equal(msg.error.code, 'opted_out');
      assert.equal(msg.error.retryable, false);
      await wait(50);
      assert.equal(mock.requests.length, 0);
    });

    it('stops a message that was waiting for the rate limit when STOP arrives meanwhile', async function () {
      const f = sendFlow();
      f[1].rateLimit = 1;
      f.push({ id: 'stopper', z: 'f1', type: 'opt-out-store', action: 'optout', phone: 'phone', phoneType: 'msg', wires: [[]] });
      // fake time that also runs on its own, so that HTTP works and the minute can be skipped
      const clock = sinon.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      try {
        await load(f, creds);
        const failed = collect(getNode('failed'));
        const sent = collect(getNode('sent'));
        getNode('send').receive({ payload: 'first', phone: '9876543299' });
        getNode('send').receive({ payload: 'waits a minute', phone: PHONE });
        await until(() => sent.length === 1);
        getNode('stopper').receive({ phone: PHONE });
        await wait(50);
        await clock.tickAsync(61_000);
        await until(() => failed.length === 1);
        assert.equal(failed[0].error.code, 'opted_out');
        assert.deepEqual(mock.sent.map((s) => s.Body), ['first']);
      } finally {
        clock.restore();
      }
    });

    it('lets exactly one opt-out confirmation through within 10 minutes of the opt-out', async function () {
      const f = sendFlow({ optOutConfirmation: true });
      f.push({ id: 'plain', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] });
      const reader = new SqliteStore(file);
      await reader.setOptStatus({ phone: PHONE, status: 'opted-out', keyword: 'STOP', source: 'manual' });
      await reader.close();
      await load(f, creds);
      const sent = collect(getNode('sent'));
      const failed = collect(getNode('failed'));
      getNode('plain').receive({ payload: 'An offer!', phone: PHONE });
      await until(() => failed.length === 1);
      getNode('send').receive({ payload: 'You have been unsubscribed.', phone: PHONE });
      await until(() => sent.length === 1);
      getNode('send').receive({ payload: 'You have been unsubscribed (again).', phone: PHONE });
      await until(() => failed.length === 2);
      assert.deepEqual(mock.sent.map((s) => s.Body), ['You have been unsubscribed.']);
      assert.deepEqual(failed.map((m) => m.error.code), ['opted_out', 'opted_out']);
    });

    it('does not let a confirmation through once 10 minutes have passed', async function () {
      const reader = new SqliteStore(file);
      await reader.setOptStatus({ phone: PHONE, status: 'opted-out', source: 'manual' });
      reader.db.prepare('UPDATE opt_out SET updated_at = ?').run(Date.now() - 10 * 60_000 - 1000);
      await reader.close();
      await load(sendFlow({ optOutConfirmation: true }), creds);
      const failed = nextMessage(getNode('failed'));
      getNode('send').receive({ payload: 'You have been unsubscribed.', phone: PHONE });
      assert.equal((await failed).error.code, 'opted_out');
      assert.equal(mock.requests.length, 0);
    });
  });
});
