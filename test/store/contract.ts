// The store contract: what every backend (SQLite, PostgreSQL) must do, written once. Each backend's
// spec gives a way to open stores on one fresh database a test (a second store is a second
// Node-RED instance on the same database) and to run SQL on it as maintenance would.
import assert from 'node:assert/strict';
import { codeMatches, hashCode, newSalt } from '../../src/sms/one-time-code';
import type { DeliveryReport, InboundRecord, Store } from '../../src/store';
import { operatorsContract } from './contract-operators';

export interface Backend {
  name: string;
  /** the schema version a new database is migrated to */
  latestVersion: number;
  /** a fresh, empty database for the next test */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** a store on the test's database; each call is another instance */
  open(): Promise<Store>;
  /** SQL run on the test's database directly, outside the store; the rows of a query */
  exec(sql: string): Promise<Array<Record<string, unknown>>>;
}

const HOUR = 3_600_000;
const A = '+919876543210';
const B = '+919876543211';
const C = '+919876543212';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function inbound(sid: string, extra: Partial<InboundRecord> = {}): InboundRecord {
  return { sid, endpoint: '/exotel/sms', from: A, to: '+918000000000', body: 'YES', receivedAt: '2026-11-28T10:00:00Z', accountSid: 'acme', ...extra };
}

