// The store contract, continued: what the operators' view of the editor (the SMS tab) reads and
// does, on every backend. Pages run newest first and go on from a cursor (keyset), never an offset.
import assert from 'node:assert/strict';
import type { DeliveryReport, InboundRecord, InboundRefusal, PageCursor, SendLogStart, Store } from '../../src/store';
import type { Backend } from './contract';

const DAY = 86_400_000;
const A = '+919876543210';
const B = '+919876543211';
const C = '+919876543212';

function inbound(sid: string, extra: Partial<InboundRecord> = {}): InboundRecord {
  return { sid, endpoint: '/exotel/sms', from: A, to: '+918000000000', body: 'YES', receivedAt: '2026-11-28T10:00:00Z', accountSid: 'acme', ...extra };
}

function refusal(at: number, extra: Partial<InboundRefusal> = {}): InboundRefusal {
  return {
    endpoint: '/exotel/sms', accountSid: 'acme', at, status: 401, code: 'bad_token', reason: 'the webhook token is missing or wrong',
    from: A, body: 'STOP', sid: 'forged-1', remote: '203.0.113.9', dropped: 0, ...extra,
  };
}

function sendStart(customField: string, phone = A, extra: Partial<SendLogStart> = {}): SendLogStart {
  return { customField, nodeId: 'send-1', account: 'account-1', phone, body: `Hello ${customField}`, templateId: null, message: { payload: 'x' }, ...extra };
}

function report(sid: string, delivery: DeliveryReport['delivery'], to = A): DeliveryReport {
  const status = delivery === 'delivered' ? 'sent' : delivery === 'failed' ? 'failed' : 'submitted';
  return { sid, to, status, delivery, detailedStatus: delivery === 'failed' ? 'FAILED_DND' : 'DELIVERED_TO_HANDSET', detailedStatusCode: '20005', dateSent: null, units: 1, customField: '', receivedAt: Date.now() };
}

/** Every page of a keyset-paged query, concatenated, `size` at a time. */
async function allPages<T>(page: (after: PageCursor | null) => Promise<T[]>, cursor: (last: T) => PageCursor, size: number): Promise<T[][]> {
  const pages: T[][] = [];
  let after: PageCursor | null = null;
  for (;;) {
    const rows = await page(after);
    if (rows.length) pages.push(rows);
    if (rows.length < size) return pages;
    after = cursor(rows[rows.length - 1]);
  }
}

