// Two real Node-RED processes on one PostgreSQL database, running example 06 live against a mock
// Exotel: what a customer sees must not depend on which instance a callback reaches.
import assert from 'node:assert/strict';
import { TestCluster, HOOK } from '../support/cluster';
import { DrillExotel } from '../support/drill-exotel';
import { postCallback, settle, until } from '../support/drills';


const TOKEN = 'cluster-hook-7d21';
const ACCOUNT = 'clusteracct';
let next = 0;
const sid = (tag: string) => `${tag}${Date.now().toString(16)}${(next++).toString(16).padStart(6, '0')}`;
const local = (phone: string) => `0${phone.slice(3)}`;
const fields = (smsSid: string, phone: string, body: string) => ({ SmsSid: smsSid, From: local(phone), To: '08047123456', Body: body, DateCreated: '2026-11-28 10:30:00', AccountSid: ACCOUNT });

describe('cluster: two Node-RED instances on one PostgreSQL', function () {
  this.timeout(120_000);
  let mock: DrillExotel;
  let cluster: TestCluster;
  const to = (phone: string) => mock.received.filter((r) => r.to === phone && r.answered === 200).map((r) => r.body);
  const post = async (i: number, smsSid: string, phone: string, body: string) => {
    const res = await postCallback(cluster.reds[i].baseUrl, HOOK, TOKEN, fields(smsSid, phone, body));
    return res.status;
  };
  const quiet = () => settle(() => mock.received.length, { quietMs: 1_500, timeoutMs: 60_000 });

  before(async () => {
    mock = await new DrillExotel({ decide: () => ({ delayMs: 20 }) }).start();
    cluster = await TestCluster.start({ mockUrl: mock.url, instances: 2, token: TOKEN, accountSid: ACCOUNT, rateLimit: 1_000, leaseMs: 3_000, label: 'cluster2', exotelSms: { replayWindowMs: 15_000 } });
  });
  after(async () => {
    await cluster?.stop();
    await mock?.stop();
  });

  it('handles one SmsSid once, however often and to whichever instances it is posted', async () => {
    const phone = '+919810000001';
    const smsSid = sid('dup');
    const statuses = await Promise.all([0, 1, 0, 1, 0, 1].map((i) => post(i, smsSid, phone, 'ORDER')));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    await quiet();
    assert.deepEqual(to(phone), ['Please reply with your order ID.']);
  });

  it('shares a conversation: the question asked by one instance is understood by the other', async () => {
    const phone = '+919810000002';
    assert.equal(await post(0, sid('ord'), phone, 'ORDER'), 200);
    await until(() => to(phone).length === 1, 20_000, 'the question');
    assert.equal(await post(1, sid('oid'), phone, 'A-7781'), 200);
    await until(() => to(phone).length === 2, 20_000, 'the answer');
    assert.deepEqual(to(phone), ['Please reply with your order ID.', 'Your order A-7781 status: Shipped. Expected delivery: Jan 22.']);
  });

  it('hands one customer’s replies to the flow in arrival order, whichever instance receives each', async () => {
    // ORDER to one instance and, as soon as it is acknowledged, the order ID to the other: the ID must
    // find the conversation ORDER started (out of order it gets "did not understand" and ORDER asks again)
    const phones = Array.from({ length: 12 }, (_, i) => `+91984000${String(i).padStart(4, '0')}`);
    const statuses = await Promise.all(
      phones.map(async (phone, i) => [await post(i % 2, sid('ord'), phone, 'ORDER'), await post((i + 1) % 2, sid('oid'), phone, `C-${i}`)]),
    );
    assert.deepEqual(statuses.flat(), phones.flatMap(() => [200, 200]));
    await until(() => phones.every((p) => to(p).length >= 2), 30_000, 'two answers each');
    await quiet();
    for (const [i, phone] of phones.entries()) {
      assert.deepEqual(to(phone), ['Please reply with your order ID.', `Your order C-${i} status: Shipped. Expected delivery: Jan 22.`], `${phone}: the question, then the status`);
    }
  });

  it('an opt-out on one instance stops the other’s next send at once, and confirms once across the cluster', async () => {
    const phone = '+919810000003';
    // STOP twice (two SMS, two SmsSids) on both instances at once: one confirmation
    assert.deepEqual(await Promise.all([post(0, sid('stp'), phone, 'STOP'), post(1, sid('stp'), phone, 'STOP')]), [200, 200]);
    // the next SMS, to the other instance right after the acknowledgement: its answer is not sent
    assert.equal(await post(1, sid('ord'), phone, 'ORDER'), 200);
    assert.equal(await post(0, sid('ord'), phone, 'ORDER'), 200);
    await quiet();
    const sent = to(phone);
    assert.equal(sent.filter((b) => /unsubscribed from ExampleStore/.test(b)).length, 1, `one confirmation: ${JSON.stringify(sent)}`);
    assert.deepEqual(sent.filter((b) => !/unsubscribed/.test(b)), [], 'nothing else to an opted-out number');
  });

  it('kill -9 of one instance: the other hands on what it had acknowledged but not finished, after the lease, once', async () => {
    const phones = Array.from({ length: 10 }, (_, i) => `+91982000${String(i).padStart(4, '0')}`);
    // the SMS is in the store (200) but the flow never runs: the instance dies right after the acknowledgement
    const victim = cluster.reds[0];
    const acks = await Promise.all(phones.map((phone) => post(0, sid('kil'), phone, 'ORDER')));
    assert.deepEqual(acks, phones.map(() => 200));
    const killedAt = Date.now();
    await victim.kill9();
    await until(() => phones.every((p) => to(p).length >= 1), 30_000, 'every acknowledged SMS to be answered');
    const tookMs = Date.now() - killedAt;
    await quiet();
    for (const phone of phones) assert.deepEqual(to(phone), ['Please reply with your order ID.'], `${phone}: answered once`);
    assert.ok(tookMs <= 30_000, `taken over within 30 s (${tookMs} ms)`);
    // the survivor did take the dead one's work over (its unfinished SMS, or the sends it had queued)
    const survivorLog = cluster.reds[1].log();
    const took = /handing on (\d+) SMS that another instance|sending (\d+) SMS that another instance had queued/.exec(survivorLog);
    assert.ok(took, `the survivor took over: ${survivorLog.split('\n').filter((l) => /another instance/.test(l)).join(' | ')}`);
    // the conversations it started are the survivor's to continue
    assert.equal(await post(1, sid('oid'), phones[0], 'B-1'), 200);
    await until(() => to(phones[0]).length === 2, 20_000, 'the answer from the survivor');
  });
});

