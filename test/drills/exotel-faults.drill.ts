// Failure drill "Exotel faults", long form (issue 6): a real Node-RED child running example 06 against a
// mock Exotel that answers 30% 500, some 429 with Retry-After, some slower than the send timeout, and
// resets some connections; kill -9 while replies wait for their retries (the outbox), start again, and
// let "Exotel" repeat every callback. Every reply must end sent (accepted by the API) or failed (a
// `failed` row in the outbox, with a code and a reason); none vanish; no customer gets its reply twice;
// a customer who sent STOP gets nothing but the confirmation and the answer to a HELP.
//
// The kill comes only once every reply is durable (accepted by the API, or in the outbox): what this
// drill tests is the outbox and the retries, not the inbound side (the crash drill does that).
// The child runs the build (dist/): `npm run test:drills` builds first.
import assert from 'node:assert/strict';
import http from 'node:http';
import { connectionsFor } from '../../src/nodes/exotel-account';
import { DrillExotel, type DrillRequest } from '../support/drill-exotel';
import { NodeRedChild } from '../support/node-red-child';
import { present } from '../support/present';
import {
  prng,
  seedFromEnv,
  weighted,
  smsSid,
  indianMobile,
  runPool,
  settle,
  until,
  postCallback,
  liveExample,
  withStoreFile,
  checkCompliance,
  seconds,
  type Row,
} from '../support/drills';

const SEED = seedFromEnv(6201);
const CUSTOMERS = 900;
const STOPPERS = 100; // send STOP first, then HELP in the storm
const CONCURRENCY = 50;
const EXAMPLE = '06 - All scenarios on one number.json';
const HOOK = '/exotel/sms';
const TOKEN = 'faults-drill-hook-7e21';
const ACCOUNT_SID = 'faultsacct';
const API_TIMEOUT_MS = 1000;
const SLOW_MS = 1500;
const ATTEMPTS = 4; // the send nodes' attempts in example 06
const CONFIRMATION = /unsubscribed from ExampleStore/;
const REPLY = { HELP: /reply ORDER for your order status/, hello: /did not understand/ };

type Customer = { i: number; phone: string; sid: string; body: keyof typeof REPLY; stopper: boolean };

/** Who gets a reply in the storm: everyone but a customer who sent STOP and then "hello" (HELP is answered after STOP). */
const expectsReply = (c: Customer) => !c.stopper || c.body === 'HELP';

/** What the drill prints at its end (and some of its checks read). */
interface Figures {
  storm?: { outcomes: Record<string, number>; ms: number };
  atKill?: { ms: number; apiRequests: number; queued: number; failed: number; atExotelUnanswered: number };
  end?: { ms: number; apiRequests: number; answered: Record<string, number>; mix: Record<string, number>; clientGaveUp: number; outboxQueued: number; outboxFailed: number; resumed: number[] };
  failed?: { replies: number; expected: number; interrupted: number; codes: Record<string, number> };
  twice?: Record<string, number>;
}

