import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helper, load, settings, collect, wait, until, getNode, type FlowNode, type Msg } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { SqliteStore } from '../../src/store';
import type { OutboxEntry, OutboxState } from '../../src/store/store';
import type { SendRequest } from '../../src/exotel/client';
import { present } from '../support/present';

type Entry = OutboxEntry & { request: SendRequest; message: Msg; error: { code: string | number; message: string } };

describe('the outbox of exotel-send', function () {
  let mock: MockExotel;
  let dir: string;
  let file: string;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-outbox-'));
    file = path.join(dir, 'exotel-sms.db');
    settings({ exotelSms: { storePath: file, retryBaseDelayMs: 5 } });
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const flow = (rateLimit: number): FlowNode[] => [
    { id: 'f1', type: 'tab' },
    { id: 'acc', type: 'exotel-account', accountSid: 'shop1', apiBaseUrl: mock.url, defaultFrom: 'EXSTOR', defaultCountry: 'IN', mode: 'live', rateLimit },
    { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', wires: [['sent'], ['failed']] },
    { id: 'sent', z: 'f1', type: 'helper' },
    { id: 'failed', z: 'f1', type: 'helper' },
  ];
  const creds = { acc: { apiKey: 'k', apiToken: 't' } };
  /** The outbox entries in `state`, with the JSON they hold read as what the send node wrote. */
  const outbox = async (state: OutboxState): Promise<Entry[]> => {
    const store = new SqliteStore(file);
    try {
      return (await store.outboxEntries('send', state)) as Entry[];
    } finally {
      await store.close();
    }
  };

  it('keeps messages waiting for the rate limit across a restart, then sends them once, in order', async function () {
    await load(flow(1), creds);
    const node = getNode('send');
    for (const payload of ['first', 'second', 'third']) node.receive({ payload, phone: '+919876543210', orderId: payload.length });
    node.receive({ payload: 'other number', phone: '+919876543211', orderId: 12 });
    await until(() => mock.sent.length === 1);
    await wait(100);
    await helper.unload(); // Node-RED stops: three messages still wait for the limit
    const waiting = await outbox('queued');
    assert.deepEqual(waiting.map((e) => [e.phone, e.request.body]), [
      ['+919876543210', 'second'], ['+919876543210', 'third'], ['+919876543211', 'other number'],
    ]);

    await load(flow(200), creds);
    const sent = collect(getNode('sent'));
    await until(() => mock.sent.length === 4, 3000, 'the queued messages');
    await wait(200);
    // in order for each number (numbers do not wait for each other)
    assert.deepEqual(mock.sent.filter((s) => s.To === '+919876543210').map((s) => s.Body), ['first', 'second', 'third']);
    assert.deepEqual(mock.sent.filter((s) => s.To === '+919876543211').map((s) => s.Body), ['other number']);
    // handed on after the restart with the message as it was
    const handedOn = sent.map((m) => [m.payload, m.orderId, typeof m.exotel.sid]).sort();
    assert.deepEqual(handedOn, [['other number', 12, 'string'], ['second', 6, 'string'], ['third', 5, 'string']]);
    assert.deepEqual(await outbox('queued'), []);
    await helper.unload();
    await load(flow(200), creds);
    await wait(200);
    assert.equal(mock.sent.length, 4, 'nothing is sent twice');
  });

  it('keeps a message that failed for good, with its reason, for inspection', async function () {
    mock.answer({ status: 400, body: { RestException: { Status: 400, Code: 34011, Message: 'Template not approved' } } });
    await load(flow(200), creds);
    const failed = collect(getNode('failed'));
    getNode('send').receive({ payload: 'hello', phone: '+919876543210' });
    await until(() => failed.length === 1);
    const entries = await outbox('failed');
    assert.equal(entries.length, 1);
    assert.deepEqual([entries[0].phone, entries[0].request.body, entries[0].attempts, entries[0].error.code], ['+919876543210', 'hello', 1, 34011]);
  });

  it('does not send again a message Exotel was being asked for when Node-RED died: it fails as interrupted', async function () {
    const store = new SqliteStore(file);
    const id = await store.addToOutbox({ nodeId: 'send', phone: '+919876543210', request: { from: 'EXSTOR', to: '+919876543210', body: 'maybe sent', encoding: 'plain' }, message: { payload: 'maybe sent' }, claimKey: null, confirmation: false });
    await store.markOutboxSending(present(id));
    await store.addToOutbox({ nodeId: 'send', phone: '+919876543211', request: { from: 'EXSTOR', to: '+919876543211', body: 'waiting', encoding: 'plain' }, message: { payload: 'waiting' }, claimKey: null, confirmation: false });
    await store.close();
    await load(flow(200), creds);
    await until(() => mock.sent.length === 1);
    await wait(100);
    assert.deepEqual(mock.sent.map((s) => s.Body), ['waiting']);
    const failedEntries = await outbox('failed');
    assert.deepEqual(failedEntries.map((e) => [e.message.payload, e.error.code]), [['maybe sent', 'interrupted']]);
    assert.match(failedEntries[0].error.message, /may or may not have gone out/);
  });

  it('queues a send and its claim together: a replayed SMS queues nothing twice', async function () {
    const store = new SqliteStore(file);
    const entry = { nodeId: 'send', phone: '+919876543210', request: {}, message: {}, claimKey: 'sms-1>+919876543210', confirmation: false };
    assert.equal(typeof (await store.addToOutbox(entry)), 'number');
    assert.equal(await store.addToOutbox(entry), null);
    assert.equal((await store.outboxEntries('send', 'queued')).length, 1);
    await store.close();
  });

  it('notes each failed attempt while it retries', async function () {
    mock.answer({ status: 503 }, { status: 503 });
    await load(flow(200), creds);
    const sent = collect(getNode('sent'));
    getNode('send').receive({ payload: 'hello', phone: '+919876543210' });
    await until(() => sent.length === 1);
    assert.deepEqual(mock.requests.map((r) => r.answered), [503, 503, 200]);
    assert.deepEqual(await outbox('queued'), []);
  });
});
