// Failure drill "Duplicates" (issue 6): every SmsSid posted three times, concurrently → exactly one
// reply each. Example 06 (all scenarios on one webhook) as shipped, its account switched to live
// against a mock Exotel, in node-red-node-test-helper over real HTTP. Three rounds from the same
// numbers, so that the duplicates hit an opt-out, an opt-in and a conversation step too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { helper, load, settings, until } from '../../support/red';
import { CORE_NODES } from '../../support/examples';
import { DrillExotel } from '../../support/drill-exotel';
import {
  prng,
  seedFromEnv,
  smsSid,
  indianMobile,
  runPool,
  wait,
  settle,
  postCallback,
  liveExample,
  withStoreFile,
  checkCompliance,
  seconds,
} from '../../support/drills';

const EXAMPLE = '06 - All scenarios on one number.json';
const HOOK = '/exotel/sms';
const TOKEN = 'dup-drill-hook-31c7e0';
const ACCOUNT_SID = 'drillacct';
const SEED = seedFromEnv(6001);

const CONFIRMATION = /unsubscribed from ExampleStore/;
type Kind = 'stop' | 'order' | 'help' | 'other';
interface Customer {
  i: number;
  phone: string;
  local: string;
  kind: Kind;
}

const TEXT = {
  confirmation: CONFIRMATION,
  askId: /^Please reply with your order ID\.$/,
  help: /reply ORDER for your order status/,
  fallback: /did not understand/,
  subscribed: /^You are now subscribed/,
  status: (id: string) => new RegExp(`^Your order ${id} status: Shipped`),
};