describe('drill: Exotel faults with kill -9 while replies wait for their retries', function () {
  this.timeout(300_000);
  const random = prng(SEED);
  const customers = Array.from({ length: CUSTOMERS }, (_, i): Customer => ({
    i, phone: indianMobile(620_000 + i), sid: smsSid(random), body: i % 3 === 0 ? 'hello' : 'HELP', stopper: i < STOPPERS,
  }));
  const fields = (c: Customer, overrides: Record<string, string> = {}) => ({ SmsSid: c.sid, From: `0${c.phone.slice(3)}`, To: '08047123456', Body: c.body, AccountSid: ACCOUNT_SID, ...overrides });

  let mock: DrillExotel;
  let red: NodeRedChild;
  let agent: http.Agent|undefined;
  let killedAt: number;
  let stormFrom: number; // first API request of the storm (after the STOPs' confirmations)
  let stormAt: number;
  const figures: Figures = {};
  const kinds: Record<string, number> = {};
  let end: { outbox: Row[]; history: Row[] };

  const outboxRows = () => withStoreFile(red.storePath, (s) => s.outbox());
  const signature = () => {
    const rows = outboxRows();
    return [mock.requests.length, mock.requests.filter((r) => r.answered === null).length, rows.length, rows.filter((r) => r.state === 'queued').length];
  };

  before(async function () {
    const faults = prng(SEED + 1);
    mock = await new DrillExotel({
      decide(record) {
        if (CONFIRMATION.test(record.form.Body)) return { delayMs: 20 }; // the confirmations of the first STOPs: no fault
        const kind = weighted(faults, [[30, '500'], [8, '429'], [5, 'slow'], [5, 'reset'], [52, 'ok']]);
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        switch (kind) {
          case '500': return { status: 500, delayMs: 10 };
          case '429': return { status: 429, headers: { 'retry-after': '1' } };
          case 'slow': return { delayMs: SLOW_MS };
          case 'reset': return { reset: true, delayMs: 10 };
          default: return { delayMs: 20 + Math.floor(faults() * 40) };
        }
      },
    }).start();
    const { flow, credentials } = liveExample(EXAMPLE, {
      mockUrl: mock.url, accountSid: ACCOUNT_SID, rateLimit: 12_000,
      credentials: { apiKey: 'faults-key-1', apiToken: 'faults-token-2', webhookToken: TOKEN },
    });
    red = await NodeRedChild.create({ flows: flow, credentials, exotelSms: { retryBaseDelayMs: 300, apiTimeoutMs: API_TIMEOUT_MS, replayWindowMs: 500 }, label: 'faults' });
    await red.start();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    // 0. the stoppers opt out (and get their confirmation), before the storm
    const stoppers = customers.filter((c) => c.stopper);
    await runPool(stoppers, CONCURRENCY, (c) => postCallback(red.baseUrl, HOOK, TOKEN, fields(c, { SmsSid: `${c.sid}-stop`, Body: 'STOP' }), agent));
    await until(() => mock.accepted.filter((r) => CONFIRMATION.test(r.form.Body)).length === STOPPERS, 30_000, 'the confirmations of the first STOPs');
    stormFrom = mock.requests.length;
    stormAt = Date.now();

    // 1. the storm of callbacks; every reply goes through the faults
    const started = Date.now();
    const outcomes: Record<string, number> = {};
    await runPool(customers, CONCURRENCY, async (c) => {
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      outcomes[String(res.status ?? res.error)] = (outcomes[String(res.status ?? res.error)] ?? 0) + 1;
    });
    figures.storm = { outcomes, ms: Date.now() - started };

    // 2. once every reply is durable (accepted, or in the outbox), and some still wait: kill -9
    const durable = () => {
      const inOutbox = new Set(outboxRows().map((r) => r.phone));
      const accepted = new Set(mock.accepted.slice(stormFrom).map((r) => r.form.To));
      return customers.filter((c) => expectsReply(c) && (inOutbox.has(c.phone) || accepted.has(c.phone))).length;
    };
    await until(() => durable() === customers.filter(expectsReply).length, 60_000, 'every reply to be accepted or in the outbox');
    const rows = outboxRows();
    figures.atKill = { ms: Date.now() - started, apiRequests: mock.requests.length - stormFrom, queued: rows.filter((r) => r.state === 'queued').length, failed: rows.filter((r) => r.state === 'failed').length, atExotelUnanswered: mock.requests.filter((r) => r.answered === null).length };
    killedAt = Date.now();
    await red.kill9();

    // 3. start again; "Exotel" repeats every callback (it cannot know which 200s were real)
    await red.start();
    agent?.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    await runPool(customers, CONCURRENCY, async (c) => {
      const res = await postCallback(red.baseUrl, HOOK, TOKEN, fields(c), agent);
      outcomes[`repeat ${res.status ?? res.error}`] = (outcomes[`repeat ${res.status ?? res.error}`] ?? 0) + 1;
    });
    await settle(signature, { quietMs: 4000, timeoutMs: 180_000, what: 'the outbox to drain' });
    const history = withStoreFile(red.storePath, (s) => s.history());
    end = { outbox: outboxRows(), history };
    figures.end = {
      ms: Date.now() - started,
      apiRequests: mock.requests.length - stormFrom,
      answered: mock.answerCounts(),
      mix: kinds,
      clientGaveUp: mock.requests.filter((r) => r.clientGone).length,
      outboxQueued: end.outbox.filter((r) => r.state === 'queued').length,
      outboxFailed: end.outbox.filter((r) => r.state === 'failed').length,
      resumed: [...red.log().matchAll(/sending (\d+) messages queued before the restart/g)].map((m) => Number(m[1])),
    };
  });

  after(async function () {
    agent?.destroy();
    if (red) {
      await red.stop();
      if (process.env.DRILL_KEEP) console.log(`      user directory kept: ${red.userDir}`);
      else red.remove();
    }
    await mock?.stop();
    console.log(`      Exotel-faults drill (seed ${SEED}): ${JSON.stringify(figures)}`);
  });

  /** How a customer's reply ended: accepted API requests after the storm began, and its outbox rows. */
  const endings = () => {
    const byTo = new Map<string, DrillRequest[]>();
    for (const r of mock.requests.slice(stormFrom)) {
      if (!byTo.has(r.form.To)) byTo.set(r.form.To, []);
      byTo.get(r.form.To)?.push(r);
    }
    return customers.map((c) => {
      const requests = byTo.get(c.phone) ?? [];
      return { c, requests, accepted: requests.filter((r) => r.answered === 200), rows: end.outbox.filter((r) => r.phone === c.phone) };
    });
  };

  it('answers every callback 200, before the kill and after it', function () {
    const bad = Object.entries(present(figures.storm).outcomes).filter(([k]) => !/^(repeat )?200$/.test(k));
    assert.deepEqual(bad, []);
  });

  it('killed the child while replies waited in the outbox', function () {
    assert.ok(present(figures.atKill).queued > 0, 'nothing waited in the outbox at the kill: the drill did not test it');
    assert.ok(present(figures.end).resumed.reduce((a, b) => a + b, 0) > 0, 'nothing was resumed from the outbox after the restart');
  });

  it('ends every reply sent or failed with a code and a reason: none vanish, none left queued', function () {
    assert.equal(present(figures.end).outboxQueued, 0, 'replies still queued in the outbox');
    const vanished: string[] = [];
    const noReason: string[] = [];
    for (const e of endings()) {
      if (!expectsReply(e.c)) continue;
      const failed = e.rows.filter((r) => r.state === 'failed');
      if (e.accepted.length === 0 && failed.length === 0) vanished.push(`${e.c.phone} ("${e.c.body}"): ${e.requests.map((r) => r.answered).join(', ') || 'never reached the API'}`);
      for (const row of failed) {
        const error = JSON.parse(row.error ?? 'null');
        if (!error || error.code === undefined || error.code === '' || typeof error.message !== 'string' || error.message.length < 5) noReason.push(`${row.phone}: ${row.error}`);
      }
    }
    assert.deepEqual(vanished.slice(0, 20), [], `${vanished.length} replies vanished`);
    assert.deepEqual(noReason.slice(0, 10), []);
  });

  it('sends each reply once: the API accepts a reply again only after an attempt the client gave up on', function () {
    // Each accepted copy but a customer's last must be one whose answer came after apiTimeoutMs (a "slow"
    // answer): the client counted a timeout, may not know it went, and tried again, as the issue asks.
    // One slow copy excuses one more copy, not any number; a copy accepted in time and sent again is a
    // fault of ours, before or across the kill.
    const twice: Record<string, string[]> = {};
    const counts: Record<string, number> = {};
    for (const e of endings()) {
      for (let i = 0; i + 1 < e.accepted.length; i++) {
        const [copy, next] = [e.accepted[i], e.accepted[i + 1]];
        const slow = (copy.step?.delayMs ?? 0) >= API_TIMEOUT_MS;
        const why = slow
          ? 'the API answered slower than apiTimeoutMs, and the send was tried again'
          : copy.at < killedAt && next.at > killedAt
            ? 'accepted by the API before the kill, sent again after the restart'
            : 'accepted by the API in time, and sent again';
        counts[why] = (counts[why] ?? 0) + 1;
        if (!slow) (twice[why] ??= []).push(`${e.c.phone}: ${e.requests.map((r) => `${r.answered}${(r.step?.delayMs ?? 0) >= API_TIMEOUT_MS ? ' (slow)' : ''}${r.at > killedAt && (r === e.requests[0] || e.requests[e.requests.indexOf(r) - 1].at < killedAt) ? ' | kill |' : ''}`).join(', ')}`);
      }
    }
    figures.twice = counts;
    const summary = Object.entries(twice).map(([why, list]) => `${list.length} × ${why}, e.g. ${list[0]}`);
    assert.deepEqual(summary, []);
  });

  it('fails no more replies than the fault mix explains', function () {
    // per attempt, 30% 500 + 8% 429 + 5% slow + 5% reset fail: 4 attempts all fail for about 0.48^4 ≈ 5% of the replies
    const replies = customers.filter(expectsReply).length;
    const expected = replies * 0.48 ** 4;
    // replies on the wire at the kill fail as "interrupted" (at most one per pooled connection, which
    // the account sizes by its rate limit)
    const errorOf = (row: Row): { code?: string | number } => JSON.parse(row.error ?? '{}');
    const interrupted = end.outbox.filter((r) => r.state === 'failed' && errorOf(r).code === 'interrupted');
    const onTheWire = connectionsFor(12_000);
    assert.ok(interrupted.length <= onTheWire, `${interrupted.length} replies interrupted: more than the ${onTheWire} connections could have on the wire`);
    const failed = end.outbox.filter((r) => r.state === 'failed' && errorOf(r).code !== 'interrupted');
    const codes: Record<string, number> = {};
    for (const row of failed) {
      const code = JSON.parse(row.error ?? '{}').code;
      codes[code] = (codes[code] ?? 0) + 1;
    }
    figures.failed = { replies, expected: Math.round(expected), interrupted: interrupted.length, codes };
    assert.ok(failed.length <= 3 * expected, `${failed.length} of ${replies} replies failed for good (${JSON.stringify(codes)}); the faults explain about ${Math.round(expected)}`);
    // and not almost none, as a client that tried more often, or faults that never reached it, would
    // give. Fewer than `expected` fail (about 25 for this seed): a reply resumed after the restart gets
    // its attempts afresh, and those on the wire at the kill end "interrupted". The check per reply
    // below is the exact one.
    assert.ok(failed.length >= expected / 4, `only ${failed.length} of ${replies} replies failed for good (${JSON.stringify(codes)}); the faults make about ${Math.round(expected)} fail`);
    // Each reply, exactly: one that failed for good had its last ATTEMPTS attempts fail; none had
    // more than ATTEMPTS attempts on either side of the kill.
    const problems: string[] = [];
    for (const e of endings()) {
      if (!expectsReply(e.c)) continue;
      const failedRow = e.rows.find((r) => r.state === 'failed' && errorOf(r).code !== 'interrupted');
      const before = e.requests.filter((r) => r.at < killedAt).length;
      const after = e.requests.length - before;
      const answers = e.requests.map((r) => r.answered);
      if (before > ATTEMPTS || after > ATTEMPTS) problems.push(`${e.c.phone}: ${before} attempts before the kill and ${after} after (${answers.join(', ')})`);
      // (a slow answer is a failed attempt for the client, which gave up on it)
      const gotThrough = (r: DrillRequest) => r.answered === 200 && (r.step?.delayMs ?? 0) < API_TIMEOUT_MS;
      if (failedRow && (e.requests.length < ATTEMPTS || e.requests.slice(-ATTEMPTS).some(gotThrough))) problems.push(`${e.c.phone}: failed (${failedRow.error}) after ${answers.join(', ')}`);
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} replies did not get their ${ATTEMPTS} attempts`);
    // the mock's 500 (Code 50000), 429 (42900), a slow answer (timeout), a reset (network_error)
    const unexplained = Object.keys(codes).filter((code) => !['50000', '42900', 'timeout', 'network_error'].includes(code));
    assert.deepEqual(unexplained, [], `replies failed for reasons the faults do not explain (${JSON.stringify(codes)})`);
  });

  it('reports as failed only replies the API did not accept, or says that it may have sent them', function () {
    const saysMaybe = (row: Row) => JSON.parse(row.error ?? '{}').maybeSent === true;
    const wrong = endings().filter((e) => e.rows.some((r) => r.state === 'failed' && !saysMaybe(r)) && e.accepted.length > 0)
      .map((e) => `${e.c.phone}: failed (${e.rows.find((r) => r.state === 'failed')?.error}) but accepted ${e.accepted.length}×`);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} replies failed although the API accepted them`);
  });

  it('compliance: customers who sent STOP get nothing but their one confirmation and the answer to their HELP', function () {
    const helped = customers.filter((c) => c.stopper && c.body === 'HELP');
    // One answer per HELP (sent in the storm), and one more copy per copy the client gave up on (slow:
    // see "sends each reply once")
    const slow = (r: DrillRequest) => (r.step?.delayMs ?? 0) >= API_TIMEOUT_MS;
    const asked = helped.flatMap((c) => {
      const copies = 1 + mock.accepted.filter((r) => r.form.To === c.phone && REPLY.HELP.test(r.form.Body) && slow(r)).length;
      return Array.from({ length: copies }, () => ({ phone: c.phone, body: 'HELP', at: stormAt }));
    });
    const compliance = checkCompliance({
      requests: mock.received, history: end.history, isConfirmation: (b) => CONFIRMATION.test(b),
      help: { isAnswer: (b) => REPLY.HELP.test(b), asked },
    });
    assert.deepEqual(compliance.violations.slice(0, 10), []);
    const toStoppers = mock.requests.slice(stormFrom).filter((r) => customers.some((c) => c.stopper && c.phone === r.form.To && !(c.body === 'HELP' && REPLY.HELP.test(r.form.Body))));
    assert.deepEqual(toStoppers.map((r) => `${r.form.To}: ${r.form.Body}`), []);
    assert.ok(mock.accepted.slice(stormFrom).some((r) => helped.some((c) => c.phone === r.form.To)), 'no opted-out customer got the answer to its HELP');
    for (const e of endings()) {
      if (!expectsReply(e.c)) continue;
      for (const r of e.accepted) assert.match(r.form.Body, REPLY[e.c.body], `${e.c.phone} got the wrong reply`);
    }
  });
});
