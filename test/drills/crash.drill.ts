// Failure drill "Crash" (issue 6): kill -9 Node-RED in the middle of 2,000 inbound callbacks; after the
// restart every callback that got a 200 is in the inbound log and its effect (an opt-out, a
// conversation step) is there; callbacks repeated by "Exotel" after the crash are not answered twice.
//
// A real Node-RED child (node_modules/node-red/red.js) with the package linked into its user directory,
// running example 06 (all scenarios on one webhook) as shipped but for its account: live, against a
// mock Exotel in this process, with a webhook token and a rate limit that does not hold the drill up.
// 1,000 customers send STOP, 1,000 others ORDER, one SmsSid each, 50 at once; the child is killed with
// SIGKILL when the 1,000th callback has been answered 200; it starts again on the same user directory;
// then "Exotel" posts all 2,000 again (those without a 200 twice), and every STOP customer sends HELP
// (answered also after STOP). The kill waits until some replies are at Exotel without their answer:
// each must end "interrupted" (maybe sent), never sent twice.
// The child runs the build (dist/): `npm run test:drills` builds first.
import assert from 'node:assert/strict';
import http from 'node:http';
import { connectionsFor } from '../../src/nodes/exotel-account';
import { DrillExotel, type DrillRequest } from '../support/drill-exotel';
import { NodeRedChild } from '../support/node-red-child';
import type { Exit } from '../support/node-red-process';
import { present } from '../support/present';
import {
  prng,
  seedFromEnv,
  smsSid,
  indianMobile,
  runPool,
  settle,
  postCallback,
  liveExample,
  withStoreFile,
  checkCompliance,
  findSecrets,
  seconds,
  wait,
  type Compliance,
  type Row,
} from '../support/drills';

const SEED = seedFromEnv(6101);
const CUSTOMERS = 2000;
const KILL_AFTER = 1000;
const CONCURRENCY = 50;
const EXAMPLE = '06 - All scenarios on one number.json';
const HOOK = '/exotel/sms';
const TOKEN = 'crash-drill-hook-0f4c2d';
const ACCOUNT_SID = 'crashacct';
const SECRETS = ['crash-key-6b1d', 'crash-token-93ae', TOKEN];
const CONFIRMATION = /unsubscribed from ExampleStore/;
const ASK_ID = /^Please reply with your order ID\.$/;
const HELP_ANSWER = /reply ORDER for your order status/;

type Customer = { i: number; phone: string; kind: 'stop' | 'order'; sid: string; body: string };

/** What the drill prints at its end (and some of its checks read). */
interface Figures {
  atKill?: { acked: number; apiRequests: number; atExotelUnanswered: number; ms: number };
  storm?: { outcomes: Record<string, number>; acked: number; killedBy: NodeJS.Signals | null | undefined; ms: number };
  atRestart?: { apiRequests: number };
  storeAtKill?: { inbound: number; unhandled: number; optedOut: number };
  restart?: { ms: number; replayed: string };
  repost?: { posts: number; outcomes: Record<string, number>; ms: number };
  end?: Record<string, unknown>;
  interruptedAtKill?: number;
  onTheWireAtKill?: number;
}