export function operatorsContract(backend: Backend, stores: { store(): Store; open(): Promise<Store> }): void {
  describe("the operators' view", function () {
    /** Records inbound SMS, then sets their recorded time (ms) as the database would have. */
    async function recordAt(records: Array<[InboundRecord, number]>): Promise<void> {
      for (const [record] of records) assert.equal(await stores.store().recordInbound(record), true);
      for (const [record, at] of records) await backend.exec(`UPDATE inbound SET recorded_at = ${at} WHERE sid = '${record.sid}'`);
    }

    it('pages the inbound log newest first by keyset, every SMS once, also among SMS of the same millisecond', async function () {
      const store = stores.store();
      const records: Array<[InboundRecord, number]> = [];
      for (let i = 0; i < 23; i++) records.push([inbound(`sms-${String(i).padStart(2, '0')}`, { body: `text ${i}` }), 1_000 + Math.floor(i / 4)]);
      await recordAt(records);
      const other = await stores.open();
      const pages = await allPages((after) => other.inboundLogPage({ limit: 5, after }), (last) => ({ at: last.recordedAt, id: last.sid }), 5);
      assert.deepEqual(pages.map((page) => page.length), [5, 5, 5, 5, 3]);
      const sids = pages.flat().map((line) => line.sid);
      const expected = records.map(([r, at]) => [r.sid, at] as const).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? 1 : -1)).map(([sid]) => sid);
      assert.deepEqual(sids, expected);
      const first = pages[0][0];
      assert.deepEqual({ ...first }, { ...inbound('sms-22', { body: 'text 22' }), recordedAt: 1_005, handled: false, duplicates: 0 });
    });

    it('finds the inbound log by number, by text, by time and by account, and counts duplicates and what was handed on', async function () {
      const store = stores.store();
      await recordAt([
        [inbound('s1', { from: A, body: 'STOP please' }), 10 * DAY],
        [inbound('s2', { from: B, body: 'yes 100%' }), 11 * DAY],
        [inbound('s3', { from: A, body: 'Hello', accountSid: 'other' }), 12 * DAY],
        [inbound('s4', { from: C, body: 'stop_now' }), 13 * DAY],
      ]);
      assert.equal(await store.recordInbound(inbound('s2', { from: B, body: 'yes 100%' })), false);
      assert.equal(await store.recordInbound(inbound('s2', { from: B, body: 'yes 100%' })), false);
      await store.markInboundHandled(['s1']);
      const sids = async (query: Parameters<Store['inboundLogPage']>[0]) => (await store.inboundLogPage(query)).map((line) => line.sid);
      assert.deepEqual(await sids({ limit: 10, phone: A }), ['s3', 's1']);
      assert.deepEqual(await sids({ limit: 1, phone: A, after: { at: 12 * DAY, id: 's3' } }), ['s1']);
      assert.deepEqual(await sids({ limit: 10, text: 'stop' }), ['s4', 's1'], 'any case');
      assert.deepEqual(await sids({ limit: 10, text: '%' }), ['s2'], 'a % is a %');
      assert.deepEqual(await sids({ limit: 10, text: '_' }), ['s4'], 'an _ is an _');
      assert.deepEqual(await sids({ limit: 10, text: '543211' }), ['s2'], 'digits of the number');
      assert.deepEqual(await sids({ limit: 10, since: 11 * DAY, until: 13 * DAY }), ['s3', 's2']);
      assert.deepEqual(await sids({ limit: 10, accountSid: 'other' }), ['s3']);
      const lines = await store.inboundLogPage({ limit: 10 });
      assert.deepEqual(lines.map((line) => [line.sid, line.duplicates, line.handled]), [['s4', 0, false], ['s3', 0, false], ['s2', 2, false], ['s1', 0, true]]);
    });

    it('counts inbound SMS per hour, per account', async function () {
      const store = stores.store();
      const hour = 3_600_000;
      const start = 100 * DAY;
      await recordAt([
        [inbound('h1'), start - 1],
        [inbound('h2'), start],
        [inbound('h3'), start + hour - 1],
        [inbound('h4', { accountSid: 'other' }), start + 2 * hour + 5],
        [inbound('h5'), start + 3 * hour],
      ]);
      assert.deepEqual(await store.inboundCounts(start, start + 3 * hour, hour), [2, 0, 1]);
      assert.deepEqual(await store.inboundCounts(start, start + 3 * hour, hour, 'acme'), [2, 0, 0]);
    });

    it('purges handed-on inbound SMS older than the retention period, a batch at a time, and keeps opt-outs', async function () {
      const store = stores.store();
      await recordAt([[inbound('old-1'), 1 * DAY], [inbound('old-2'), 2 * DAY], [inbound('old-unhandled'), 3 * DAY], [inbound('new'), 300 * DAY]]);
      await store.markInboundHandled(['old-1', 'old-2', 'new']);
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'old-1' });
      assert.equal(await store.purgeInboundLog(200 * DAY, 1), 1, 'one a batch');
      assert.equal(await store.purgeInboundLog(200 * DAY, 10), 1);
      assert.equal(await store.purgeInboundLog(200 * DAY, 10), 0);
      assert.deepEqual((await store.inboundLogPage({ limit: 10 })).map((line) => line.sid), ['new', 'old-unhandled'], 'what was never handed on stays');
      assert.equal(await store.isOptedOut(A), true);
      assert.equal((await store.optOutHistory(A)).length, 1);
    });

    it('logs refused callbacks, pages them newest first by keyset (also within a millisecond), finds them by sender, text, time and account, and purges them by age', async function () {
      const store = stores.store();
      const other = await stores.open();
      await store.logRefusal(refusal(5 * DAY));
      await other.logRefusal(refusal(5 * DAY, { code: 'not_allowed', status: 403, reason: 'this address is not on the IP allow-list', from: B, body: 'Hi', sid: 'x' }));
      await store.logRefusal(refusal(5 * DAY, { code: 'malformed', status: 400, reason: 'SmsSid is missing', from: null, body: null, sid: null, remote: null }));
      await store.logRefusal(refusal(6 * DAY, { accountSid: '', body: 'YES 100%', sid: null }));
      await store.logRefusal(refusal(7 * DAY, { code: 'bad_token', from: null, body: null, sid: null, dropped: 250, remote: '198.51.100.7' }));
      const pages = await allPages((after) => other.refusalPage({ limit: 2, after }), (last) => ({ at: last.at, id: String(last.id) }), 2);
      const lines = pages.flat();
      assert.deepEqual(pages.map((page) => page.length), [2, 2, 1]);
      assert.deepEqual(lines.map((l) => [l.at / DAY, l.code, l.from]), [
        [7, 'bad_token', null], [6, 'bad_token', A], [5, 'malformed', null], [5, 'not_allowed', B], [5, 'bad_token', A],
      ], 'newest first; the same millisecond by the order logged, the last first');
      assert.equal(new Set(lines.map((l) => l.id)).size, 5, 'every refusal once');
      const { id: _id, ...first } = lines[4];
      assert.deepEqual(first, refusal(5 * DAY), 'every field kept');
      assert.equal(lines[0].dropped, 250, 'the line for a flood says how many were not logged one by one');

      const codes = async (query: Parameters<Store['refusalPage']>[0]) => (await store.refusalPage(query)).map((l) => `${l.at / DAY} ${l.code}`);
      assert.deepEqual(await codes({ limit: 10, phone: A }), ['6 bad_token', '5 bad_token']);
      assert.deepEqual(await codes({ limit: 10, text: '100%' }), ['6 bad_token'], 'a % is a %');
      assert.deepEqual(await codes({ limit: 10, text: 'allow-LIST' }), ['5 not_allowed'], 'the reason, any case');
      assert.deepEqual(await codes({ limit: 10, text: '543211' }), ['5 not_allowed'], 'digits of the sender');
      assert.deepEqual(await codes({ limit: 10, since: 6 * DAY, until: 7 * DAY }), ['6 bad_token']);
      assert.deepEqual(await codes({ limit: 10, accountSid: '' }), ['6 bad_token']);

      assert.equal(await store.purgeRefusals(6 * DAY, 2), 2, 'the oldest, a batch at a time');
      assert.equal(await store.purgeRefusals(6 * DAY, 10), 1);
      assert.equal(await store.purgeRefusals(6 * DAY, 10), 0);
      assert.deepEqual(await codes({ limit: 10 }), ['7 bad_token', '6 bad_token']);
    });

    it('pages opt-outs by their last change, finds them by digits, and names who changed one by hand', async function () {
      const store = stores.store();
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
      await store.setOptStatus({ phone: B, status: 'opted-out', source: 'manual', by: 'alice' });
      await store.setOptStatus({ phone: C, status: 'opted-in', keyword: 'START', source: 'sms-3' });
      await store.importOptStatus(['+919000000001', '+919000000002'], 'opted-out', 'import', 'bob');
      await backend.exec(`UPDATE opt_out SET updated_at = 5 WHERE phone = '${A}'`);
      await backend.exec(`UPDATE opt_out SET updated_at = 7 WHERE phone = '${B}'`);
      await backend.exec("UPDATE opt_out SET updated_at = 9 WHERE phone LIKE '+919000%'");
      const pages = await allPages((after) => store.optOutPage({ limit: 2, after }), (last) => ({ at: last.updatedAt, id: last.phone }), 2);
      assert.deepEqual(pages.map((page) => page.map((r) => r.phone)), [['+919000000002', '+919000000001'], [B, A]]);
      assert.deepEqual((await store.optOutPage({ limit: 10, status: 'all' })).map((r) => r.phone).sort(), [A, B, C, '+919000000001', '+919000000002'].sort());
      assert.deepEqual((await store.optOutPage({ limit: 10, status: 'opted-in' })).map((r) => r.phone), [C]);
      assert.deepEqual((await store.optOutPage({ limit: 10, text: '543211' })).map((r) => r.phone), [B]);
      assert.deepEqual((await store.optOutHistory(B)).map((h) => [h.status, h.source, h.by]), [['opted-out', 'manual', 'alice']]);
      assert.deepEqual((await store.optOutHistory('+919000000001')).map((h) => [h.source, h.by]), [['import', 'bob']]);
      assert.deepEqual((await store.optOutHistory(A)).map((h) => [h.source, h.by]), [['sms-1', null]]);
    });

    it('pages the active conversations, the last started first, without their codes', async function () {
      const store = stores.store();
      const start = (name: string, key: string) =>
        store.startConversation({ name, key, step: 'asked', data: { n: 1 }, maxAgeMs: DAY, timeoutMs: 60_000, code: { hash: 'h', salt: 's', lifetimeMs: 60_000, attempts: 3 } });
      await start('survey', A);
      await start('survey', B);
      await start('order', A);
      await start('order', C);
      await store.startConversation({ name: 'old', key: C, step: 'x', data: {}, maxAgeMs: 1 });
      await backend.exec("UPDATE conversation SET started_at = 50 WHERE name = 'survey'");
      await backend.exec("UPDATE conversation SET started_at = 60 WHERE name = 'order'");
      const now = Date.now() + 10;
      const pages = await allPages((after) => store.conversationPage({ limit: 3, after }, now), (last) => ({ at: last.startedAt, id: `${last.name}\u0000${last.key}` }), 3);
      assert.deepEqual(pages.flat().map((c) => `${c.name} ${c.key}`), [`order ${C}`, `order ${A}`, `survey ${B}`, `survey ${A}`], 'the expired one is left out');
      assert.ok(pages.flat().every((c) => c.code === null && c.step === 'asked' && c.deadlineAt !== null));
      assert.deepEqual((await store.conversationPage({ limit: 10, name: 'survey', text: '3211' }, now)).map((c) => c.key), [B]);
    });

    it('lists every node\'s outbox newest first, sends a failed one again and discards another', async function () {
      const store = stores.store();
      const add = (nodeId: string, phone: string) => store.addToOutbox({ nodeId, phone, request: { to: phone, body: 'hi' }, message: { payload: 'hi' }, claimKey: null, confirmation: false });
      const queued = (await add('send-1', A))!;
      const failed = (await add('send-2', B))!;
      const failedToo = (await add('send-1', C))!;
      await store.failOutboxEntry(failed, 3, { code: 'server_error', message: 'Exotel had an error' });
      await store.failOutboxEntry(failedToo, 1, { code: 'timeout' });
      const ids = (entries: Array<{ id: number }>) => entries.map((e) => e.id);
      const all = await store.outboxPage({ limit: 10 });
      assert.deepEqual(ids(all), [failedToo, failed, queued]);
      assert.deepEqual(ids(await store.outboxPage({ limit: 10, state: 'failed' })), [failedToo, failed]);
      assert.deepEqual(await store.outboxCounts(), { queued: 1, sending: 0, failed: 2 });
      assert.deepEqual(ids(await store.outboxPage({ limit: 10, after: { at: all[0].createdAt, id: String(all[0].id) } })), [failed, queued]);
      assert.equal(await store.requeueOutboxEntry(queued), null, 'only a failed send is sent again');
      const again = await store.requeueOutboxEntry(failed);
      assert.deepEqual([again?.id, again?.state, again?.attempts, again?.error, again?.nodeId], [failed, 'queued', 0, null, 'send-2']);
      assert.deepEqual(ids(await store.outboxEntries('send-2', 'queued')), [failed], 'its node finds it queued');
      assert.equal(await store.requeueOutboxEntry(failed), null, 'twice is once');
      assert.equal(await store.discardOutboxEntry(queued), false, 'a queued send is not discarded');
      assert.equal(await store.discardOutboxEntry(failedToo), true);
      assert.equal(await store.discardOutboxEntry(failedToo), false);
      assert.equal(await store.outboxEntry(failedToo), null);
      assert.equal((await store.outboxEntry(queued))?.phone, A);
    });

    it('answers "send again" asked again with the same key (its answer lost) with the entry it queued, while still queued', async function () {
      const store = stores.store();
      const id = (await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { to: A, body: 'hi' }, message: { payload: 'hi' }, claimKey: null, confirmation: false }))!;
      await store.failOutboxEntry(id, 3, { code: 'server_error', message: 'Exotel had an error' });
      assert.equal((await store.requeueOutboxEntry(id, 'again-1'))?.state, 'queued');
      const asked = await store.requeueOutboxEntry(id, 'again-1');
      assert.deepEqual([asked?.id, asked?.state, asked?.attempts], [id, 'queued', 0], 'the same request asked again: the entry it queued');
      assert.equal(await store.requeueOutboxEntry(id, 'again-2'), null, 'another request: it is no longer failed');
      assert.equal(await store.requeueOutboxEntry(id), null);
      await store.markOutboxSending(id);
      assert.equal(await store.requeueOutboxEntry(id, 'again-1'), null, 'not once it is being sent');
    });

    it('pages the send log newest first by keyset, finds it by number, text and account, and counts sent, delivered and failed per hour', async function () {
      const store = stores.store();
      const hour = 3_600_000;
      const start = 100 * DAY;
      const sends: Array<[SendLogStart, number]> = [
        [sendStart('cf-1', A), start + 10],
        [sendStart('cf-2', B, { body: 'Your order 100% shipped' }), start + 10],
        [sendStart('cf-3', A, { account: 'account-2' }), start + hour + 1],
        [sendStart('cf-4', C), start + 2 * hour],
        [sendStart('cf-5', B), start + 2 * hour + 7],
      ];
      for (const [entry] of sends) await store.logSendStart(entry);
      for (const [entry, at] of sends) await backend.exec(`UPDATE send_log SET created_at = ${at} WHERE custom_field = '${entry.customField}'`);
      await store.logSendAccepted('cf-1', 'sid-1', 'queued', 1);
      await store.logSendAccepted('cf-2', 'sid-2', 'queued', 1);
      await store.logSendAccepted('cf-3', 'sid-3', 'queued', 1);
      await store.logSendAccepted('cf-5', 'sid-5', 'queued', 1);
      await store.logSendFailed('cf-4', { code: 'server_error', message: 'Exotel had an error' });
      await store.recordDeliveryReport(report('sid-1', 'delivered'));
      await store.recordDeliveryReport(report('sid-2', 'failed', B));
      await store.recordDeliveryReport(report('sid-5', 'delivered', B));

      const pages = await allPages((after) => store.sendLogPage({ limit: 2, after }), (last) => ({ at: last.createdAt, id: String(last.id) }), 2);
      assert.deepEqual(pages.flat().map((e) => e.customField), ['cf-5', 'cf-4', 'cf-3', 'cf-2', 'cf-1']);
      const fields = async (query: Parameters<Store['sendLogPage']>[0]) => (await store.sendLogPage(query)).map((e) => e.customField);
      assert.deepEqual(await fields({ limit: 10, phone: A }), ['cf-3', 'cf-1']);
      assert.deepEqual(await fields({ limit: 10, text: '100%' }), ['cf-2']);
      assert.deepEqual(await fields({ limit: 10, account: 'account-2' }), ['cf-3']);
      assert.deepEqual(await fields({ limit: 10, since: start + hour, until: start + 2 * hour + 1 }), ['cf-4', 'cf-3']);
      const [failed] = await store.sendLogPage({ limit: 1, phone: C });
      assert.deepEqual([failed.state, failed.error], ['failed', { code: 'server_error', message: 'Exotel had an error' }]);

      assert.deepEqual(await store.sendCounts(start, start + 3 * hour, hour), { sent: [2, 1, 1], delivered: [1, 0, 1], failed: [1, 0, 1] });
      assert.deepEqual(await store.sendCounts(start, start + 3 * hour, hour, 'account-2'), { sent: [0, 1, 0], delivered: [0, 0, 0], failed: [0, 0, 0] });
    });

    it('exports everything held about a number, and erases it but for its opt-out record and history', async function () {
      const store = stores.store();
      await recordAt([[inbound('a-1', { from: A, body: 'STOP' }), 5], [inbound('b-1', { from: B }), 6]]);
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'a-1' });
      await store.startConversation({ name: 'survey', key: A, step: 'asked', data: { answer: 'yes' }, maxAgeMs: DAY, sid: 'a-1' });
      await store.getConversation('survey', A, 'node-1:a-1');
      await store.startConversation({ name: 'survey', key: B, step: 'asked', data: {}, maxAgeMs: DAY });
      await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { to: A, body: 'Bye' }, message: null, claimKey: `a-1>${A}`, confirmation: false });
      await store.addToOutbox({ nodeId: 'send-1', phone: B, request: { to: B, body: 'Hi' }, message: null, claimKey: `b-1>${B}`, confirmation: false });
      await store.addSandboxMessage({ account: 'sb', phone: A, direction: 'in', body: 'STOP', sid: 'a-1', status: 'received', detail: null, segments: null, encoding: null, at: 5 });
      await store.logSendStart(sendStart('cf-a', A, { body: 'You will get no more SMS' }));
      await store.logSendAccepted('cf-a', 'sid-a', 'queued', 1);
      await store.recordDeliveryReport(report('sid-a', 'delivered'));
      await store.logSendStart(sendStart('cf-b', B));
      await store.logRefusal(refusal(7, { body: 'forged STOP' }));
      await store.logRefusal(refusal(8, { from: B }));

      const data = await store.numberData(A);
      assert.equal(data.phone, A);
      assert.equal(data.optOut?.status, 'opted-out');
      assert.deepEqual(data.optOutHistory.map((h) => h.source), ['a-1']);
      assert.deepEqual(data.inbound.map((line) => line.body), ['STOP']);
      assert.deepEqual(data.conversations.map((c) => [c.name, c.data]), [['survey', { answer: 'yes' }]]);
      assert.deepEqual(data.outbox.map((e) => e.request), [{ to: A, body: 'Bye' }]);
      assert.deepEqual(data.sandbox.map((m) => m.body), ['STOP']);
      assert.deepEqual(data.sent.map((e) => [e.body, e.delivery]), [['You will get no more SMS', 'delivered']]);
      assert.deepEqual(data.refused.map((r) => [r.body, r.code]), [['forged STOP', 'bad_token']]);

      const erased = await store.eraseNumber(A);
      assert.deepEqual(erased, { inbound: 1, conversations: 1, outbox: 1, sandbox: 1, sent: 1, refused: 1, other: 3 });
      const after = await store.numberData(A);
      assert.deepEqual([after.inbound, after.conversations, after.outbox, after.sandbox, after.sent, after.refused], [[], [], [], [], [], []]);
      assert.equal(after.optOut?.status, 'opted-out', 'the opt-out record stays');
      assert.equal(after.optOutHistory.length, 1, 'and its history');
      assert.equal(await store.isOptedOut(A), true);
      const b = await store.numberData(B);
      assert.deepEqual([b.inbound.length, b.conversations.length, b.outbox.length, b.sent.length, b.refused.length], [1, 1, 1, 1, 1], 'another number is untouched');
      assert.equal(await store.addToOutbox({ nodeId: 'send-1', phone: B, request: {}, message: null, claimKey: `b-1>${B}`, confirmation: false }), null, "another number's claim holds");
    });
  });
}
