// The store's side of a customer's SMS in arrival order across instances: an SMS is handed on only
// when the earlier ones of its number are done (or held their hold, or died with their instance and
// were taken over), whichever instance recorded them; other numbers never wait.
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store';
import { instancesOnOneDatabase } from '../store/pg-database';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CUSTOMER = '+919876543210';
const sms = (sid: string, from = CUSTOMER) => ({ sid, from, to: '+918012345678', body: 'YES', receivedAt: '2026-11-28 10:00:00', accountSid: 'acct1', endpoint: '/sms' });
const HOLD = 5_000;

/** Resolves with the order in which the turns were given. */
function recorder() {
  const order: string[] = [];
  return {
    order,
    take: (store: PostgresStore, record: ReturnType<typeof sms>, holdMs = HOLD) =>
      store.takeInboundTurn(record, holdMs).then(() => {
        order.push(record.sid);
      }),
  };
}

describe('cluster: a customer’s SMS in arrival order across instances', function () {
  this.timeout(30_000);
  const { open, database } = instancesOnOneDatabase();

  it('hands on the second SMS, recorded by another instance, only once the first is done', async () => {
    const a = await open();
    const b = await open();
    const turns = recorder();
    assert.equal(await a.recordInbound(sms('SM1')), true);
    assert.equal(await b.recordInbound(sms('SM2')), true);
    const second = turns.take(b, sms('SM2'));
    await sleep(300);
    assert.deepEqual(turns.order, [], 'the second waits for the first, which its instance has not handed on yet');
    await turns.take(a, sms('SM1'));
    await sleep(300);
    assert.deepEqual(turns.order, ['SM1'], 'while the first is in the flow, the second waits');
    a.finishInboundTurn(sms('SM1'));
    const finishedAt = Date.now();
    await second;
    assert.deepEqual(turns.order, ['SM1', 'SM2']);
    assert.ok(Date.now() - finishedAt < 1_000, `the second goes soon after the first is done (${Date.now() - finishedAt} ms)`);
  });

  it('keeps three SMS of one customer in order on one instance, and lets another customer go at once', async () => {
    const a = await open();
    const turns = recorder();
    for (const sid of ['SM1', 'SM2', 'SM3']) await a.recordInbound(sms(sid));
    await a.recordInbound(sms('SMX', '+919876500000'));
    const all = Promise.all([turns.take(a, sms('SM3')), turns.take(a, sms('SM2')), turns.take(a, sms('SM1')), turns.take(a, sms('SMX', '+919876500000'))]);
    await sleep(300);
    assert.deepEqual(turns.order.slice().sort(), ['SM1', 'SMX'], 'the first of each customer goes, in whatever order they were asked');
    a.finishInboundTurn(sms('SM1'));
    await sleep(300);
    assert.deepEqual(turns.order.filter((s) => s !== 'SMX'), ['SM1', 'SM2']);
    a.finishInboundTurn(sms('SM2'));
    await all;
    assert.deepEqual(turns.order.filter((s) => s !== 'SMX'), ['SM1', 'SM2', 'SM3']);
  });

  it('lets the next one go after the hold when the flow never says it is done, and after the handled mark', async () => {
    const a = await open();
    const b = await open();
    const turns = recorder();
    for (const sid of ['SM1', 'SM2', 'SM3']) await a.recordInbound(sms(sid));
    await turns.take(a, sms('SM1'), 800);
    const t0 = Date.now();
    await turns.take(b, sms('SM2'), 800);
    const waited = Date.now() - t0;
    assert.ok(waited >= 600 && waited < 3_000, `held about the hold (${waited} ms)`);
    const third = turns.take(a, sms('SM3'), 60_000);
    await sleep(300);
    assert.deepEqual(turns.order, ['SM1', 'SM2']);
    await b.markInboundHandled(['SM1', 'SM2']);
    const markedAt = Date.now();
    await third;
    assert.ok(Date.now() - markedAt < 1_000, `goes soon after the mark (${Date.now() - markedAt} ms)`);
    assert.deepEqual(turns.order, ['SM1', 'SM2', 'SM3'], 'an SMS marked handled holds nothing back');
  });

  it('waits for an earlier SMS whose instance died before handing it on, until another takes it over', async () => {
    const a = await open();
    const b = await open();
    const turns = recorder();
    await a.recordInbound(sms('SM1'));
    await b.recordInbound(sms('SM2'));
    await a.db.close(); // kill -9: SM1 was acknowledged, never handed on
    const second = turns.take(b, sms('SM2'));
    await sleep(1_200);
    assert.deepEqual(turns.order, [], 'the lease ran out, but SM1 is still to be handed on: SM2 waits');
    const taken = await b.takeOverInbound('/sms');
    assert.deepEqual(taken.map((r) => r.sid), ['SM1']);
    await turns.take(b, sms('SM1'));
    b.finishInboundTurn(sms('SM1'));
    await second;
    assert.deepEqual(turns.order, ['SM1', 'SM2']);
  });

  it('gives one customer’s turn to one SMS at a time when both instances ask at the same moment', async () => {
    const a = await open();
    const b = await open();
    const turns = recorder();
    const sids = Array.from({ length: 8 }, (_, i) => `SM${i}`);
    for (const [i, sid] of sids.entries()) await (i % 2 ? b : a).recordInbound(sms(sid));
    let inFlow = 0;
    let most = 0;
    await Promise.all(
      sids.map(async (sid, i) => {
        const store = i % 2 ? b : a;
        await turns.take(store, sms(sid));
        inFlow++;
        most = Math.max(most, inFlow);
        await sleep(30);
        inFlow--;
        store.finishInboundTurn(sms(sid));
      }),
    );
    assert.equal(most, 1, 'never two of one customer in the flow');
    assert.deepEqual(turns.order, sids, 'in the order they were recorded');
  });
});