describe('cluster: the account’s rate limit is one for both instances', function () {
  this.timeout(120_000);
  let mock: DrillExotel;
  let cluster: TestCluster;

  before(async () => {
    mock = await new DrillExotel({ decide: () => ({ delayMs: 10 }) }).start();
    cluster = await TestCluster.start({ mockUrl: mock.url, instances: 2, token: TOKEN, accountSid: ACCOUNT, rateLimit: 20, leaseMs: 3_000, label: 'cluster-rate' });
  });
  after(async () => {
    await cluster?.stop();
    await mock?.stop();
  });

  it('sends at most the limit in a minute whichever instance sends, and holds the rest in the outbox', async () => {
    const phones = Array.from({ length: 40 }, (_, i) => `+91983000${String(i).padStart(4, '0')}`);
    const statuses = await Promise.all(phones.map((phone, i) => postCallback(cluster.reds[i % 2].baseUrl, HOOK, TOKEN, fields(sid('rt'), phone, 'ORDER')).then((r) => r.status)));
    assert.deepEqual(statuses, phones.map(() => 200));
    await until(() => mock.received.length >= 20, 30_000, 'the first 20 sends');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal(mock.received.length, 20, 'two instances of 20 a minute each would have sent 40');
    const queued = await cluster.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE state = 'queued'");
    assert.equal(queued[0].n, 20, 'the rest wait in the outbox, not lost');
  });
});
