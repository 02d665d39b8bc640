// Drill "Cluster" (issue 11): two Node-RED instances on one PostgreSQL behind a round-robin "load
// balancer" (callbacks posted to each in turn); kill -9 one in the middle of the burst. Then "Exotel"
// retries every callback that got no 200, to the survivor. Every acknowledged callback is handled
// once, the survivor takes the dead one's unfinished work over within 30 s, nothing is sent twice,
// nothing reaches an opted-out number but its one confirmation, and the account's rate limit holds
// in every 60-second window.
import assert from 'node:assert/strict';
import http from 'node:http';
import { TestCluster, HOOK } from '../support/cluster';
import { DrillExotel } from '../support/drill-exotel';
import { prng, seedFromEnv, smsSid, indianMobile, runPool, settle, postCallback, checkCompliance, seconds } from '../support/drills';

const SEED = seedFromEnv(1101);
const CUSTOMERS = 150;
const KILL_AFTER = 70;
const CONCURRENCY = 10;
const RATE_LIMIT = 100;
const LEASE_MS = 10_000;
const TOKEN = 'cluster-drill-hook-5e0a';
const ACCOUNT_SID = 'clusterdrill';
const ASK_ID = 'Please reply with your order ID.';
const CONFIRMATION = /unsubscribed from ExampleStore/;


