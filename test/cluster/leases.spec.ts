// The store's side of several instances: leases, the take-over of a dead instance's work (each row
// by one instance), and one rate-limit window for all of them.
import assert from 'node:assert/strict';
import { PostgresStore, StoreUnavailableError } from '../../src/store';
import { SharedRateLimiter } from '../../src/nodes/exotel-account/shared-limiter';
import { instancesOnOneDatabase } from '../store/pg-database';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inbound = (sid: string) => ({ sid, from: '+919876543210', to: '+918012345678', body: 'YES', receivedAt: '2026-11-28 10:00:00', accountSid: 'acct1', endpoint: '/sms' });

describe('cluster: leases and take-over on PostgreSQL', function () {
  this.timeout(30_000);
  const { open, database } = instancesOnOneDatabase();
  /** kill -9 as the database sees it: the connections go, the lease is never given back, only runs out. */
  const die = async (store: PostgresStore) => {
    await store.db.close();
  };

  it('leaves a live instance’s unfinished SMS and sends alone, and takes a dead one’s over after its lease, once', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    await a.recordInbound(inbound('SM1'));
    await a.recordInbound(inbound('SM2'));
    await a.markInboundHandled(['SM1']);
    const first = await a.addToOutbox({ nodeId: 'send-1', phone: '+919876543210', request: { body: 'one' }, message: {}, claimKey: null, confirmation: false });
    const second = await a.addToOutbox({ nodeId: 'send-1', phone: '+919876543210', request: { body: 'two' }, message: {}, claimKey: null, confirmation: false });
    await sleep(900);
    assert.deepEqual(await b.takeOverInbound('/sms'), [], 'a renews its lease: its work stays its own');
    assert.deepEqual(await b.takeOverOutbox('send-1'), []);
    await die(a);
    await sleep(300);
    assert.deepEqual(await b.takeOverInbound('/sms'), [], 'not before the lease ran out');
    await sleep(700);
    const [inB, inC] = await Promise.all([b.takeOverInbound('/sms'), c.takeOverInbound('/sms')]);
    assert.deepEqual([...inB, ...inC].map((r) => r.sid), ['SM2'], 'the unfinished SMS, to one instance');
    const [outB, outC] = await Promise.all([b.takeOverOutbox('send-1'), c.takeOverOutbox('send-1')]);
    const taken = [...outB, ...outC];
    assert.deepEqual(taken.map((e) => e.id), [first, second], 'the queued sends, in order, to one instance');
    assert.ok(outB.length === 0 || outC.length === 0, 'one instance takes them all');
    assert.deepEqual(await b.takeOverInbound('/sms'), [], 'nothing is taken over twice');
    assert.deepEqual(await c.takeOverOutbox('send-1'), []);
  });

  it('leaves a live instance’s unhandled delivery reports alone, and hands a dead one’s on once, at a start or while running', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const report = (sid: string, status: string) => ({
      sid, to: '+919876543210', status, delivery: 'delivered' as const, detailedStatus: 'DELIVERED_TO_HANDSET', detailedStatusCode: '20005',
      dateSent: '', units: 1, customField: '', receivedAt: Date.now(),
    });
    for (const n of [1, 2]) {
      await a.logSendStart({ customField: `cf-${n}`, nodeId: 'send-1', account: 'acct1', phone: '+919876543210', body: `one ${n}`, templateId: null, message: { payload: `one ${n}` } });
      await a.logSendAccepted(`cf-${n}`, `SM${n}`, 'queued', 1);
    }
    await a.recordDeliveryReport(report('SM1', 'sent'));
    await a.recordDeliveryReport(report('SM2', 'sent'));
    await b.recordDeliveryReport(report('SM1', 'failed'));
    await sleep(900);
    assert.deepEqual(await b.takeOverReports('send-1'), [], 'a renews its lease: its reports stay its own');
    assert.deepEqual((await b.unhandledReports('send-1')).map((r) => [r.report.sid, r.report.status]), [['SM1', 'failed']], 'a start hands on its own, not a live one’s');
    await b.markReportHandled('SM1', 'failed');
    await die(a);
    await sleep(300);
    assert.deepEqual(await c.takeOverReports('send-1'), [], 'not before the lease ran out');
    await sleep(700);
    const [atStart, running] = await Promise.all([b.unhandledReports('send-1'), c.takeOverReports('send-1')]);
    const taken = [...atStart, ...running];
    assert.deepEqual(taken.map((r) => [r.report.sid, r.report.status, r.entry?.message]).sort(), [['SM1', 'sent', { payload: 'one 1' }], ['SM2', 'sent', { payload: 'one 2' }]], 'each to one instance');
    assert.deepEqual([...(await b.takeOverReports('send-1')), ...(await c.takeOverReports('send-1'))], [], 'nothing is taken over twice');
  });

  it('answers a take-over claim asked again with the key of one whose answer was lost: what that one took, to no other key', async () => {
    const a = await open();
    const b = await open();
    await a.recordInbound(inbound('SM1'));
    const id = await a.addToOutbox({ nodeId: 'send-1', phone: '+919876543210', request: { body: 'one' }, message: {}, claimKey: null, confirmation: false });
    await a.logSendStart({ customField: 'cf-1', nodeId: 'send-1', account: 'acct1', phone: '+919876543210', body: 'one', templateId: null, message: { payload: 'one' } });
    await a.logSendAccepted('cf-1', 'SM1', 'queued', 1);
    await a.recordDeliveryReport({ sid: 'SM1', to: '+919876543210', status: 'sent', delivery: 'delivered', detailedStatus: '', detailedStatusCode: '', dateSent: '', units: 1, customField: '', receivedAt: Date.now() });
    await a.close();
    const taken = async (key?: string) => ({
      inbound: (await b.takeOverInbound('/sms', key)).map((r) => r.sid),
      outbox: (await b.takeOverOutbox('send-1', key)).map((e) => e.id),
      reports: (await b.takeOverReports('send-1', key)).map((r) => [r.report.sid, r.report.status, r.entry?.message]),
    });
    const all = { inbound: ['SM1'], outbox: [id], reports: [['SM1', 'sent', { payload: 'one' }]] };
    const none = { inbound: [], outbox: [], reports: [] };
    assert.deepEqual(await taken('claim-1'), all, 'taken over by b; say the answer was lost');
    assert.deepEqual(await taken('claim-1'), all, 'the same key again: the same rows');
    assert.deepEqual(await taken('claim-2'), none, 'another key: nothing (they are b’s, and b lives)');
    assert.deepEqual(await taken(), none);
    const c = await open();
    assert.deepEqual([await c.takeOverOutbox('send-1', 'claim-1'), await c.takeOverReports('send-1', 'claim-1'), await c.takeOverInbound('/sms', 'claim-1')], [[], [], []], 'the key is b’s own');
  });

  it('finds a report a call recorded (its answer lost) only while it is the recorder’s, and not once a start read it', async () => {
    const a = await open();
    const b = await open();
    const report = (sid: string) => ({
      sid, to: '+919876543210', status: 'sent', delivery: 'delivered' as const, detailedStatus: '', detailedStatusCode: '', dateSent: '', units: 1, customField: '', receivedAt: Date.now(),
    });
    for (const n of [1, 2]) {
      await a.logSendStart({ customField: `cf-${n}`, nodeId: 'send-1', account: 'acct1', phone: '+919876543210', body: `one ${n}`, templateId: null, message: { payload: `one ${n}` } });
      await a.logSendAccepted(`cf-${n}`, `SM${n}`, 'queued', 1);
      await a.recordDeliveryReport(report(`SM${n}`), `record-${n}`);
    }
    const asked = [1, 2].map((n) => ({ sid: `SM${n}`, status: 'sent', attempt: `record-${n}` }));
    assert.deepEqual(await b.recordedReports(asked), [], 'another instance’s');
    assert.deepEqual((await a.recordedReports(asked)).map((r) => [r.report.sid, r.entry?.message]), [['SM1', { payload: 'one 1' }], ['SM2', { payload: 'one 2' }]]);
    assert.equal((await a.unhandledReports('send-1')).length, 2, 'a send node’s start hands them on');
    assert.deepEqual(await a.recordedReports(asked), [], 'so the receiver does not');
  });

  it('hands a cleanly stopped instance’s work on at once', async () => {
    const a = await open();
    const b = await open();
    await a.recordInbound(inbound('SM9'));
    await a.close();
    assert.deepEqual((await b.takeOverInbound('/sms')).map((r) => r.sid), ['SM9']);
  });

  it('gives a number’s opt-out confirmation again when the instance that claimed it died before queuing it, once', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const phone = '+919876543210';
    await a.setOptStatus({ phone, status: 'opted-out', keyword: 'STOP', source: 'SM1' });
    assert.equal(await a.claimOptOutConfirmation(phone, 600_000), true);
    assert.equal(await b.claimOptOutConfirmation(phone, 600_000), false, 'a live instance holds it');
    await die(a); // between the claim and the outbox: the STOP is handed on again by another instance
    assert.equal(await b.claimOptOutConfirmation(phone, 600_000), false, 'not before the lease ran out');
    await sleep(1_000);
    const claims = await Promise.all([b.claimOptOutConfirmation(phone, 600_000), c.claimOptOutConfirmation(phone, 600_000)]);
    assert.deepEqual(claims.sort(), [false, true], 'taken again by one instance');
    const holder = claims[0] ? b : c;
    assert.notEqual(await holder.addToOutbox({ nodeId: 'send-1', phone, request: { body: 'unsubscribed' }, message: {}, claimKey: 'SM1>' + phone, confirmation: true }), null);
    await holder.close(); // it stops with the confirmation queued: the outbox entry is taken over, the claim is not given again
    const other = holder === b ? c : b;
    assert.equal(await other.claimOptOutConfirmation(phone, 600_000), false, 'a queued confirmation is never claimed twice');
    assert.equal((await other.takeOverOutbox('send-1')).length, 1, 'it is sent by the instance that takes the outbox over');
  });

  it('keeps the account’s rate limit for all instances together: never more than the limit in a window', async () => {
    const a = await open();
    const b = await open();
    const turns = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).takeRateSlot('acct1', 5, 1_000)));
    const slots = turns.filter((t): t is { slot: number } => 'slot' in t);
    assert.equal(slots.length, 5);
    for (const t of turns) if ('waitMs' in t) assert.ok(t.waitMs > 0 && t.waitMs <= 1_000);
    assert.ok('slot' in (await a.takeRateSlot('acct2', 5, 1_000)), 'another account has its own limit');
    await a.endRateSlot(slots[0].slot, false);
    assert.ok('slot' in (await b.takeRateSlot('acct1', 5, 1_000)), 'a request that never left gives its slot back at once');
    for (const s of slots.slice(1)) await b.endRateSlot(s.slot, true);
    assert.ok('waitMs' in (await a.takeRateSlot('acct1', 5, 1_000)), 'a request that left holds its slot a window after it ended');
    await sleep(1_100);
    const later = await Promise.all(Array.from({ length: 5 }, () => a.takeRateSlot('acct1', 5, 1_000)));
    assert.equal(later.filter((t) => 'slot' in t).length, 4, 'freed a window later (one is still in flight)');
    // the sends waiting on an instance take their slots together, a fair share of what is free
    const many = await a.takeRateSlots('acct3', 10, 1_000, 50);
    assert.equal(many.slots.length, 5, 'half of the 10 free slots: two instances are live');
    assert.equal(new Set(many.slots).size, 5);
    assert.equal((await b.takeRateSlots('acct3', 10, 1_000, 50)).slots.length, 3, 'half of the 5 left, rounded up');
    assert.equal((await b.takeRateSlots('acct3', 10, 1_000, 1)).slots.length, 1);
    const none = await a.takeRateSlots('acct3', 10, 1_000, 50);
    assert.deepEqual(none.slots.length, 1, 'the last one');
    const full = await a.takeRateSlots('acct3', 10, 1_000, 50);
    assert.deepEqual(full.slots, []);
    assert.ok(full.waitMs > 0 && full.waitMs <= 1_000);
  });

  it('counts the slots of a question whose answer was lost once: asked again with its key, the window grants what it really has free', async () => {
    const a = await open();
    // committed, but its answer never arrived: nobody was granted these
    assert.equal((await a.takeRateSlots('acct1', 10, 60_000, 10, 'question-1')).slots.length, 10);
    const again = await a.takeRateSlots('acct1', 10, 60_000, 10, 'question-1');
    assert.equal(again.slots.length, 10, 'the lost batch is given back, not held for the window and five minutes more');
    assert.equal((await a.takeRateSlots('acct1', 10, 60_000, 10, 'question-2')).slots.length, 0, 'the answered batch is held: the window is full');
    const b = await open();
    assert.equal((await b.takeRateSlots('acct1', 10, 60_000, 10, 'question-1')).slots.length, 0, 'another instance’s key gives back nothing of this one’s');
  });

  it('sends waiting for the account’s rate limit go on at once after a question whose answer was lost, not minutes later', async () => {
    const a = await open();
    let lost = false;
    const window = {
      takeRateSlots: async (...args: Parameters<PostgresStore['takeRateSlots']>) => {
        const turn = await a.takeRateSlots(...args);
        if (lost) return turn;
        lost = true; // PostgreSQL committed; the connection dropped before its answer arrived
        throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
      },
      endRateSlot: (slot: number, sent: boolean) => a.endRateSlot(slot, sent),
    };
    const limiter = new SharedRateLimiter(window, 'acct1', 5, 100);
    const sends = Promise.all(Array.from({ length: 5 }, () => limiter.acquire()));
    const releases = await Promise.race([sends, sleep(5_000).then(() => null)]);
    limiter.close();
    await sends.catch(() => undefined);
    assert.ok(lost);
    assert.ok(releases, 'the five sends still wait for the rate limit five seconds after the blip');
    for (const release of releases) release();
    const b = await open();
    assert.ok('waitMs' in (await b.takeRateSlot('acct1', 5, 60_000)), 'the five sent are held a window, once: the limit holds');
  });
});
