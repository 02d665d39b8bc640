// Drill "Database restart": two Node-RED instances on a PostgreSQL server of the drill's own, and a
// burst of inbound callbacks posted to each in turn; in the middle of the burst the server is restarted
// for real (`pg_ctl restart -m fast`: every connection ended with 57P01, new ones refused until it is up
// again), and in a second burst crashed and restarted (`-m immediate`: recovery at start). Callbacks
// meanwhile get 503 with a JSON reason (never a 200 that would lose them, never a 500), and "Exotel"
// posts them again, to either instance, until they get their 200. In the crash round the balancer sends
// everything to one instance while the server is down, so that the other meets the restart only while
// marking its SMS handled. Once the server is back everything goes on by itself: every customer gets
// the one answer, each SMS is in the inbound log once, handled, and nothing is left in the outbox.
import assert from 'node:assert/strict';
import http from 'node:http';
import { TestCluster, HOOK } from '../support/cluster';
import { DrillExotel } from '../support/drill-exotel';
import { postCallback, until, seconds, wait, indianMobile, type HttpResult } from '../support/drills';
import { OwnPostgres, type RestartMode } from '../support/own-postgres';

const CUSTOMERS = 150;
/** a callback every this many ms: the burst lasts about 6 s, the restart lands in it */
const INTERVAL_MS = 40;
/** the restart starts as this callback is posted */
const RESTART_AT = 50;
/** "Exotel" posts a callback that got no 200 again after this long, for this long at most */
const RETRY_MS = 500;
const RETRY_FOR_MS = 60_000;
/** once the server is back, every customer is answered within this */
const ANSWERED_WITHIN_MS = 60_000;
/** and each SMS is marked handled within this after that (the replay window is 250 ms) */
const HANDLED_WITHIN_MS = 15_000;
const TOKEN = 'restart-drill-hook-7c31';
const ACCOUNT_SID = 'restartdrill';
const ASK_ID = 'Please reply with your order ID.';
const DOWN = /the database cannot be reached: webhooks answer 503/g;
const BACK = /the database answers again/g;
const HANDED_ON_AGAIN = /handing on again \d+ SMS/g;

interface Attempt {
  instance: number;
  at: number;
  status: number | null;
  body: string;
}

interface Customer {
  phone: string;
  sid: string;
  attempts: Attempt[];
  ackedAt?: number;
}