describe('drill: crash — kill -9 in the middle of 2,000 inbound callbacks', function () {
  this.timeout(300_000);
  const random = prng(SEED);
  const customers = Array.from({ length: CUSTOMERS }, (_, i): Customer => {
    const phone = indianMobile(610_000 + i);
    const kind: Customer['kind'] = i % 2 === 0 ? 'stop' : 'order';
    return { i, phone, kind, sid: smsSid(random), body: kind === 'stop' ? ['STOP', 'stop', 'Stop.', ' STOP '][i % 4] : ['ORDER', 'order', 'Order'][i % 3] };
  });
  const bySid = new Map(customers.map((c) => [c.sid, c]));
  const fields = (c: Customer) => ({ SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: c.body, DateCreated: '2026-11-26 10:30:00', AccountSid: ACCOUNT_SID });

  let mock: DrillExotel;
  let red: NodeRedChild;
  let agent: http.Agent|undefined;
  const figures: Figures = {};
  let acked: Set<string>; // SmsSids answered 200 before the kill
  let storeAfterRestart: ReturnType<typeof storeView>;
  let killedAt: number;
  let onTheWire: DrillRequest[] = []; // the requests at Exotel without their answer at the kill
  let helpFrom: number; // index of the first API request of the HELP round
  const ackedAt = new Map<string, number>(); // SmsSid → when its first 200 came

  const storeView = () =>
    withStoreFile(red.storePath, (s) => ({
      inbound: s.inboundSids(),
      unhandled: s.unhandled(),
      optedOut: s.optedOut(),
      conversations: new Set(s.conversations('one-number-order-status').map((row) => row.key)),
      outbox: s.outbox(),
      history: s.history(),
    }));
  const signature = () => {
    const v = storeView();
    return [mock.requests.length, v.inbound.size, v.unhandled, v.optedOut.size, v.conversations.size, v.outbox.length];
  };

  before(async function () {
    // Exotel takes a moment to answer (40–80 ms), and the kill waits (a few ms at most) until at least two
    // sends are at Exotel without their answer: requests Exotel accepts but whose answer Node-RED never
    // reads. (Much slower answers saturate the send pool after the restart and bring in the timeout faults
    // of the Exotel-faults drills; this drill is about the crash.)
    const latency = prng(SEED + 1);
    mock = await new DrillExotel({ decide: () => ({ delayMs: 40 + Math.floor(latency() * 40) }) }).start();
    const { flow, credentials } = liveExample(EXAMPLE, {
      mockUrl: mock.url, accountSid: ACCOUNT_SID, rateLimit: 1_000_000,
      credentials: { apiKey: SECRETS[0], apiToken: SECRETS[1], webhookToken: TOKEN },
    });
    red = await NodeRedChild.create({ flows: flow, credentials, exotelSms: { retryBaseDelayMs: 50, replayWindowMs: 500 }, label: 'crash' });
    await red.start();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    // 1. the storm, and kill -9 when the 1,000th callback has its 200
    const started = Date.now();
    acked = new Set();
    const outcomes: Record<string, number> = {};
    // (set in the pool's callbacks: typed with `as` so that the checker does not narrow them to null)
    let killed = null as Promise<Exit | null> | null;
    let killing = null as Promise<Exit | null> | null;
    const atExotel = () => mock.requests.filter((r) => r.answered === null).length;
    await runPool(customers, CONCURRENCY, async (c) => {
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      const key = String(res.status ?? res.error);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (res.status === 200) {
        acked.add(c.sid);
        if (!ackedAt.has(c.sid)) ackedAt.set(c.sid, Date.now());
        if (acked.size === KILL_AFTER && !killing) {
          killing = (async () => {
            const since = Date.now();
            while (atExotel() < 2 && Date.now() - since < 3000) await new Promise((resolve) => setImmediate(resolve));
            figures.atKill = { acked: acked.size, apiRequests: mock.requests.length, atExotelUnanswered: atExotel(), ms: Date.now() - started };
            // in the same turn as the signal: the child cannot have read the answer of any of these
            onTheWire = mock.requests.filter((r) => r.answered === null);
            killedAt = Date.now();
            killed = red.kill9();
            return killed;
          })();
        }
      }
    }, { stop: () => !!killed });
    const exit = await killing;
    agent?.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    figures.storm = { outcomes, acked: acked.size, killedBy: exit?.signal, ms: Date.now() - started };
    figures.atRestart = { apiRequests: mock.requests.length };
    const before = withStoreFile(red.storePath, (s) => ({ inbound: s.inboundSids().size, unhandled: s.unhandled(), optedOut: s.optedOut().size }));
    figures.storeAtKill = before;

    // 2. the restart, on the same user directory and store
    const restarted = Date.now();
    await red.start();
    await settle(signature, { quietMs: 2500, timeoutMs: 120_000, what: 'the restarted Node-RED to settle' });
    figures.restart = { ms: Date.now() - restarted, replayed: /handing on again (\d+) SMS received just before the last stop/.exec(red.log())?.[1] ?? '0' };
    storeAfterRestart = storeView();
  });

  after(async function () {
    agent?.destroy();
    if (red) {
      await red.stop();
      if (process.env.DRILL_KEEP) console.log(`      user directory kept: ${red.userDir}`);
      else red.remove();
    }
    await mock?.stop();
    console.log(`      crash drill (seed ${SEED}): ${JSON.stringify(figures)}`);
  });

  it('killed the child in the middle: some callbacks answered, some not', function () {
    assert.equal(figures.storm?.killedBy, 'SIGKILL');
    // answers already on their way when the signal went still arrive
    assert.ok(acked.size >= KILL_AFTER && acked.size < CUSTOMERS, `${acked.size} answered 200 before the kill`);
    const non200 = Object.entries(figures.storm?.outcomes ?? {}).filter(([k]) => k !== '200' && /^\d+$/.test(k));
    assert.deepEqual(non200, [], 'every answer before the kill was 200');
  });

  it('after the restart, every callback answered 200 is in the inbound log, handed on', function () {
    const missing = [...acked].filter((sid) => !storeAfterRestart.inbound.has(sid));
    assert.deepEqual(missing, [], `${missing.length} callbacks answered 200 are not in the inbound log`);
    assert.equal(storeAfterRestart.unhandled, 0, 'logged SMS not handed to the flow after the restart');
  });

  it('after the restart, every STOP answered 200 is an opt-out', function () {
    const lost = [...acked].map((sid) => present(bySid.get(sid))).filter((c) => c.kind === 'stop' && !storeAfterRestart.optedOut.has(c.phone));
    assert.deepEqual(lost.map((c) => `${c.phone} (SmsSid ${c.sid})`), [], `${lost.length} STOPs answered 200 before the kill are not opt-outs after the restart`);
  });

  it('after the restart, every ORDER answered 200 has its conversation (or its reply went out)', function () {
    const replied = new Set(mock.accepted.map((r) => r.form.To));
    const lost = [...acked].map((sid) => present(bySid.get(sid))).filter((c) => c.kind === 'order' && !storeAfterRestart.conversations.has(c.phone) && !replied.has(c.phone));
    assert.deepEqual(lost.map((c) => `${c.phone} (SmsSid ${c.sid})`), [], `${lost.length} ORDERs answered 200 before the kill left no conversation and no reply`);
  });

  describe('then "Exotel" posts all 2,000 again (those without a 200 twice) and every STOP customer sends HELP', function () {
    let storeAtEnd: ReturnType<typeof storeView>;
    let compliance: Compliance;

    before(async function () {
      const started = Date.now();
      const repost = [...customers, ...customers.filter((c) => !acked.has(c.sid))];
      // shuffled, so that the duplicates of one SmsSid arrive at any distance from each other
      for (let i = repost.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [repost[i], repost[j]] = [repost[j], repost[i]];
      }
      const outcomes: Record<string, number> = {};
      await runPool(repost, CONCURRENCY, async (c) => {
        const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
        outcomes[String(res.status ?? res.error)] = (outcomes[String(res.status ?? res.error)] ?? 0) + 1;
        if (res.status === 200 && !ackedAt.has(c.sid)) ackedAt.set(c.sid, Date.now());
      });
      figures.repost = { posts: repost.length, outcomes, ms: Date.now() - started };
      await settle(signature, { quietMs: 2500, timeoutMs: 120_000, what: 'the re-posts to settle' });
      helpFrom = mock.requests.length;
      const help = customers.filter((c) => c.kind === 'stop').map((c) => ({ ...c, sid: smsSid(random), body: 'HELP' }));
      const helpPostedAt = Date.now();
      await runPool(help, CONCURRENCY, async (c) => {
        const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
        outcomes[`help ${res.status ?? res.error}`] = (outcomes[`help ${res.status ?? res.error}`] ?? 0) + 1;
      });
      await settle(signature, { quietMs: 2500, timeoutMs: 120_000, what: 'the HELPs to settle' });
      storeAtEnd = storeView();
      // A customer is opted out from the moment its STOP was acknowledged (what the store says may be later, or
      // missing when the STOP was lost): the compliance check takes the earlier of the two.
      const acknowledgedStops = customers.filter((c) => c.kind === 'stop' && ackedAt.has(c.sid)).map((c) => ({ phone: c.phone, status: 'opted-out', at: ackedAt.get(c.sid) }));
      // HELP is answered also after STOP (one answer per HELP): every STOP customer sent one.
      const asked = help.map((c) => ({ phone: c.phone, body: 'HELP', at: helpPostedAt }));
      compliance = checkCompliance({ requests: mock.received, history: [...acknowledgedStops, ...storeAtEnd.history], isConfirmation: (b) => CONFIRMATION.test(b), help: { isAnswer: (b) => HELP_ANSWER.test(b), asked } });
      const perNumber = mock.acceptedByTo();
      figures.end = {
        inbound: storeAtEnd.inbound.size,
        optedOut: storeAtEnd.optedOut.size,
        conversations: storeAtEnd.conversations.size,
        outbox: storeAtEnd.outbox.length,
        apiRequests: mock.requests.length,
        accepted: mock.accepted.length,
        numbersWithoutReply: customers.filter((c) => !perNumber.get(c.phone)).length,
        numbersWithTwoPlus: [...perNumber.values()].filter((n) => n > 1).length,
        compliance: { checked: compliance.checked, toOptedOut: compliance.toOptedOut, helpAnswers: compliance.answers, violations: compliance.violations.length },
      };
    });

    it('answers every repeated callback 200', function () {
      const { outcomes } = present(figures.repost);
      const bad = Object.entries(outcomes).filter(([k]) => !/^(help )?200$/.test(k));
      assert.deepEqual(bad, []);
    });

    it('ends with every callback logged, every STOP an opt-out, every ORDER a conversation', function () {
      assert.equal(storeAtEnd.unhandled, 0);
      const problems: string[] = [];
      for (const c of customers) {
        if (!storeAtEnd.inbound.has(c.sid)) problems.push(`${c.sid} not logged`);
        if (c.kind === 'stop' && !storeAtEnd.optedOut.has(c.phone)) problems.push(`${c.phone}: STOP (SmsSid ${c.sid}${acked.has(c.sid) ? ', answered 200 before the kill' : ''}) is not an opt-out`);
        if (c.kind === 'order' && !storeAtEnd.conversations.has(c.phone)) problems.push(`${c.phone}: ORDER (SmsSid ${c.sid}${acked.has(c.sid) ? ', answered 200 before the kill' : ''}) has no conversation`);
      }
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
    });

    it('never sends one inbound SMS its reply twice (at most one SMS per customer), and the reply is the right one', function () {
      const twice: string[] = [];
      const wrong: string[] = [];
      const replies = mock.requests.slice(0, helpFrom).filter((r) => r.answered === 200);
      const when = (t: number) => (t < killedAt ? `${killedAt - t} ms before the kill` : `${t - killedAt} ms after the kill`);
      for (const c of customers) {
        const got = replies.filter((r) => r.form.To === c.phone);
        if (got.length > 1) twice.push(`${c.phone} (${c.kind}, SmsSid ${c.sid}${acked.has(c.sid) ? ', 200 before the kill' : ''}) got ${got.length}: ${got.map((r) => `"${r.form.Body.slice(0, 30)}" ${when(r.at)}${r.clientGone ? ' (answer never read)' : ''}`).join(', ')}`);
        for (const r of got) if (!(c.kind === 'stop' ? CONFIRMATION : ASK_ID).test(r.form.Body)) wrong.push(`${c.phone} (${c.kind}) got "${r.form.Body}"`);
      }
      assert.deepEqual(wrong.slice(0, 10), []);
      assert.deepEqual(twice.slice(0, 20), [], `${twice.length} customers got their reply more than once`);
    });

    it('sends every customer its reply once the outbox has drained (the outbox survives kill -9)', function () {
      // The one exception: a reply that was on the wire to Exotel at the kill. Nobody can know whether it
      // went; it fails as "interrupted" (maybeSent), inspectable, instead of going twice. At most one per
      // pooled connection.
      const errorOf = (row: Row): { code?: string; maybeSent?: boolean } => JSON.parse(row.error ?? 'null') ?? {};
      const interrupted = new Set(storeAtEnd.outbox.filter((row) => row.state === 'failed' && errorOf(row).code === 'interrupted').map((row) => row.phone));
      const perNumber = mock.acceptedByTo();
      const without = customers.filter((c) => !perNumber.get(c.phone) && !interrupted.has(c.phone)).map((c) => `${c.phone} (${c.kind}, SmsSid ${c.sid}${acked.has(c.sid) ? ', 200 before the kill' : ''})`);
      const queued = storeAtEnd.outbox.filter((row) => row.state === 'queued').length;
      const failed = storeAtEnd.outbox.filter((row) => row.state === 'failed' && errorOf(row).code !== 'interrupted').map((row) => `${row.phone}: ${row.error}`);
      assert.deepEqual({ queued, failed: failed.slice(0, 5) }, { queued: 0, failed: [] });
      assert.deepEqual(without.slice(0, 20), [], `${without.length} customers got no reply`);
      const onTheWire = connectionsFor(1_000_000);
      assert.ok(interrupted.size <= onTheWire, `${interrupted.size} replies interrupted: more than the ${onTheWire} connections could have on the wire`);
      for (const row of storeAtEnd.outbox.filter((r) => interrupted.has(r.phone))) assert.equal(errorOf(row).maybeSent, true);
      figures.interruptedAtKill = interrupted.size;
    });

    it('ends each send that was on the wire at the kill as "interrupted" (it may have gone), and sends it no second time', function () {
      // The requests the child had made and never read the answer of (the mock answers after the kill, to
      // a closed connection). The kill waited for some.
      const restartedFrom = present(figures.atRestart).apiRequests;
      figures.onTheWireAtKill = onTheWire.length;
      assert.ok(onTheWire.length >= 1, 'no send was on the wire at the kill: the drill did not test the interrupted sends');
      const errorOf = (row: Row): { code?: string; maybeSent?: boolean } => JSON.parse(row.error ?? 'null') ?? {};
      const interrupted = (phone: string) => storeAtEnd.outbox.some((row) => row.phone === phone && row.state === 'failed' && errorOf(row).code === 'interrupted' && errorOf(row).maybeSent === true);
      const notInterrupted = onTheWire.filter((r) => !interrupted(r.form.To)).map((r) => `${r.form.To}: "${r.form.Body.slice(0, 30)}" ended ${JSON.stringify(storeAtEnd.outbox.filter((row) => row.phone === r.form.To).map((row) => [row.state, errorOf(row).code]))}`);
      assert.deepEqual(notInterrupted.slice(0, 10), [], `${notInterrupted.length} of ${onTheWire.length} sends on the wire at the kill did not end "interrupted" with maybeSent`);
      const again = onTheWire.filter((r) => mock.requests.slice(restartedFrom, helpFrom).some((later) => later.form.To === r.form.To && later.form.Body === r.form.Body));
      assert.deepEqual(again.map((r) => `${r.form.To}: "${r.form.Body.slice(0, 30)}"`), [], 'sent again after the restart');
    });

    it('compliance: no SMS to an opted-out number but its one confirmation and the answer to its HELP', function () {
      assert.deepEqual(compliance.violations.slice(0, 20), [], `${compliance.violations.length} violations`);
      assert.ok(compliance.toOptedOut >= 1);
      const helps = mock.requests.slice(helpFrom);
      const unanswered = customers.filter((c) => c.kind === 'stop' && !helps.some((r) => r.form.To === c.phone && r.answered === 200 && HELP_ANSWER.test(r.form.Body)));
      assert.deepEqual(unanswered.slice(0, 10).map((c) => c.phone), [], `${unanswered.length} opted-out customers got no answer to their HELP`);
    });

    it('keeps the credentials out of the console and GET /flows', async function () {
      const flows = await red.admin('/flows');
      assert.equal(flows.status, 200);
      await wait(100);
      assert.deepEqual(findSecrets(SECRETS, [['console', red.log()], ['GET /flows', flows.text]]), []);
    });

    it('stops cleanly on SIGINT afterwards', async function () {
      const { code, signal } = present(await red.stop());
      assert.equal(signal, null);
      assert.equal(code, 0);
      assert.doesNotMatch(red.log(), /\[error\]/, 'errors were logged');
    });
  });
});

