// The database goes away in the middle of a burst of callbacks to two Node-RED instances (a TCP proxy
// in front of PostgreSQL is cut, then restored): callbacks meanwhile get 503 with a JSON reason (never
// a 200 that would lose them), the nodes show "database unavailable", and once the database is back
// everything goes on by itself: every callback Exotel retries is acknowledged and answered once.
import assert from 'node:assert/strict';
import http from 'node:http';
import { TestCluster, HOOK } from '../support/cluster';
import { Proxy } from '../store/pg-database';
import { DrillExotel } from '../support/drill-exotel';
import { postCallback, until } from '../support/drills';

const TOKEN = 'outage-hook-99f1';
const ACCOUNT = 'outageacct';

describe('cluster: PostgreSQL unreachable in the middle of a burst', function () {
  this.timeout(180_000);
  let mock: DrillExotel;
  let proxy: Proxy;
  let cluster: TestCluster;

  before(async () => {
    mock = await new DrillExotel({ decide: () => ({ delayMs: 10 }) }).start();
    proxy = await new Proxy().start();
    cluster = await TestCluster.start({ mockUrl: mock.url, instances: 2, token: TOKEN, accountSid: ACCOUNT, rateLimit: 1_000, leaseMs: 5_000, label: 'outage', port: proxy.port });
  });
  after(async () => {
    await proxy?.restore().catch(() => undefined);
    await cluster?.stop();
    await proxy?.cut();
    await mock?.stop();
  });

  it('answers 503 while it is away and loses nothing: Exotel’s retries are handled once when it is back', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const customers = Array.from({ length: 40 }, (_, i) => ({ phone: `+91984000${String(i).padStart(4, '0')}`, sid: `outage${Date.now()}${i}` }));
    const post = (c: (typeof customers)[number], i: number) =>
      postCallback(cluster.reds[i % 2].baseUrl, HOOK, TOKEN, { SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: 'ORDER', AccountSid: ACCOUNT }, agent);
    const acked = new Set<string>();
    const refused: Array<{ status: number | null; body: string }> = [];
    for (let i = 0; i < customers.length; i++) {
      if (i === 10) await proxy.cut();
      if (i === 30) await proxy.restore();
      const res = await post(customers[i], i);
      if (res.status === 200) acked.add(customers[i].sid);
      else refused.push({ status: res.status, body: res.body?.toString() ?? JSON.stringify(res) });
    }
    assert.ok(refused.length >= 15, `${refused.length} refused while the database was away`);
    for (const r of refused) {
      assert.equal(r.status, 503, `${r.body}\n${cluster.reds.map((red) => `running ${red.running}: ${red.logTail(15)}`).join("\n")}`);
      assert.match(JSON.parse(r.body).error, /database is unavailable; try again/);
    }
    assert.match(cluster.reds[0].log() + cluster.reds[1].log(), /the database cannot be reached: webhooks answer 503/);
    // Exotel retries what got no 200
    for (let round = 0; round < 10 && acked.size < customers.length; round++) {
      for (const [i, c] of customers.entries()) {
        if (acked.has(c.sid)) continue;
        if ((await post(c, i)).status === 200) acked.add(c.sid);
      }
      if (acked.size < customers.length) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    agent.destroy();
    assert.equal(acked.size, customers.length, 'all acknowledged once the database is back');
    const unanswered = () => customers.map((c, i) => (mock.received.some((r) => r.to === c.phone) ? -1 : i)).filter((i) => i >= 0);
    await until(() => unanswered().length === 0, 30_000, 'every customer answered').catch(async (err: Error) => {
      // what the database holds of them says where they stopped (an SMS not handled, a send left queued…)
      const phones = unanswered().map((i) => customers[i].phone);
      const held = {
        inbound: await cluster.query('SELECT sid, from_number, handled, done, owner FROM inbound WHERE from_number = ANY($1)', [phones]),
        outbox: await cluster.query('SELECT id, phone, state, owner, claim_key, error FROM outbox WHERE phone = ANY($1)', [phones]),
      };
      throw new Error(`${err.message}: customers ${unanswered().join(', ')}\n${JSON.stringify(held, null, 1)}\n${cluster.reds.map((red) => red.logTail(30)).join('\n')}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const c of customers) {
      assert.deepEqual(mock.received.filter((r) => r.to === c.phone).map((r) => r.body), ['Please reply with your order ID.'], `${c.phone} answered once`);
    }
    assert.match(cluster.reds[0].log() + cluster.reds[1].log(), /the database answers again/);
  });
});