describe('drill: duplicates — every SmsSid posted three times at once gets exactly one reply', function () {
  this.timeout(60_000);
  let dir: string;
  let mock: DrillExotel;
  let server: http.Server;
  let base: string;
  let agent: http.Agent|undefined;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-dup-drill-'));
    mock = await new DrillExotel().start();
    settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db'), retryBaseDelayMs: 5, conversationHoldMs: 500, conversationTimerMs: 250, replayWindowMs: 50 } });
    const { flow, credentials } = liveExample(EXAMPLE, {
      mockUrl: mock.url, accountSid: ACCOUNT_SID, rateLimit: 100_000,
      credentials: { apiKey: 'dup-key-5a1f', apiToken: 'dup-token-9c2e', webhookToken: TOKEN },
    });
    const app = await load(flow, credentials, CORE_NODES);
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new http.Agent({ keepAlive: true, maxSockets: 60 });
  });

  after(async function () {
    agent?.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
    await helper.unload();
    await mock?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers each SmsSid once, through opt-out, opt-in and a conversation', async function () {
    const random = prng(SEED);
    const started = Date.now();
    // 150 customers: 30 send STOP, 45 ORDER, 40 HELP, 35 something else
    const customers: Customer[] = [];
    for (let i = 0; i < 150; i++) {
      const kind: Kind = i < 30 ? 'stop' : i < 75 ? 'order' : i < 115 ? 'help' : 'other';
      customers.push({ i, phone: indianMobile(6000 + i), local: `0${indianMobile(6000 + i).slice(3)}`, kind });
    }
    // what each customer sends in each round, and the reply expected (null: nothing may be sent)
    type Step = [body: string, expect: RegExp | null];
    const rounds: ((c: Customer) => Step)[] = [
      (c: Customer) => ({ stop: ['STOP', TEXT.confirmation], order: ['ORDER', TEXT.askId], help: ['HELP', TEXT.help], other: ['hello there', TEXT.fallback] } satisfies Record<Kind, Step>)[c.kind],
      (c: Customer) => ({ stop: ['HELP', TEXT.help], order: [`A${c.i}`, TEXT.status(`A${c.i}`)], help: ['STOP', TEXT.confirmation], other: ['START', TEXT.subscribed] } satisfies Record<Kind, Step>)[c.kind],
      (c: Customer) => ({ stop: ['START', TEXT.subscribed], order: ['HELP', TEXT.help], help: ['ORDER', null], other: ['STOP', TEXT.confirmation] } satisfies Record<Kind, Step>)[c.kind],
    ];

    let posts = 0;
    let duplicatesPosted = 0;
    const allSids: string[] = [];
    const figures: string[] = [];
    for (let r = 0; r < rounds.length; r++) {
      const from = mock.requests.length;
      const jobs = customers.map((c) => ({ c, sid: smsSid(random), body: rounds[r](c)[0], expect: rounds[r](c)[1] }));
      const statuses: (string|number|undefined)[] = [];
      await runPool(jobs, 30, async (job) => {
        allSids.push(job.sid);
        const fields = { SmsSid: job.sid, From: job.c.local, To: '08047123456', Body: job.body, DateCreated: '2026-11-26 10:30:00', AccountSid: ACCOUNT_SID };
        // three copies at once, a few ms apart at most: some land in one group commit, some in the next
        const copies = await Promise.all([0, 1, 2].map(async (k) => {
          if (k > 0) await wait(Math.floor(random() * 4));
          return postCallback(base, HOOK, TOKEN, fields, agent);
        }));
        posts += 3;
        duplicatesPosted += 2;
        statuses.push(...copies.map((res) => res.status ?? res.error));
      });
      const bad = statuses.filter((s) => s !== 200);
      assert.deepEqual(bad, [], `round ${r + 1}: every copy must be answered 200`);
      await settle(() => [mock.requests.length, mock.accepted.length], { quietMs: 1200, timeoutMs: 30_000, what: `round ${r + 1}'s replies` });

      const inRound = mock.requests.slice(from);
      const accepted = inRound.filter((x) => x.answered === 200);
      const byTo = new Map<string, string[]>();
      for (const x of accepted) {
        if (!byTo.has(x.form.To)) byTo.set(x.form.To, []);
        byTo.get(x.form.To)?.push(x.form.Body);
      }
      const problems: string[] = [];
      for (const job of jobs) {
        const got = byTo.get(job.c.phone) ?? [];
        if (job.expect === null) {
          if (got.length !== 0) problems.push(`${job.c.phone} (${job.c.kind}, "${job.body}") must get nothing, got ${JSON.stringify(got)}`);
        } else if (got.length !== 1 || !job.expect.test(got[0])) {
          problems.push(`${job.c.phone} (${job.c.kind}, "${job.body}", SmsSid ${job.sid}) must get exactly one ${job.expect}, got ${JSON.stringify(got)}`);
        }
      }
      assert.deepEqual(problems, [], `round ${r + 1}`);
      assert.equal(inRound.length, accepted.length, `round ${r + 1}: the mock answered every request 200, so none was retried`);
      figures.push(`round ${r + 1}: ${jobs.length} SmsSids × 3 → ${accepted.length} SMS`);
    }

    // handled for good once the flow has had the replay window (50 ms here) to act on each SMS
    await until(() => withStoreFile(path.join(dir, 'exotel-sms.db'), (s) => s.unhandled()) === 0, 5000, 'the handled marks');
    const store = withStoreFile(path.join(dir, 'exotel-sms.db'), (s) => ({ inbound: s.inboundSids(), asked: s.inbound(), history: s.history(), unhandled: s.unhandled() }));
    assert.equal(store.inbound.size, allSids.length, 'one inbound row per SmsSid');
    for (const sid of allSids) assert.ok(store.inbound.has(sid), `${sid} is not in the inbound log`);
    assert.equal(store.unhandled, 0, 'every logged SMS was handed to the flow');

    // the answer to a HELP sent after STOP may reach the number (information the customer asked for)
    const asked = store.asked.map((row) => ({ phone: String(row.from_number), body: String(row.body), at: Number(row.recorded_at) }));
    const compliance = checkCompliance({ requests: mock.received, history: store.history, isConfirmation: (b) => CONFIRMATION.test(b), help: { isAnswer: (b) => TEXT.help.test(b), asked } });
    assert.deepEqual(compliance.violations, [], 'compliance: no SMS to an opted-out number but its one confirmation and answers to its HELP');
    console.log(`      duplicates drill (seed ${SEED}): ${posts} posts (${duplicatesPosted} duplicates) of ${allSids.length} SmsSids → ${mock.accepted.length} SMS; ` +
      `${figures.join('; ')}; compliance: ${compliance.checked} API requests, ${compliance.toOptedOut} to opted-out numbers, each a confirmation or an answer to HELP; ${seconds(Date.now() - started)}`);
  });
});