// The same crash with delivery reports on (issue 12): the account has a public URL, so every send
// carries a StatusCallback and a CustomField, and "Exotel" posts a report for every SMS it accepted,
// again until Node-RED answers 200. A send that was on the wire at the kill is settled by its report
// (sent, late) or, when none comes within reconcileAfterMs (the request never reached Exotel), sent
// again: every acknowledged STOP gets its confirmation, and none gets two.
describe('drill: crash with delivery reports — kill -9 while confirmations are on the wire', function () {
  this.timeout(300_000);
  const STOPS = 1000;
  const KILL_AT = 500;
  const RECONCILE_AFTER_MS = 8000;
  const random = prng(SEED + 12);
  const customers = Array.from({ length: STOPS }, (_, i): Customer => ({ i, phone: indianMobile(620_000 + i), kind: 'stop', sid: smsSid(random), body: ['STOP', 'stop', 'Stop.'][i % 3] }));
  const fields = (c: Customer) => ({ SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: c.body, DateCreated: '2026-11-26 10:30:00', AccountSid: ACCOUNT_SID });
  let mock: DrillExotel;
  let red: NodeRedChild;
  let agent: http.Agent | undefined;
  const acked = new Set<string>();
  let onTheWire: DrillRequest[] = [];
  let outbox: Row[] = [];
  const figures: Record<string, unknown> = {};

  before(async function () {
    const latency = prng(SEED + 13);
    mock = await new DrillExotel({
      decide: () => ({ delayMs: 40 + Math.floor(latency() * 40) }),
      reports: { target: (callback) => { const url = new URL(callback); return `${red.baseUrl}${url.pathname}${url.search}`; }, retryMs: 300 },
    }).start();
    const { flow, credentials } = liveExample(EXAMPLE, {
      mockUrl: mock.url, accountSid: ACCOUNT_SID, rateLimit: 1_000_000,
      credentials: { apiKey: SECRETS[0], apiToken: SECRETS[1], webhookToken: TOKEN },
    });
    for (const node of flow) if (node.type === 'exotel-account') node.publicUrl = 'https://sms.example.in';
    red = await NodeRedChild.create({ flows: flow, credentials, exotelSms: { retryBaseDelayMs: 50, replayWindowMs: 500, reconcileAfterMs: RECONCILE_AFTER_MS }, label: 'crash-reports' });
    await red.start();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    // 1. the STOPs, and kill -9 once half of them are acknowledged and some confirmations are at Exotel unanswered
    let killing = null as Promise<Exit | null> | null;
    const atExotel = () => mock.requests.filter((r) => r.answered === null).length;
    await runPool(customers, CONCURRENCY, async (c) => {
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      if (res.status !== 200) return;
      acked.add(c.sid);
      if (acked.size === KILL_AT && !killing) {
        killing = (async () => {
          const since = Date.now();
          while (atExotel() < 2 && Date.now() - since < 3000) await new Promise((resolve) => setImmediate(resolve));
          onTheWire = mock.requests.filter((r) => r.answered === null);
          return red.kill9();
        })();
      }
    }, { stop: () => !!killing });
    const exit = await killing;
    figures.killedBy = exit?.signal;
    figures.ackedAtKill = acked.size;
    figures.onTheWireAtKill = onTheWire.length;
    agent?.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    // 2. the restart; "Exotel" posts every STOP again (its retries), and its reports reach the new process
    await red.start();
    await runPool(customers, CONCURRENCY, async (c) => {
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      if (res.status === 200) acked.add(c.sid);
    });
    // settled: nothing queued or waiting for its report, every report answered, for longer than the reconcile wait
    const signature = () => {
      const rows = withStoreFile(red.storePath, (s) => s.outbox());
      return [mock.requests.length, mock.reportsPending, rows.filter((r) => r.state !== 'failed').length, rows.length];
    };
    await settle(signature, { quietMs: RECONCILE_AFTER_MS + 3000, timeoutMs: 180_000, what: 'the sends and their reports to settle' });
    outbox = withStoreFile(red.storePath, (s) => s.outbox());
    figures.apiRequests = mock.requests.length;
    figures.reports = mock.reported.size;
  });

  after(async function () {
    agent?.destroy();
    if (red) {
      await red.stop();
      if (process.env.DRILL_KEEP) console.log(`      user directory kept: ${red.userDir}`);
      else red.remove();
    }
    await mock?.stop();
    console.log(`      crash drill with reports (seed ${SEED}): ${JSON.stringify(figures)}`);
  });

  it('killed the child with confirmations on the wire', function () {
    assert.equal(figures.killedBy, 'SIGKILL');
    assert.ok(onTheWire.length >= 1, 'no confirmation was on the wire at the kill: the drill did not test the reconcile');
  });

  it('confirms every acknowledged STOP exactly once: none lost, none twice', function () {
    const confirmations = new Map<string, number>();
    for (const r of mock.accepted) if (CONFIRMATION.test(r.form.Body)) confirmations.set(r.form.To, (confirmations.get(r.form.To) ?? 0) + 1);
    const stops = customers.filter((c) => acked.has(c.sid));
    assert.equal(stops.length, STOPS, 'every STOP acknowledged after the repeats');
    const lost = stops.filter((c) => !confirmations.get(c.phone)).map((c) => c.phone);
    const twice = stops.filter((c) => (confirmations.get(c.phone) ?? 0) > 1).map((c) => `${c.phone} (${confirmations.get(c.phone)})`);
    figures.confirmed = stops.length - lost.length;
    assert.deepEqual({ lost: lost.slice(0, 20), twice: twice.slice(0, 20) }, { lost: [], twice: [] }, `${lost.length} lost, ${twice.length} twice`);
  });

  it('ends no send as interrupted and leaves nothing in the outbox', function () {
    const left = outbox.map((row) => `${row.phone}: ${row.state} ${row.error ?? ''}`);
    assert.deepEqual(left.slice(0, 10), []);
  });

  it('settles each send on the wire at the kill by its report, or sends it again when none came', function () {
    // On the wire means Exotel received it: its report came, so it was never sent a second time.
    const again = onTheWire.filter((r) => mock.accepted.filter((a) => a.form.To === r.form.To && CONFIRMATION.test(a.form.Body)).length !== 1);
    assert.deepEqual(again.map((r) => r.form.To), []);
    assert.ok(onTheWire.every((r) => r.sid && mock.reported.has(r.sid)), 'each was reported');
  });

  it('stops cleanly on SIGINT afterwards, with no error logged', async function () {
    const { code, signal } = present(await red.stop());
    assert.deepEqual([code, signal], [0, null]);
    assert.doesNotMatch(red.log(), /\[error\]/, 'errors were logged');
  });
});