describe('drill: database restart — PostgreSQL restarted in the middle of a burst to two instances', function () {
  this.timeout(300_000);
  let pg: OwnPostgres;
  let mock: DrillExotel;
  let cluster: TestCluster;
  const figures: Record<string, unknown> = {};

  before(async () => {
    const started = Date.now();
    pg = await OwnPostgres.start();
    const database = await pg.createDatabase();
    mock = await new DrillExotel({ decide: () => ({ delayMs: 10 }) }).start();
    cluster = await TestCluster.start({
      mockUrl: mock.url, instances: 2, token: TOKEN, accountSid: ACCOUNT_SID, rateLimit: 1_000, leaseMs: 15_000, label: 'restart-drill', database,
      // an SMS the flow is done with counts as handled 250 ms after it was handed on (10 s by default), and
      // is marked at the next 250 ms tick: the restart meets marks being written too
      exotelSms: { replayWindowMs: 250 },
    });
    figures.startUp = seconds(Date.now() - started);
  });

  after(async () => {
    console.log(`      database restart drill: ${JSON.stringify(figures)}`);
    await cluster?.stop().catch(() => undefined);
    await mock?.stop().catch(() => undefined);
    await pg?.cleanup();
  });

  const logs = () => cluster.reds.map((red) => red.log()).join('\n');
  const count = (re: RegExp) => (logs().match(re) ?? []).length;
  const perInstance = (re: RegExp) => cluster.reds.map((red) => (red.log().match(re) ?? []).length);

  for (const [round, mode] of (['fast', 'immediate'] as RestartMode[]).entries()) {
    it(`restart -m ${mode}: 503 while it restarts, then every callback acknowledged, each SMS handled and answered once`, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const customers: Customer[] = Array.from({ length: CUSTOMERS }, (_, i) => ({
        phone: indianMobile(2_000_000 + round * 10_000 + i),
        sid: `restart${mode}${Date.now()}x${i}`,
        attempts: [],
      }));
      const downBefore = count(DOWN);
      const downPerInstance = perInstance(DOWN);
      const handedOnBefore = count(HANDED_ON_AGAIN);
      const backBefore = count(BACK);
      let restartStarted = 0;
      let restartEnded = 0;
      const post = async (c: Customer, instance: number): Promise<HttpResult> => {
        const res = await postCallback(cluster.reds[instance].baseUrl, HOOK, TOKEN, {
          SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: 'ORDER', DateCreated: '2026-11-28 10:30:00', AccountSid: ACCOUNT_SID,
        }, agent);
        c.attempts.push({ instance, at: Date.now(), status: res.status, body: res.body?.toString() ?? String(res.error) });
        if (res.status === 200) c.ackedAt ??= Date.now();
        return res;
      };
      // The balancer posts to each in turn; in the crash round, from shortly before the restart until the
      // server is back, to instance 0 only: instance 1, idle, has only its earlier SMS to mark handled.
      const route = (i: number, attempt: number) => (mode === 'immediate' && i >= RESTART_AT - 5 && !restartEnded ? 0 : (i + attempt) % 2);
      // Exotel: the first post to the instance of its turn, then again (to the other one, then back…) until a 200
      const deliver = async (c: Customer, i: number, giveUpAt: () => number) => {
        for (let attempt = 0; ; attempt++) {
          if ((await post(c, route(i, attempt))).status === 200) return;
          if (Date.now() > giveUpAt()) return;
          await wait(RETRY_MS);
        }
      };

      const burstStarted = Date.now();
      let restart: Promise<number> | undefined;
      const deliveries: Promise<void>[] = [];
      for (let i = 0; i < CUSTOMERS; i++) {
        await wait(burstStarted + i * INTERVAL_MS - Date.now());
        if (i === RESTART_AT) {
          restartStarted = Date.now();
          restart = pg.restart(mode).finally(() => {
            restartEnded = Date.now();
          });
        }
        deliveries.push(deliver(customers[i], i, () => (restartEnded || Date.now()) + RETRY_FOR_MS));
      }
      const restartMs = await restart!;
      await Promise.all(deliveries);
      agent.destroy();

      const acked = customers.filter((c) => c.ackedAt !== undefined);
      const refusals = customers.flatMap((c) => c.attempts.filter((a) => a.status !== 200));
      const firstRefused = customers.filter((c) => c.attempts[0].status !== 200);
      const figure: Record<string, unknown> = {
        restart: seconds(restartMs),
        burst: seconds(Date.now() - burstStarted),
        refusedFirst: firstRefused.length,
        refusals: refusals.length,
        outcomes: refusals.reduce<Record<string, number>>((n, a) => ({ ...n, [String(a.status)]: (n[String(a.status)] ?? 0) + 1 }), {}),
        // when the last of the refused callbacks got its 200, counted from when the server was back
        refusedAcked: seconds(Math.max(0, ...customers.filter((c) => c.attempts[0].status !== 200 && c.ackedAt).map((c) => c.ackedAt! - restartEnded))),
      };
      figures[mode] = figure;
      const tails = () => cluster.reds.map((red, n) => `--- instance ${n} (running ${red.running}):\n${red.logTail(30)}`).join('\n') + `\n--- PostgreSQL:\n${pg.logTail(15)}`;

      // the restart landed in the middle of the burst, and was felt
      assert.ok(customers.slice(0, RESTART_AT).some((c) => c.attempts[0].status === 200), 'callbacks acknowledged before the restart');
      assert.ok(customers.some((c) => c.attempts[0].at > restartEnded), 'callbacks posted after the server was back');
      assert.ok(refusals.length > 0, `no callback was refused while the server restarted (${seconds(restartMs)})`);
      // refused: 503 with the reason, never a 500 or a dropped connection (nor a 200 that loses it: below)
      for (const r of refusals) {
        assert.equal(r.status, 503, `a callback refused with ${r.status}: ${r.body}\n${tails()}`);
        assert.match(JSON.parse(r.body).error, /database is unavailable; try again/);
      }
      assert.ok(count(DOWN) > downBefore, `the log says the database cannot be reached\n${tails()}`);
      assert.equal(acked.length, CUSTOMERS, `every callback acknowledged once the server is back\n${tails()}`);

      // every customer answered, once
      const answered = (c: Customer) => mock.received.some((r) => r.to === c.phone);
      await until(() => customers.every(answered), ANSWERED_WITHIN_MS, 'every customer answered').catch(async (err: Error) => {
        // what the database holds of them says where they stopped (an SMS not handled, a send left queued…)
        const left = customers.filter((c) => !answered(c));
        const phones = left.map((c) => c.phone);
        const held = {
          inbound: await cluster.query('SELECT sid, from_number, handled, owner, recorded_at FROM inbound WHERE from_number = ANY($1)', [phones]),
          outbox: await cluster.query('SELECT id, phone, state, owner, claim_key, attempts, error FROM outbox WHERE phone = ANY($1)', [phones]),
          instances: await cluster.query('SELECT id, lease_until FROM instance'),
          callbacks: left.map((c) => ({ phone: c.phone, sid: c.sid, attempts: c.attempts.map((a) => `${a.instance}:${a.status}@${a.at - restartStarted}ms`) })),
        };
        throw new Error(`${err.message}: ${left.length} not answered (restart from 0 to ${restartEnded - restartStarted} ms)\n${JSON.stringify(held, null, 1)}\n${tails()}`);
      });
      await wait(1_500);
      for (const c of customers) {
        assert.deepEqual(mock.received.filter((r) => r.to === c.phone).map((r) => r.body), [ASK_ID], `${c.phone} answered once`);
      }
      assert.ok(count(BACK) > backBefore, `the log says the database answers again\n${tails()}`);

      // in the inbound log once each, handled (marked once the replay window after it was handed on is over)
      const sids = customers.map((c) => c.sid);
      const unhandled = async () => (await cluster.query<{ sid: string }>('SELECT sid FROM inbound WHERE sid = ANY($1) AND NOT handled', [sids])).map((r) => r.sid);
      await until(async () => (await unhandled()).length === 0, HANDLED_WITHIN_MS, 'each SMS marked handled').catch(async (err: Error) => {
        const left = await unhandled();
        const held = await cluster.query('SELECT sid, from_number, handled, owner, recorded_at FROM inbound WHERE sid = ANY($1)', [left]);
        throw new Error(`${err.message}: ${left.length} not handled\n${JSON.stringify(held.slice(0, 20), null, 1)}\n${tails()}`);
      });
      const rows = await cluster.query<{ sid: string }>('SELECT sid FROM inbound WHERE sid = ANY($1)', [sids]);
      assert.equal(rows.length, CUSTOMERS, 'each SMS in the inbound log');
      assert.deepEqual(await cluster.query('SELECT id, phone, state FROM outbox WHERE phone = ANY($1)', [customers.map((c) => c.phone)]), [], 'nothing left in the outbox');
      figure.downOn = perInstance(DOWN).map((n, i) => n > downPerInstance[i]);
      figure.handedOnAgain = count(HANDED_ON_AGAIN) - handedOnBefore;
      figure.lastAnswer = seconds(Math.max(...mock.received.filter((r) => customers.some((c) => c.phone === r.to)).map((r) => r.at)) - restartEnded);
    });
  }
});