/** The most requests in any window of `windowMs` (ends inclusive). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('drill: cluster — two instances on one PostgreSQL, kill -9 one in the middle of a burst', function () {
  this.timeout(600_000);
  const random = prng(SEED);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => {
    const phone = indianMobile(1_100_000 + i);
    const kind = i % 3 === 0 ? 'stop' : 'order';
    return { i, phone, kind, sid: smsSid(random) as string, body: kind === 'stop' ? 'STOP' : 'ORDER' };
  });
  const fields = (c: { sid: string; phone: string; body: string }) => ({
    SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: c.body, DateCreated: '2026-11-28 10:30:00', AccountSid: ACCOUNT_SID,
  });

  let mock: DrillExotel;
  let cluster: TestCluster;
  const figures: Record<string, unknown> = {};
  const acked = new Set<string>();
  let takeOverMs = Infinity;
  let helpSince = 0;

  before(async () => {
    const latency = prng(SEED + 1);
    mock = await new DrillExotel({ decide: () => ({ delayMs: 20 + Math.floor(latency() * 40) }) }).start();
    cluster = await TestCluster.start({
      mockUrl: mock.url, instances: 2, token: TOKEN, accountSid: ACCOUNT_SID, rateLimit: RATE_LIMIT, leaseMs: LEASE_MS, label: 'cluster-drill',
      exotelSms: { replayWindowMs: 2_000 },
    });
    const [a, b] = cluster.reds;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    // 1. the burst, round robin; kill -9 instance A once KILL_AFTER callbacks have their 200
    const outcomes: Record<string, number> = {};
    let killing: Promise<unknown> | null = null;
    let killedAt = 0;
    const started = Date.now();
    await runPool(customers, CONCURRENCY, async (c: (typeof customers)[number], i: number) => {
      const red = i % 2 === 0 ? a : b;
      if (red === a && killing) return;
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      const key = String(res.status ?? res.error);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (res.status === 200) acked.add(c.sid);
      if (acked.size >= KILL_AFTER && !killing) {
        killedAt = Date.now();
        killing = a.kill9();
      }
    });
    await killing;
    figures.burst = { outcomes, acked: acked.size, ms: Date.now() - started };

    // 2. the survivor takes over: nothing of the dead instance's is left unfinished, within the lease and a few seconds
    const orphans = async () =>
      (
        await cluster.query<{ n: number }>(
          `SELECT ((SELECT count(*) FROM inbound t WHERE NOT handled AND NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = t.owner AND i.lease_until > (extract(epoch from clock_timestamp()) * 1000)::bigint))
                + (SELECT count(*) FROM outbox t WHERE state = 'queued' AND NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = t.owner AND i.lease_until > (extract(epoch from clock_timestamp()) * 1000)::bigint)))::int AS n`,
        )
      )[0].n;
    while (Date.now() - killedAt < 60_000) {
      if ((await orphans()) === 0 && Date.now() - killedAt > LEASE_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    takeOverMs = Date.now() - killedAt;
    if (takeOverMs > 30_000) {
      figures.leftOver = await cluster.query(
        `SELECT 'inbound' AS t, owner, handled::text AS state, count(*)::int AS n FROM inbound WHERE NOT handled GROUP BY owner, handled
         UNION ALL SELECT 'outbox', owner, state, count(*)::int FROM outbox GROUP BY owner, state
         UNION ALL SELECT 'instance', id, lease_until::text, 0 FROM instance`,
      );
    }

    // 3. "Exotel" retries what got no 200, now to the survivor (the load balancer sees A is down)
    const retried = customers.filter((c) => !acked.has(c.sid));
    await runPool(retried, CONCURRENCY, async (c: (typeof customers)[number]) => {
      const res = await postCallback(b.baseUrl, HOOK, TOKEN, fields(c), agent);
      if (res.status === 200) acked.add(c.sid);
    });
    // 4. every STOP customer asks for their order: nothing but the one confirmation may reach them
    helpSince = mock.received.length;
    await runPool(customers.filter((c) => c.kind === 'stop'), CONCURRENCY, async (c: (typeof customers)[number]) => {
      await postCallback(b.baseUrl, HOOK, TOKEN, fields({ ...c, sid: `${c.sid}o`, body: 'ORDER' }), agent);
    });
    agent.destroy();
    // 5. the rate limit lets the rest out over the next minute
    const waiting = async () => (await cluster.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE state IN ('queued', 'sending')"))[0].n;
    const drainBy = Date.now() + 300_000;
    while ((await waiting()) > 0 && Date.now() < drainBy) await new Promise((resolve) => setTimeout(resolve, 1_000));
    await settle(() => mock.received.length, { quietMs: 3_000, timeoutMs: 60_000, what: 'the last sends' });
    figures.sends = mock.received.length;
  });

  after(async () => {
    console.log(`      cluster drill (seed ${SEED}): ${JSON.stringify({ ...figures, takeOver: seconds(takeOverMs) })}`);
    await cluster?.stop();
    await mock?.stop();
  });

  it('killed one instance in the middle of the burst', () => {
    assert.ok(acked.size >= KILL_AFTER);
    assert.equal(cluster.reds[0].running, false);
  });

  it('handled every acknowledged callback once: in the inbound log once, handled, its reply sent once', async () => {
    assert.equal(acked.size, CUSTOMERS, 'after Exotel’s retries every callback has its 200');
    const rows = await cluster.query<{ sid: string; handled: boolean }>('SELECT sid, handled FROM inbound');
    const logged = new Set(rows.map((r) => r.sid));
    for (const sid of acked) assert.ok(logged.has(sid), `${sid} acknowledged and in the log`);
    const accepted = mock.received.filter((r) => r.answered === 200);
    // A reply being handed to Exotel as its instance died may have gone: it fails as `interrupted` rather than go twice.
    const interrupted = new Set(
      (await cluster.query<{ phone: string }>("SELECT phone FROM outbox WHERE state = 'failed' AND error::json->>'code' = 'interrupted'")).map((r) => r.phone),
    );
    for (const c of customers.filter((x) => x.kind === 'order')) {
      const asked = accepted.filter((r) => r.to === c.phone).map((r) => r.body);
      if (asked.length === 0 && interrupted.has(c.phone)) continue;
      assert.deepEqual(asked, [ASK_ID], `${c.phone}: asked for the order ID once`);
    }
    const optedOut = new Set((await cluster.query<{ phone: string }>("SELECT phone FROM opt_out WHERE status = 'opted-out'")).map((r) => r.phone));
    let confirmed = 0;
    for (const c of customers.filter((x) => x.kind === 'stop')) {
      assert.ok(optedOut.has(c.phone), `${c.phone} opted out`);
      const confirmations = accepted.filter((r) => r.to === c.phone && CONFIRMATION.test(r.body)).length;
      assert.ok(confirmations <= 1, `${c.phone}: ${confirmations} confirmations`);
      confirmed += confirmations;
    }
    // Not asserted: a STOP whose instance died between taking the number's confirmation and queuing it
    // (or while handing it to Exotel) gets none; the figure shows how many of the STOPs were confirmed.
    figures.confirmed = `${confirmed} of ${customers.filter((x) => x.kind === 'stop').length}`;
  });

  it('took the dead instance’s unfinished work over within 30 s', () => {
    assert.ok(takeOverMs <= 30_000, `took ${seconds(takeOverMs)}`);
  });

  it('sent nothing twice and nothing to an opted-out number but its one confirmation', async () => {
    const seen = new Map<string, number>();
    for (const r of mock.received.filter((x) => x.answered === 200)) seen.set(`${r.to}\n${r.body}`, (seen.get(`${r.to}\n${r.body}`) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1), []);
    const history = await cluster.query('SELECT phone, status, at FROM opt_out_history ORDER BY id');
    const compliance = checkCompliance({ requests: mock.received, history, isConfirmation: (body: string) => CONFIRMATION.test(body) });
    figures.compliance = { ...compliance, violations: compliance.violations.length };
    // sends that failed (e.g. `interrupted`: marked as being handed to Exotel when their instance died, so not sent again)
    figures.failedSends = await cluster.query("SELECT error::json->>'code' AS code, count(*)::int AS n FROM outbox WHERE state = 'failed' GROUP BY 1");
    assert.deepEqual(compliance.violations, []);
    assert.deepEqual(mock.received.slice(helpSince).filter((r) => !CONFIRMATION.test(r.body) && customers.some((c) => c.kind === 'stop' && c.phone === r.to)), []);
  });

  it('kept the account’s rate limit for the whole cluster in every 60-second window', () => {
    const busiest = busiestWindow(mock.received.map((r) => r.at), 60_000);
    figures.busiestMinute = busiest;
    assert.ok(busiest <= RATE_LIMIT, `${busiest} requests in one minute, limit ${RATE_LIMIT}`);
    assert.ok(mock.received.length > RATE_LIMIT, 'the drill did reach the limit');
  });
});