export function storeContract(backend: Backend): void {
  describe(`the ${backend.name} store contract`, function () {
    this.timeout(30_000);
    let opened: Store[] = [];
    let store: Store;

    async function open(): Promise<Store> {
      const each = await backend.open();
      opened.push(each);
      return each;
    }
    /** Closes the test's first store and opens it again, as a restart of Node-RED would. */
    async function restart(): Promise<Store> {
      await store.close();
      opened = opened.filter((each) => each !== store);
      store = await open();
      return store;
    }

    beforeEach(async function () {
      await backend.setUp();
      store = await open();
    });
    afterEach(async function () {
      for (const each of opened) await each.close();
      opened = [];
      await backend.tearDown();
    });

    it('creates the schema at the latest version', async function () {
      assert.equal(await store.schemaVersion(), backend.latestVersion);
    });

    describe('inbound log and send claims', function () {
      it('records each SmsSid once, also when the same SMS reaches two instances at the same moment', async function () {
        const other = await open();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).recordInbound(inbound('sms-1'))));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await store.recordInbound(inbound('sms-1')), false);
        assert.equal(await other.recordInbound(inbound('sms-2')), true);
      });

      it('hands on what was recorded but not handled, per endpoint, oldest first, after a restart', async function () {
        await store.recordInbound(inbound('sms-1'));
        await sleep(2);
        await store.recordInbound(inbound('sms-2', { body: 'NO' }));
        await store.recordInbound(inbound('sms-3', { endpoint: '/other' }));
        await store.markInboundHandled(['sms-1']);
        await restart();
        assert.deepEqual(await store.unhandledInbound('/exotel/sms'), [inbound('sms-2', { body: 'NO' })]);
        assert.deepEqual((await store.unhandledInbound('/other')).map((r) => r.sid), ['sms-3']);
        await store.markInboundHandled(['sms-2', 'sms-3']);
        assert.deepEqual(await store.unhandledInbound('/exotel/sms'), []);
      });

      it('records an SMS whatever its text holds: Devanagari, emoji, even a NUL byte', async function () {
        const bodies = ['हाँ', 'ok 👍', 'a\u0000b'];
        const results = await Promise.all(bodies.map((body, i) => store.recordInbound(inbound(`sms-${i}`, { body }))));
        assert.deepEqual(results, [true, true, true]);
        const recorded = (await store.unhandledInbound('/exotel/sms')).map((r) => r.body.replace('\uFFFD', '\u0000'));
        assert.deepEqual(recorded.sort(), [...bodies].sort());
      });

      it('takes a send claim once across instances, and a released claim may be taken again', async function () {
        const other = await open();
        const entry = { nodeId: 'send-1', phone: A, request: { To: A, Body: 'Thanks' }, message: { payload: 'Thanks' }, claimKey: 'sms-1', confirmation: false };
        const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).addToOutbox(entry)));
        assert.equal(ids.filter((id) => id !== null).length, 1, 'one send for one inbound SMS');
        assert.equal((await other.outboxEntries('send-1', 'queued')).length, 1);
        assert.notEqual(await store.addToOutbox({ ...entry, nodeId: 'send-2' }), null, 'another send node has its own claim');
        await store.releaseSend('send-1', 'sms-1');
        assert.notEqual(await other.addToOutbox(entry), null, 'a failed send may be tried again on a replay');
        assert.notEqual(await store.addToOutbox({ ...entry, claimKey: null }), null, 'a send without a claim is always queued');
      });

      it('queues sends asked at once each once, in the order asked, each answered with its own entry', async function () {
        const other = await open();
        const send = (phone: string, body: string, claimKey: string | null, attempt: string, notBefore?: number) =>
          ({ nodeId: 'send-1', phone, request: { To: phone, Body: body }, message: { payload: body }, claimKey, confirmation: false, attempt, ...(notBefore ? { notBefore } : {}) });
        const early = (await store.addToOutbox(send(A, 'early', 'sms-early', 'send-early')))!;
        const at = Date.UTC(2026, 2, 11, 4, 30);
        // one turn of the event loop on each instance: a busy instance's sends go together
        const [mine, theirs] = await Promise.all([
          Promise.all([
            ...Array.from({ length: 6 }, (_, i) => store.addToOutbox(send(i % 2 ? B : A, `reply ${i}`, `sms-${i}`, `send-m${i}`))),
            store.addToOutbox(send(A, 'first of two', 'sms-twice', 'send-t1')),
            store.addToOutbox(send(A, 'second of two', 'sms-twice', 'send-t2')),
            store.addToOutbox(send(B, 'a replay', 'sms-early', 'send-replay')),
            store.addToOutbox(send(A, 'early', 'sms-early', 'send-early')),
            store.addToOutbox(send(B, 'unclaimed', null, 'send-u', at)),
          ]),
          Promise.all(Array.from({ length: 4 }, (_, i) => other.addToOutbox(send(C, `theirs ${i}`, `sms-${i}`, `send-o${i}`)))),
        ]);
        const queued = await store.outboxEntries('send-1', 'queued');
        for (let i = 0; i < 4; i++) assert.equal([mine[i], theirs[i]].filter((id) => id !== null).length, 1, `one send for sms-${i}`);
        assert.deepEqual(mine.slice(4, 6).map((id) => typeof id), ['number', 'number'], 'claims nobody else asked for');
        assert.deepEqual([typeof mine[6], mine[7], mine[8], mine[9]], ['number', null, null, early], 'a claim twice in one go: its first send; a replay: none; the attempt asked again: its entry');
        const byId = new Map(queued.map((e) => [e.id, e]));
        assert.equal(queued.length, 1 + 6 + 1 + 1, 'early, one a claim, the first of two, the unclaimed one');
        const mineQueued = mine.filter((id): id is number => id !== null && id !== early);
        assert.deepEqual(mineQueued.map((id) => (byId.get(id)!.request as { Body: string }).Body), mine.flatMap((id, i) => (id === null || id === early ? [] : [i < 6 ? `reply ${i}` : i === 6 ? 'first of two' : 'unclaimed'])), 'each id its own send');
        assert.deepEqual(mineQueued, [...mineQueued].sort((x, y) => x - y), 'queued in the order asked');
        const unclaimed = byId.get(mine[10]!)!;
        assert.deepEqual([unclaimed.phone, unclaimed.message, unclaimed.notBefore, unclaimed.claimKey], [B, { payload: 'unclaimed' }, at, null]);
      });
    });

    describe('a call made again after its answer was lost', function () {
      it('finds the outbox entry its attempt queued, with or without a claim; another attempt finds the claim taken', async function () {
        const entry = { nodeId: 'send-1', phone: A, request: { To: A, Body: 'Packed' }, message: { payload: 'Packed' }, claimKey: 'sms-7', confirmation: false };
        const first = await store.addToOutbox({ ...entry, attempt: 'send-a' });
        assert.equal(typeof first, 'number');
        assert.equal(await store.addToOutbox({ ...entry, attempt: 'send-a' }), first, 'the same attempt: its own entry');
        assert.equal(await store.addToOutbox({ ...entry, attempt: 'send-b' }), null, 'another attempt (a replay): the claim is taken');
        assert.equal(await store.addToOutbox(entry), null, 'no attempt: the claim is taken');
        const unclaimed = { ...entry, claimKey: null, attempt: 'send-c' };
        const plain = await store.addToOutbox(unclaimed);
        assert.equal(await store.addToOutbox(unclaimed), plain);
        assert.notEqual(plain, first);
        assert.deepEqual((await store.outboxEntries('send-1', 'queued')).map((e) => e.id), [first, plain], 'queued once each');
      });

      it('takes the opt-out confirmation again for the attempt that holds it, and for no other', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-out', source: 'a' });
        assert.equal(await store.claimOptOutConfirmation(A, 600_000, 'send-a'), true);
        assert.equal(await store.claimOptOutConfirmation(A, 600_000, 'send-a'), true, 'its own claim, answered again');
        assert.equal(await store.claimOptOutConfirmation(A, 600_000, 'send-b'), false);
        assert.equal(await store.claimOptOutConfirmation(A, 600_000), false);
        await store.addToOutbox({ nodeId: 'send-1', phone: A, request: {}, message: null, claimKey: null, confirmation: true, attempt: 'send-a' });
        await store.setOptStatus({ phone: B, status: 'opted-out', source: 'b' });
        assert.equal(await store.claimOptOutConfirmation(B, 600_000), true);
        assert.equal(await store.claimOptOutConfirmation(B, 600_000), false, 'no attempt key: nothing to find again');
      });

      it('gives back only the confirmation claim an attempt holds and has not queued', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-out', source: 'a' });
        assert.equal(await store.claimOptOutConfirmation(A, 600_000, 'send-a'), true);
        await store.addToOutbox({ nodeId: 'send-1', phone: A, request: {}, message: null, claimKey: null, confirmation: true, attempt: 'send-a' });
        await store.releaseOptOutConfirmation(A, 'send-a'); // its answer lost, and the call made again told the entry is not its own
        assert.equal(await store.claimOptOutConfirmation(A, 600_000, 'send-b'), false, 'queued: not given back');
        await store.setOptStatus({ phone: B, status: 'opted-out', source: 'b' });
        assert.equal(await store.claimOptOutConfirmation(B, 600_000, 'send-c'), true);
        await store.releaseOptOutConfirmation(B, 'send-d');
        assert.equal(await store.claimOptOutConfirmation(B, 600_000, 'send-e'), false, 'another attempt’s claim is not given back');
        await store.releaseOptOutConfirmation(B, 'send-c');
        assert.equal(await store.claimOptOutConfirmation(B, 600_000, 'send-e'), true, 'its own claim, not queued, is');
        await store.releaseOptOutConfirmation(B);
        assert.equal(await store.claimOptOutConfirmation(B, 600_000, 'send-f'), true, 'without a key: given back (a send that failed for good)');
      });
    });

    describe('outbox', function () {
      it('keeps a node\'s sends in order through sending, retries, failure and removal, across a restart', async function () {
        const add = (phone: string, body: string) =>
          store.addToOutbox({ nodeId: 'send-1', phone, request: { To: phone, Body: body }, message: { payload: body, n: [1] }, claimKey: null, confirmation: body === 'bye' });
        const first = (await add(A, 'one'))!;
        const second = (await add(A, 'two'))!;
        const third = (await add(B, 'bye'))!;
        await store.addToOutbox({ nodeId: 'send-2', phone: A, request: {}, message: null, claimKey: null, confirmation: false });
        let queued = await store.outboxEntries('send-1', 'queued');
        assert.deepEqual(queued.map((e) => e.id), [first, second, third]);
        assert.deepEqual([queued[2].request, queued[2].message, queued[2].confirmation, queued[0].confirmation], [{ To: B, Body: 'bye' }, { payload: 'bye', n: [1] }, true, false]);
        await store.markOutboxSending(first);
        await store.noteOutboxAttempt(second, 1, { code: 'timeout' });
        await store.failOutboxEntry(third, 3, { code: 'invalid_number', message: 'no' });
        await restart();
        assert.deepEqual((await store.outboxEntries('send-1', 'sending')).map((e) => e.id), [first]);
        queued = await store.outboxEntries('send-1', 'queued');
        assert.deepEqual(queued.map((e) => [e.id, e.attempts, e.error]), [[second, 1, { code: 'timeout' }]]);
        const failed = await store.outboxEntries('send-1', 'failed');
        assert.deepEqual(failed.map((e) => [e.id, e.attempts, e.error]), [[third, 3, { code: 'invalid_number', message: 'no' }]]);
        await store.removeFromOutbox(first);
        assert.deepEqual(await store.outboxEntries('send-1', 'sending'), []);
        assert.equal((await store.outboxEntries('send-2', 'queued')).length, 1, 'another node\'s sends stay');
      });

      it('keeps the time a held send may go (TRAI\'s hours) across a restart, and none for the others', async function () {
        const at = Date.UTC(2026, 2, 11, 4, 30); // 10:00 IST
        const held = (await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { body: 'Sale' }, message: null, claimKey: null, confirmation: false, notBefore: at }))!;
        const now = (await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { body: 'OTP' }, message: null, claimKey: 'sms-9>A', confirmation: false }))!;
        const claimed = (await store.addToOutbox({ nodeId: 'send-1', phone: B, request: { body: 'Sale' }, message: null, claimKey: 'sms-9>B', confirmation: false, notBefore: at + 1 }))!;
        await store.noteOutboxAttempt(claimed, 1, { code: 'timeout' });
        await restart();
        const queued = await store.outboxEntries('send-1', 'queued');
        assert.deepEqual(queued.map((e) => [e.id, e.notBefore]), [[held, at], [now, null], [claimed, at + 1]]);
        assert.strictEqual(typeof queued[0].notBefore, 'number');
      });

      it('drops the sealed text of a send that failed, and keeps the rest of it', async function () {
        const id = (await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { to: A, body: 'Your code is ••••', sealed: 'c2VhbGVk' }, message: null, claimKey: null, confirmation: false }))!;
        await store.noteOutboxAttempt(id, 1, { code: 'timeout' });
        assert.equal(((await store.outboxEntries('send-1', 'queued'))[0].request as { sealed?: string }).sealed, 'c2VhbGVk', 'kept while it may still go out');
        await store.failOutboxEntry(id, 2, { code: 'rejected' });
        assert.deepEqual((await store.outboxEntries('send-1', 'failed'))[0].request, { to: A, body: 'Your code is ••••' });
      });

      it('deletes failed sends and send claims older than the retention period, and nothing else', async function () {
        const add = (body: string, claimKey: string | null) => store.addToOutbox({ nodeId: 'send-1', phone: A, request: { body }, message: null, claimKey, confirmation: false });
        const oldFailed = (await add('old failed', 'sms-1>A'))!;
        const newFailed = (await add('new failed', 'sms-2>A'))!;
        const oldQueued = (await add('old queued', null))!;
        await store.failOutboxEntry(oldFailed, 1, { code: 'x' });
        await store.failOutboxEntry(newFailed, 1, { code: 'x' });
        const longAgo = Date.now() - 200 * 24 * HOUR;
        await backend.exec(`UPDATE outbox SET updated_at = ${longAgo} WHERE id IN (${oldFailed}, ${oldQueued})`);
        await backend.exec(`UPDATE send_claim SET claimed_at = ${longAgo} WHERE claim_key = 'sms-1>A'`);
        assert.equal(await store.purgeFinishedSends(Date.now() - 180 * 24 * HOUR), 2, 'the old failed send and the old claim');
        assert.deepEqual((await store.outboxEntries('send-1', 'failed')).map((e) => e.id), [newFailed]);
        assert.deepEqual((await store.outboxEntries('send-1', 'queued')).map((e) => e.id), [oldQueued], 'a send still waiting is never deleted');
        assert.notEqual(await add('again', 'sms-1>A'), null, 'the old claim is gone');
        assert.equal(await add('again', 'sms-2>A'), null, 'a recent claim still holds');
      });
    });

    describe('opt-outs', function () {
      it('keeps opt-outs and their history across a restart', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
        await restart();
        assert.equal(await store.isOptedOut(A), true);
        assert.equal(await store.isOptedOut(B), false);
        const record = (await store.getOptStatus(A))!;
        assert.deepEqual({ ...record, updatedAt: typeof record.updatedAt }, { phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1', updatedAt: 'number' });
        assert.equal(await store.getOptStatus(B), null);
        assert.equal(await store.optedOutCount(), 1);
        assert.deepEqual((await store.optOutHistory(A)).map((h) => h.source), ['sms-1']);
      });

      it('reads many numbers\' records at once, each its own', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
        const records = await Promise.all([A, B, A].map((phone) => store.getOptStatus(phone)));
        assert.deepEqual(records.map((r) => r && [r.phone, r.status]), [[A, 'opted-out'], null, [A, 'opted-out']]);
      });

      it('appends every change to a history that cannot be rewritten', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-in', keyword: 'YES', source: 'sms-1' });
        await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-2' });
        const again = await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-3' });
        assert.deepEqual([again.changed, again.replay], [false, false]);
        const replay = await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-2' });
        assert.deepEqual([replay.changed, replay.replay], [false, true]);
        assert.deepEqual((await store.optOutHistory(A)).map((h) => [h.status, h.keyword, h.source]), [
          ['opted-in', 'YES', 'sms-1'],
          ['opted-out', 'STOP', 'sms-2'],
          ['opted-out', 'STOP', 'sms-3'],
        ]);
        await assert.rejects(backend.exec("UPDATE opt_out_history SET status = 'opted-in'"), /append-only/);
        await assert.rejects(backend.exec('DELETE FROM opt_out_history'), /append-only/);
        assert.equal((await store.optOutHistory(A)).length, 3);
      });

      it('keeps the time and keyword of the first STOP when STOP comes again', async function () {
        const first = await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'a' });
        await sleep(5);
        const second = await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'QUIT', source: 'b' });
        assert.equal(second.record.updatedAt, first.record.updatedAt);
        assert.equal(second.record.keyword, 'STOP');
      });

      it('applies one SmsSid to a number once, also when two instances get it at the same moment', async function () {
        const other = await open();
        const change = { phone: A, status: 'opted-out' as const, keyword: 'STOP', source: 'sms-9' };
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).setOptStatus(change)));
        assert.equal(results.filter((r) => r.changed).length, 1);
        assert.equal(results.filter((r) => r.replay).length, 5);
        assert.equal((await store.optOutHistory(A)).length, 1);
        assert.equal(await other.optedOutCount(), 1);
      });

      it('gives one opt-out confirmation per opt-out across instances, only within the window', async function () {
        const other = await open();
        assert.equal(await store.claimOptOutConfirmation(A, 600_000), false, 'not opted out');
        await store.setOptStatus({ phone: A, status: 'opted-out', source: 'a' });
        const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).claimOptOutConfirmation(A, 600_000)));
        assert.equal(claims.filter(Boolean).length, 1);
        await other.releaseOptOutConfirmation(A);
        assert.equal(await store.claimOptOutConfirmation(A, 600_000), true, 'a failed confirmation may be tried again');
        await store.setOptStatus({ phone: B, status: 'opted-out', source: 'b' });
        await backend.exec(`UPDATE opt_out SET updated_at = ${Date.now() - 11 * 60_000} WHERE phone = '${B}'`);
        assert.equal(await store.claimOptOutConfirmation(B, 600_000), false, 'too late');
      });

      it('keeps the opted-out count through opt out, repeats, replays, opt in and a row deleted by hand', async function () {
        const steps: Array<[string, 'opted-in' | 'opted-out', string, number]> = [
          [A, 'opted-out', 'sms-1', 1],
          [A, 'opted-out', 'sms-2', 1],
          [A, 'opted-out', 'sms-1', 1],
          [B, 'opted-in', 'sms-3', 1],
          [A, 'opted-in', 'sms-4', 0],
          [A, 'opted-in', 'sms-5', 0],
          [A, 'opted-out', 'sms-6', 1],
          [B, 'opted-out', 'sms-7', 2],
          [C, 'opted-out', 'sms-8', 3],
        ];
        for (const [phone, status, source, count] of steps) {
          await store.setOptStatus({ phone, status, source });
          assert.equal(await store.optedOutCount(), count, `${phone} ${status} ${source}`);
        }
        await backend.exec(`DELETE FROM opt_out WHERE phone = '${B}'`);
        assert.equal(await store.optedOutCount(), 2);
        await restart();
        assert.equal(await store.optedOutCount(), 2);
      });

      it('imports numbers in one go, each once in the count, each change in the history', async function () {
        await store.setOptStatus({ phone: A, status: 'opted-out', source: 'manual' });
        assert.deepEqual(await store.importOptStatus([A, B, C, B], 'opted-out', 'import'), { changed: 2, unchanged: 2 });
        assert.equal(await store.optedOutCount(), 3);
        assert.deepEqual(await store.importOptStatus([B, C], 'opted-in', 'import'), { changed: 2, unchanged: 0 });
        assert.equal(await store.optedOutCount(), 1);
        assert.deepEqual((await store.exportOptStatus()).map((r) => [r.phone, r.status]), [[A, 'opted-out'], [B, 'opted-in'], [C, 'opted-in']]);
        assert.deepEqual((await store.optOutHistory(B)).map((h) => h.status), ['opted-out', 'opted-out', 'opted-in']);
      });

      it('imports 100,000 numbers and counts them', async function () {
        this.timeout(120_000);
        const phones = Array.from({ length: 100_000 }, (_, i) => `+9198${String(i).padStart(8, '0')}`);
        await store.setOptStatus({ phone: phones[0], status: 'opted-out', source: 'manual' });
        assert.deepEqual(await store.importOptStatus(phones, 'opted-out', 'import'), { changed: 99_999, unchanged: 1 });
        assert.equal(await store.optedOutCount(), 100_000);
        assert.equal(await store.isOptedOut(phones[54_321]), true);
        await restart();
        assert.equal(await store.optedOutCount(), 100_000);
        assert.equal((await store.exportOptStatus()).length, 100_000);
      });
    });

    describe('conversations', function () {
      it('starts, moves, merges data and ends', async function () {
        const started = await store.startConversation({ name: 'order', key: A, step: 'order-id', data: { source: 'sms' }, maxAgeMs: HOUR });
        assert.deepEqual([started.step, started.revision, started.deadlineAt, started.code], ['order-id', 1, null, null]);
        const moved = (await store.updateConversation('order', A, { step: 'done', data: { orderId: 'A123' } }))!;
        assert.deepEqual([moved.step, moved.data, moved.revision], ['done', { source: 'sms', orderId: 'A123' }, 2]);
        const ended = (await store.endConversation('order', A, { closed: true }))!;
        assert.deepEqual(ended.data, { source: 'sms', orderId: 'A123', closed: true });
        assert.equal(await store.getConversation('order', A), null);
        assert.equal(await store.updateConversation('order', A, { step: 'x' }), null);
        assert.equal(await store.endConversation('order', A), null);
      });

      it('keeps conversations of different names and customers apart, and counts the active ones', async function () {
        await store.startConversation({ name: 'survey', key: A, step: 'answer', data: {}, maxAgeMs: HOUR });
        await store.startConversation({ name: 'order', key: A, step: 'order-id', data: {}, maxAgeMs: HOUR });
        await store.startConversation({ name: 'order', key: B, step: 'order-id', data: {}, maxAgeMs: HOUR });
        assert.equal((await store.getConversation('survey', A))!.step, 'answer');
        assert.equal(await store.activeConversationCount('survey'), 1);
        assert.equal(await store.activeConversationCount('order'), 2);
        assert.equal(await store.activeConversationCount(), 3);
      });

      it('shares a conversation between instances and keeps it across a restart', async function () {
        const other = await open();
        await store.startConversation({ name: 'survey', key: A, step: 'answer', data: { sent: 'Jan 20' }, maxAgeMs: HOUR, timeoutMs: 60_000 });
        assert.equal((await other.getConversation('survey', A))!.step, 'answer');
        await restart();
        const record = (await store.getConversation('survey', A))!;
        assert.deepEqual([record.step, record.data], ['answer', { sent: 'Jan 20' }]);
        assert.ok(record.deadlineAt! > Date.now());
      });

      it('forgets a conversation past its maximum age, and purges it', async function () {
        await store.startConversation({ name: 'survey', key: A, step: 'answer', data: {}, maxAgeMs: 1 });
        await store.startConversation({ name: 'survey', key: B, step: 'answer', data: {}, maxAgeMs: 1 });
        await store.startConversation({ name: 'survey', key: C, step: 'answer', data: {}, maxAgeMs: HOUR });
        await sleep(5);
        assert.equal(await store.getConversation('survey', A), null);
        assert.equal(await store.activeConversationCount('survey'), 1);
        assert.equal(await store.purgeExpiredConversations(Date.now()), 1, 'A was dropped on sight; B is purged');
        assert.notEqual(await store.getConversation('survey', C), null);
      });

      it('hands out each due deadline once, and a step change clears the old one', async function () {
        await store.startConversation({ name: 'appt', key: A, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
        await store.startConversation({ name: 'appt', key: B, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
        await store.startConversation({ name: 'appt', key: C, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 60_000 });
        await store.updateConversation('appt', B, { step: 'new-time' });
        await sleep(5);
        const due = await store.takeDueConversations('appt', Date.now(), 10);
        assert.deepEqual(due.map((c) => [c.key, c.step, typeof c.deadlineAt]), [[A, 'confirm', 'number']]);
        assert.deepEqual(await store.takeDueConversations('appt', Date.now(), 10), []);
        assert.equal((await store.getConversation('appt', A))!.step, 'confirm', 'a timeout does not end the conversation');
        assert.equal((await store.getConversation('appt', A))!.deadlineAt, null);
      });

      it('fires each timeout once when two instances look for due deadlines at the same moment', async function () {
        const other = await open();
        const keys = Array.from({ length: 30 }, (_, i) => `+9198765${String(i).padStart(5, '0')}`);
        for (const key of keys) await store.startConversation({ name: 'appt', key, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
        await sleep(5);
        const taken: string[] = [];
        await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            const due = await (i % 2 ? other : store).takeDueConversations('appt', Date.now(), 4);
            taken.push(...due.map((c) => c.key));
          }),
        );
        taken.push(...(await other.takeDueConversations('appt', Date.now(), 100)).map((c) => c.key));
        assert.deepEqual(taken.sort(), keys);
      });

      it('fires a timeout once even while another instance changes the conversation\'s data', async function () {
        const other = await open();
        let fired = 0;
        for (let round = 0; round < 15; round++) {
          const key = `+9198765${String(round).padStart(5, '0')}`;
          await store.startConversation({ name: 'appt', key, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
          await sleep(3);
          const [due] = await Promise.all([
            store.takeDueConversations('appt', Date.now(), 10),
            ...Array.from({ length: 4 }, (_, i) => other.updateConversation('appt', key, { data: { [`n${i}`]: i } })),
          ]);
          const later = await store.takeDueConversations('appt', Date.now(), 10);
          fired += due.length + later.length;
        }
        assert.equal(fired, 15);
      });

      it('applies an inbound SMS once: a replay of the same SmsSid changes nothing', async function () {
        await store.startConversation({ name: 'order', key: A, step: 'order-id', data: {}, maxAgeMs: HOUR, sid: 'n1:sms-0' });
        const replayedStart = await store.startConversation({ name: 'order', key: A, step: 'other', data: {}, maxAgeMs: HOUR, sid: 'n1:sms-0' });
        assert.deepEqual([replayedStart.step, replayedStart.revision], ['order-id', 1]);
        await store.updateConversation('order', A, { step: 'done', data: { n: 1 }, sid: 'n1:sms-1' });
        const replay = (await store.updateConversation('order', A, { step: 'elsewhere', data: { n: 2 }, sid: 'n1:sms-1' }))!;
        assert.deepEqual([replay.step, replay.data.n, replay.revision], ['done', 1, 2]);
      });

      it('never loses an update when many arrive at once at two instances', async function () {
        const other = await open();
        await store.startConversation({ name: 'tally', key: A, step: 's', data: {}, maxAgeMs: HOUR });
        await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : store).updateConversation('tally', A, { data: { [`a${i}`]: i } })));
        const record = (await store.getConversation('tally', A))!;
        assert.equal(Object.keys(record.data).length, 50);
        assert.equal(record.revision, 51);
      });

      it('gives a replayed SMS the answer it got the first time, whatever happened since', async function () {
        await store.startConversation({ name: 'order', key: A, step: 'order-id', data: {}, maxAgeMs: HOUR });
        const first = await store.getConversation('order', A, 'node-1:sms-1');
        await store.updateConversation('order', A, { step: 'done' });
        assert.deepEqual(await store.getConversation('order', A, 'node-1:sms-1'), first);
        assert.equal((await store.getConversation('order', A, 'node-1:sms-2'))!.step, 'done');
        const changes: string[] = [];
        store.onConversationChange((name, key) => changes.push(`${name} ${key}`));
        const ended = await store.endConversation('order', A, { closed: true }, 'node-1:sms-3');
        await store.startConversation({ name: 'order', key: A, step: 'again', data: {}, maxAgeMs: HOUR });
        assert.deepEqual(await store.endConversation('order', A, { closed: true }, 'node-1:sms-3'), ended);
        assert.equal((await store.getConversation('order', A))!.step, 'again', 'the replayed end ended nothing');
        assert.deepEqual(changes, [`order ${A}`, `order ${A}`], 'the end and the start; not the replay');
      });

      it('answers reads asked at once each with its own conversation, a replayed one with its first answer', async function () {
        const other = await open();
        const keys = Array.from({ length: 12 }, (_, i) => `+9198766${String(i).padStart(5, '0')}`);
        for (const [i, key] of keys.entries()) await store.startConversation({ name: 'order', key, step: `step-${i}`, data: { i }, maxAgeMs: HOUR });
        await store.startConversation({ name: 'order', key: A, step: 'expiring', data: {}, maxAgeMs: 1 });
        await sleep(5);
        const first = await store.getConversation('order', keys[0], 'node-1:sms-r0');
        await store.updateConversation('order', keys[0], { step: 'moved' });
        // one turn of the event loop, on two instances: a busy instance's reads go together
        const [mine, theirs] = await Promise.all([
          Promise.all([
            ...keys.map((key, i) => store.getConversation('order', key, `node-1:sms-r${i}`)),
            store.getConversation('order', B),
            store.getConversation('order', A, 'node-1:sms-expired'),
            store.getConversation('survey', keys[3]),
            store.getConversation('order', keys[5], 'node-1:sms-r5'),
          ]),
          Promise.all(keys.map((key, i) => other.getConversation('order', key, `node-2:sms-r${i}`))),
        ]);
        assert.deepEqual(mine.slice(0, 12).map((c) => [c!.key, c!.step, c!.data.i]), keys.map((key, i) => [key, i === 0 ? first!.step : `step-${i}`, i]));
        assert.deepEqual(mine[0], first, 'the replayed read: the answer it got the first time');
        assert.deepEqual(mine.slice(12, 15), [null, null, null], 'no conversation, an expired one, another name');
        assert.deepEqual(mine[15], mine[5], 'the same SMS twice in one go: one answer');
        assert.deepEqual(theirs.map((c) => [c!.key, c!.step]), keys.map((key, i) => [key, i === 0 ? 'moved' : `step-${i}`]));
        assert.deepEqual(await store.getConversation('order', keys[7], 'node-1:sms-r7'), mine[7], 'each read remembered for its key');
      });

      it('tells listeners of each committed change, and stops when asked', async function () {
        const changes: string[] = [];
        const stop = store.onConversationChange((name, key) => changes.push(`${name} ${key}`));
        await store.startConversation({ name: 'order', key: A, step: 'one', data: {}, maxAgeMs: HOUR });
        await store.updateConversation('order', A, { step: 'two' });
        await store.updateConversation('order', B, { step: 'two' });
        stop();
        await store.endConversation('order', A);
        assert.deepEqual(changes, [`order ${A}`, `order ${A}`]);
      });

      describe('one-time codes', function () {
        async function startWithCode(code: string, { lifetimeMs = 600_000, attempts = 3 } = {}) {
          const salt = newSalt();
          await store.startConversation({ name: 'otp', key: A, step: 'code', data: {}, maxAgeMs: HOUR, code: { hash: hashCode(code, salt), salt, lifetimeMs, attempts } });
        }
        const check = (reply: string, on = store) => on.checkCode('otp', A, (hash, salt) => codeMatches(reply, hash, salt));

        it('verifies the right code once, also when it reaches two instances at the same moment, then forgets it', async function () {
          const other = await open();
          await startWithCode('456789');
          const results = await Promise.all(Array.from({ length: 6 }, (_, i) => check('456789', i % 2 ? other : store)));
          assert.deepEqual(results.map((r) => r.result).sort(), ['none', 'none', 'none', 'none', 'none', 'verified']);
          assert.equal(results.find((r) => r.result === 'verified')!.conversation!.code, null);
          assert.deepEqual(await backend.exec('SELECT key FROM conversation WHERE code_hash IS NOT NULL'), []);
        });

        it('counts wrong codes down and stops at the limit', async function () {
          await startWithCode('456789', { attempts: 3 });
          assert.deepEqual([(await check('111111')).result, (await check('222222')).conversation!.code!.attemptsLeft], ['wrong', 1]);
          assert.equal((await check('333333')).result, 'too-many');
          assert.equal((await check('456789')).result, 'none', 'the right code after too many attempts is too late');
        });

        it('expires', async function () {
          await startWithCode('456789', { lifetimeMs: 1 });
          await sleep(5);
          assert.equal((await check('456789')).result, 'expired');
        });

        it('keeps only a salted hash of the code in the store', async function () {
          await startWithCode('456789');
          const dump = JSON.stringify(await backend.exec('SELECT * FROM conversation'));
          assert.ok(dump.includes('code'), 'the dump holds the conversation');
          assert.ok(!dump.includes('456789'));
        });

        it('gives a replayed code check the answer it got the first time', async function () {
          await startWithCode('456789');
          const first = await store.checkCode('otp', A, (hash, salt) => codeMatches('456789', hash, salt), 'node-1:sms-1');
          const again = await store.checkCode('otp', A, (hash, salt) => codeMatches('456789', hash, salt), 'node-1:sms-1');
          assert.deepEqual([first.result, again], ['verified', first]);
        });
      });
    });

    describe('send log and delivery reports', function () {
      const start = (customField: string, phone = A, body = 'Your order shipped') => ({
        customField, nodeId: 'send-1', account: 'account-1', phone, body, templateId: '1107000000000001', message: { payload: body, phone, order: { id: 7 } },
      });
      const report = (sid: string, status: string, extra: Partial<DeliveryReport> = {}): DeliveryReport => ({
        sid, to: A, status, delivery: status === 'sent' ? 'delivered' : status.startsWith('failed') ? 'failed' : 'pending',
        detailedStatus: status === 'sent' ? 'DELIVERED_TO_HANDSET' : 'PENDING_TO_OPERATOR', detailedStatusCode: status === 'sent' ? '20005' : '21010',
        dateSent: '2026-11-28T05:00:00.000Z', units: 2, customField: '', receivedAt: Date.now(), ...extra,
      });

      it('logs a send from its first attempt to Exotel\'s answer, once per CustomField, across a restart', async function () {
        await store.logSendStart(start('cf-1'));
        await store.logSendStart({ ...start('cf-1'), body: 'a retry changes nothing' });
        let entry = await store.sendLogEntry('cf-1');
        assert.deepEqual(
          entry && [entry.state, entry.sid, entry.body, entry.templateId, entry.message, entry.nodeId, entry.account, entry.phone, entry.delivery],
          ['sending', null, 'Your order shipped', '1107000000000001', { payload: 'Your order shipped', phone: A, order: { id: 7 } }, 'send-1', 'account-1', A, null],
        );
        await store.logSendAccepted('cf-1', 'sid-1', 'queued', 1);
        await restart();
        entry = await store.sendLogEntry('cf-1');
        assert.deepEqual(entry && [entry.state, entry.sid, entry.exotelStatus, entry.units], ['sent', 'sid-1', 'queued', 1]);
        assert.ok(entry && entry.createdAt <= entry.updatedAt && entry.reportedAt === null);
        await store.logSendStart(start('cf-2', B));
        await store.logSendFailed('cf-2', { code: 'http_400', message: 'bad number' });
        entry = await store.sendLogEntry('cf-2');
        assert.deepEqual(entry && [entry.state, entry.error], ['failed', { code: 'http_400', message: 'bad number' }]);
        assert.equal(await store.sendLogEntry('cf-none'), null);
      });

      it('marks a send sending and logs its first attempt together, and on its answer logs the SmsSid and empties the outbox together', async function () {
        const id = (await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { body: 'Your order shipped' }, message: {}, claimKey: null, confirmation: false }))!;
        await store.startSendAttempt(id, start('cf-1'));
        assert.deepEqual((await store.outboxEntries('send-1', 'sending')).map((e) => e.id), [id]);
        let entry = await store.sendLogEntry('cf-1');
        assert.deepEqual(entry && [entry.state, entry.sid, entry.body], ['sending', null, 'Your order shipped']);
        await store.startSendAttempt(id, null); // a second attempt: the outbox says so, the log is as it was
        await restart();
        assert.deepEqual((await store.outboxEntries('send-1', 'sending')).map((e) => e.id), [id], 'committed: a restart finds it sending');
        await store.finishSend(id, { customField: 'cf-1', sid: 'sid-1', exotelStatus: 'queued', units: 2 });
        entry = await store.sendLogEntry('cf-1');
        assert.deepEqual(entry && [entry.state, entry.sid, entry.exotelStatus, entry.units], ['sent', 'sid-1', 'queued', 2]);
        assert.deepEqual(await store.outboxEntries('send-1', 'sending'), []);
        const unlogged = (await store.addToOutbox({ nodeId: 'send-1', phone: B, request: { body: 'no log' }, message: {}, claimKey: null, confirmation: false }))!;
        await store.startSendAttempt(unlogged, null);
        await store.finishSend(unlogged, null);
        assert.equal(await store.outboxEntry(unlogged), null);
      });

      it('starts and finishes many sends at once, each as it would alone (a busy instance asks for them together)', async function () {
        const ids = await Promise.all([A, B, A, B].map(async (phone, i) => (await store.addToOutbox({ nodeId: 'send-1', phone, request: { body: `m${i}` }, message: {}, claimKey: null, confirmation: false }))!));
        // the first two logged on their first attempt, the others attempts without a log line
        await Promise.all(ids.map((id, i) => store.startSendAttempt(id, i < 2 ? { ...start(`cf-${i}`, i ? B : A), body: `m${i}` } : null)));
        assert.deepEqual((await store.outboxEntries('send-1', 'sending')).map((e) => e.id), [...ids].sort((a, b) => a - b));
        assert.deepEqual((await store.sendLogEntry('cf-1'))?.body, 'm1');
        await Promise.all([store.startSendAttempt(ids[0], start('cf-0')), store.startSendAttempt(ids[2], null)]); // again: the log is as it was
        assert.deepEqual([(await store.sendLogEntry('cf-0'))?.body, (await store.sendLogEntry('cf-0'))?.state], ['m0', 'sending']);
        await Promise.all(ids.map((id, i) => store.finishSend(id, i < 2 ? { customField: `cf-${i}`, sid: `sid-${i}`, exotelStatus: 'queued', units: i + 1 } : null)));
        assert.deepEqual(await store.outboxEntries('send-1', 'sending'), []);
        for (const i of [0, 1]) {
          const entry = await store.sendLogEntry(`cf-${i}`);
          assert.deepEqual(entry && [entry.state, entry.sid, entry.exotelStatus, entry.units, entry.phone], ['sent', `sid-${i}`, 'queued', i + 1, i ? B : A]);
        }
      });

      it('records each SmsSid and Status once, whichever instance it reaches, and hands each on until marked', async function () {
        const other = await open();
        await store.logSendStart(start('cf-1'));
        await store.logSendAccepted('cf-1', 'sid-1', 'queued', null);
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).recordDeliveryReport(report('sid-1', 'sent', { customField: 'cf-1' }))));
        assert.equal(results.filter((r) => r.isNew).length, 1);
        const entry = results.find((r) => r.isNew)!.entry!;
        assert.deepEqual([entry.delivery, entry.exotelStatus, entry.detail, entry.code, entry.units, entry.sid], ['delivered', 'sent', 'DELIVERED_TO_HANDSET', '20005', 2, 'sid-1']);
        assert.ok(entry.reportedAt !== null);
        assert.deepEqual((await store.recordDeliveryReport(report('sid-1', 'sent'))).isNew, false, 'a repeat');
        await other.close(); // whichever recorded it has stopped: the restarted instance hands it on
        await restart();
        const unhandled = await store.unhandledReports('send-1');
        assert.deepEqual(unhandled.map((r) => [r.report.sid, r.report.status, r.report.delivery, r.report.units, r.report.customField, r.entry?.message]), [
          ['sid-1', 'sent', 'delivered', 2, 'cf-1', { payload: 'Your order shipped', phone: A, order: { id: 7 } }],
        ]);
        assert.deepEqual(await store.unhandledReports('send-2'), [], 'another node\'s');
        await store.markReportHandled('sid-1', 'sent');
        assert.deepEqual(await store.unhandledReports('send-1'), []);
        assert.deepEqual(await (await open()).unhandledReports('send-1'), [], 'nor to another instance');
      });

      it('finds the reports calls recorded by their keys (their answers lost), with their sends, until handed on', async function () {
        await store.logSendStart(start('cf-1'));
        await store.logSendAccepted('cf-1', 'sid-1', 'queued', null);
        await store.recordDeliveryReport(report('sid-1', 'sent', { customField: 'cf-1' }), 'record-a');
        await store.recordDeliveryReport(report('sid-1', 'delivered', { customField: 'cf-1', receivedAt: Date.now() + 1 }), 'record-b');
        assert.equal((await store.recordDeliveryReport(report('sid-1', 'sent', { customField: 'cf-1' }), 'record-c')).isNew, false, 'Exotel\'s retry');
        const asked = [
          { sid: 'sid-1', status: 'delivered', attempt: 'record-b' },
          { sid: 'sid-1', status: 'sent', attempt: 'record-a' },
          { sid: 'sid-1', status: 'sent', attempt: 'record-c' },
          { sid: 'sid-1', status: 'failed', attempt: 'record-a' },
        ];
        const found = await store.recordedReports(asked);
        assert.deepEqual(found.map((r) => [r.report.sid, r.report.status, r.entry?.customField, r.entry?.message]), [
          ['sid-1', 'sent', 'cf-1', { payload: 'Your order shipped', phone: A, order: { id: 7 } }],
          ['sid-1', 'delivered', 'cf-1', { payload: 'Your order shipped', phone: A, order: { id: 7 } }],
        ], 'what each key recorded, oldest first; the retry recorded nothing');
        await store.markReportHandled('sid-1', 'sent');
        assert.deepEqual((await store.recordedReports(asked)).map((r) => r.report.status), ['delivered'], 'not once handed on');
        assert.deepEqual(await store.recordedReports([]), []);
      });

      it('finds a send whose answer was lost by its CustomField, and gives it the report\'s SmsSid', async function () {
        await store.logSendStart(start('cf-lost'));
        const { isNew, entry } = await store.recordDeliveryReport(report('sid-9', 'failed_dnd', { customField: 'cf-lost', units: null }));
        assert.equal(isNew, true);
        assert.deepEqual(entry && [entry.sid, entry.state, entry.delivery, entry.units], ['sid-9', 'sending', 'failed', null]);
        await store.logSendAccepted('cf-lost', 'sid-9', 'queued', 1);
        const after = await store.sendLogEntry('cf-lost');
        assert.deepEqual(after && [after.state, after.exotelStatus, after.delivery, after.units], ['sent', 'failed_dnd', 'failed', 1], 'the late answer keeps the report\'s status');
      });

      it('never sets a final delivery back to pending, and keeps a report of a send it does not know without handing it on', async function () {
        await store.logSendStart(start('cf-1'));
        await store.logSendAccepted('cf-1', 'sid-1', 'queued', 1);
        await store.recordDeliveryReport(report('sid-1', 'sent'));
        const { entry } = await store.recordDeliveryReport(report('sid-1', 'submitted', { receivedAt: Date.now() + 1 }));
        assert.deepEqual(entry && [entry.delivery, entry.exotelStatus], ['delivered', 'submitted']);
        const unknown = await store.recordDeliveryReport(report('sid-stranger', 'sent', { customField: 'not-ours' }));
        assert.deepEqual(unknown, { isNew: true, entry: null });
        assert.equal((await store.recordDeliveryReport(report('sid-stranger', 'sent'))).isNew, false);
        assert.deepEqual((await store.unhandledReports('send-1')).map((r) => r.report.status), ['sent', 'submitted']);
      });

      it('deletes sends and reports older than the retention period, and nothing else', async function () {
        await store.logSendStart(start('cf-old'));
        await store.logSendAccepted('cf-old', 'sid-old', 'queued', 1);
        await store.recordDeliveryReport(report('sid-old', 'sent', { receivedAt: Date.now() - 200 * 24 * HOUR }));
        await store.logSendStart(start('cf-new'));
        await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
        await backend.exec(`UPDATE send_log SET created_at = ${Date.now() - 200 * 24 * HOUR} WHERE custom_field = 'cf-old'`);
        assert.equal(await store.purgeSendLog(Date.now() - 180 * 24 * HOUR), 1);
        assert.equal(await store.sendLogEntry('cf-old'), null);
        assert.notEqual(await store.sendLogEntry('cf-new'), null);
        assert.deepEqual(await store.unhandledReports('send-1'), []);
        assert.equal((await store.optOutHistory(A)).length, 1, 'the opt-out history is never purged');
      });
    });

    describe('sandbox threads', function () {
      it('keeps each number\'s thread, most recent thread first, shared between instances', async function () {
        const other = await open();
        const message = (phone: string, direction: 'out' | 'in', body: string, at: number) => ({
          account: 'sandbox-1', phone, direction, body, sid: `sid-${at}`, status: direction === 'out' ? 'sent' : 'received', detail: null, segments: 1, encoding: 'GSM-7', at,
        });
        const sent = await store.addSandboxMessage(message(A, 'out', 'Reply YES', 1));
        await other.addSandboxMessage(message(A, 'in', 'YES', 2));
        await store.addSandboxMessage(message(B, 'out', 'Hello', 3));
        await store.addSandboxMessage({ ...message(A, 'in', 'other account', 4), account: 'sandbox-2' });
        assert.equal(typeof sent.id, 'number');
        const threads = await other.sandboxThreads('sandbox-1');
        assert.deepEqual(threads.map((t) => [t.phone, t.count, t.last.body]), [[B, 1, 'Hello'], [A, 2, 'YES']]);
        assert.deepEqual((await store.sandboxThread('sandbox-1', A)).map((m) => [m.direction, m.body]), [['out', 'Reply YES'], ['in', 'YES']]);
        assert.deepEqual((await store.sandboxThread('sandbox-1', A, 1)).map((m) => m.body), ['YES'], 'the last one');
        const updated = await other.updateSandboxMessage(sent.id, 'rejected', 'unknown keyword');
        assert.deepEqual(updated, { ...sent, status: 'rejected', detail: 'unknown keyword' });
        assert.equal(await store.updateSandboxMessage(sent.id + 1000, 'x', null), null);
        assert.equal(await store.clearSandboxThread('sandbox-1', A), 2);
        assert.deepEqual((await other.sandboxThreads('sandbox-1')).map((t) => t.phone), [B]);
      });
    });

    operatorsContract(backend, { store: () => store, open });
  });
}
