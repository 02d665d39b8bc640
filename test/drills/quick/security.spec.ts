// Failure drill "Security" (issue 6): no token → 401; a wrong token → 401; another account's SID → 403;
// the credentials (API key, API token, webhook token) never appear in logs, statuses, messages or the
// flow export — also when Exotel's error reply echoes them. In node-red-node-test-helper (every log
// call at every level, every status, every message a node sends), then in a real Node-RED child (its
// console at trace level with debug nodes printing whole messages, and GET /flows of the admin API).
// The helper part loads the nodes from src/; the child runs the build (dist/), which `npm test` makes first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SinonSpy } from 'sinon';
import os from 'node:os';
import path from 'node:path';
import { helper, load, settings, collect, getNode, type FlowNode, type Msg } from '../../support/red';
import { present } from '../../support/present';
import { CORE_NODES } from '../../support/examples';
import { DrillExotel } from '../../support/drill-exotel';
import { NodeRedChild } from '../../support/node-red-child';
import { until, httpRequest, findSecrets, wait, seconds } from '../../support/drills';

const API_KEY = 'sec-api-key-4f1c2a9b';
const API_TOKEN = 'sec-api-token-8d3e7f61';
const WEBHOOK_TOKEN = 'sec-hook-token-b52a0c';
const SECRETS = [API_KEY, API_TOKEN, WEBHOOK_TOKEN];
const BASIC = Buffer.from(`${API_KEY}:${API_TOKEN}`).toString('base64');
const ACCOUNT_SID = 'secacct';
const HOOK = '/exotel/sms';
const FORM = 'application/x-www-form-urlencoded';

/** Exotel error replies that echo what they were sent. */
const ECHOES = [
  { status: 401, body: { RestException: { Status: 401, Code: 20003, Message: `Authentication failed for key ${API_KEY} with token ${API_TOKEN}` } } },
  { status: 400, body: { RestException: { Status: 400, Code: 21211, Message: `Invalid To for account ${ACCOUNT_SID} (${API_KEY}:${API_TOKEN}); callback ?token=${WEBHOOK_TOKEN}` } } },
  { status: 403, body: { RestException: { Status: 403, Code: 20005, Message: `Key ${API_KEY} is not allowed` } } },
  { status: 500, body: { RestException: { Status: 500, Code: 50000, Message: `Internal error while sending with ${API_TOKEN}` } } },
];

function flow(mockUrl: string): FlowNode[] {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'acc', type: 'exotel-account', name: 'security drill', accountSid: ACCOUNT_SID, apiBaseUrl: mockUrl, defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 1000 },
    { id: 'in', z: 'tab', type: 'exotel-inbound', account: 'acc', path: HOOK, allowList: '', x: 100, y: 100, wires: [['received', 'sendA', 'print']] },
    { id: 'sendA', z: 'tab', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'Reply to {{payload}}', textType: 'str', attempts: 2, x: 300, y: 100, wires: [['sentA', 'print'], ['failedA', 'print']] },
    { id: 'sendB', z: 'tab', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', attempts: 1, x: 300, y: 200, wires: [['sentB', 'print'], []] },
    { id: 'catchAll', z: 'tab', type: 'catch', scope: null, uncaught: false, x: 100, y: 300, wires: [['caught', 'print']] },
    { id: 'statusAll', z: 'tab', type: 'status', scope: null, x: 100, y: 400, wires: [['statuses', 'print']] },
    { id: 'print', z: 'tab', type: 'debug', active: true, tosidebar: false, console: true, tostatus: false, complete: 'true', targetType: 'full', x: 500, y: 300, wires: [] },
    ...['received', 'sentA', 'failedA', 'sentB', 'caught', 'statuses'].map((id, i) => ({ id, z: 'tab', type: 'helper', x: 700, y: 100 + 40 * i, wires: [] })),
  ];
}

const credentials = { acc: { apiKey: API_KEY, apiToken: API_TOKEN, webhookToken: WEBHOOK_TOKEN } };

type Probe = [what: string, req: { method?: string; path: string; body?: string; headers?: Record<string, string> }, expected: number];

/** What a probe got: its status (or the error when no answer came), body and headers. */
interface Answer {
  what: string;
  expected: number;
  status: number | string | undefined;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** The webhook probes of the drill: [what, request, expected status]. */
function probes(sid: string): Probe[] {
  const form = (fields: Record<string, string>) => new URLSearchParams({ From: '09876543210', To: '08047123456', Body: 'YES', ...fields }).toString();
  return [
    ['no token', { path: HOOK, body: form({ SmsSid: `${sid}-1`, AccountSid: ACCOUNT_SID }) }, 401],
    ['a wrong token', { path: `${HOOK}?token=not-the-token`, body: form({ SmsSid: `${sid}-2`, AccountSid: ACCOUNT_SID }) }, 401],
    ['the token with a character missing', { path: `${HOOK}?token=${WEBHOOK_TOKEN.slice(0, -1)}`, body: form({ SmsSid: `${sid}-3` }) }, 401],
    ['a wrong Basic password', { path: HOOK, headers: { authorization: `Basic ${Buffer.from('exotel:wrong').toString('base64')}` }, body: form({ SmsSid: `${sid}-4` }) }, 401],
    ['the token twice', { path: `${HOOK}?token=${WEBHOOK_TOKEN}&token=${WEBHOOK_TOKEN}`, body: form({ SmsSid: `${sid}-5` }) }, 401],
    ['no token on HEAD', { method: 'HEAD', path: HOOK }, 401],
    ['no token on GET', { method: 'GET', path: `${HOOK}?SmsSid=${sid}-6&From=09876543210&Body=YES` }, 401],
    ['another account’s SID', { path: `${HOOK}?token=${WEBHOOK_TOKEN}`, body: form({ SmsSid: `${sid}-7`, AccountSid: 'someoneelse' }) }, 403],
    ['another account’s SID, by Basic', { path: HOOK, headers: { authorization: `Basic ${Buffer.from(`exotel:${WEBHOOK_TOKEN}`).toString('base64')}` }, body: form({ SmsSid: `${sid}-8`, AccountSid: `${ACCOUNT_SID}2` }) }, 403],
    ['the right token', { path: `${HOOK}?token=${WEBHOOK_TOKEN}`, body: form({ SmsSid: `${sid}-9`, AccountSid: ACCOUNT_SID }) }, 200],
    ['the right token as the Basic password', { path: HOOK, headers: { authorization: `Basic ${Buffer.from(`exotel:${WEBHOOK_TOKEN}`).toString('base64')}` }, body: form({ SmsSid: `${sid}-10` }) }, 200],
  ];
}

async function runProbes(base: string, sid: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const [what, req, expected] of probes(sid)) {
    const method = req.method ?? 'POST';
    const res = await httpRequest({
      url: `${base}${req.path}`, method, body: req.body,
      headers: { ...(req.body ? { 'content-type': FORM, 'content-length': Buffer.byteLength(req.body) } : {}), ...(req.headers ?? {}) },
    });
    answers.push({ what, expected, status: res.status ?? res.error, body: res.body?.toString() ?? '', headers: res.headers ?? {} });
  }
  return answers;
}

function assertProbes(answers: Answer[]) {
  const wrong = answers.filter((a) => a.status !== a.expected).map((a) => `${a.what}: ${a.status}, expected ${a.expected} ${a.body}`);
  assert.deepEqual(wrong, []);
  for (const a of answers.filter((x) => x.expected === 401)) assert.match(a.headers['www-authenticate'] ?? '', /^Basic /, `${a.what}: no WWW-Authenticate`);
  for (const a of answers) assert.deepEqual(findSecrets(SECRETS, [[a.what, a.body]]), [], `${a.what}: the answer shows a credential`);
}

describe('drill: security — tokens, account SIDs, and credentials kept out of everything a user sees', function () {
  this.timeout(60_000);

  describe('in node-red-node-test-helper', function () {
    let dir: string;
    let mock: DrillExotel;
    let server: http.Server;
    let base: string;
    let got: Record<string, Msg[]>;

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-security-drill-'));
      mock = await new DrillExotel().start();
      settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db'), retryBaseDelayMs: 5 } });
      const app = await load(flow(mock.url), credentials, CORE_NODES);
      server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      got = Object.fromEntries(['received', 'sentA', 'failedA', 'sentB', 'caught', 'statuses'].map((id) => [id, collect(getNode(id))]));
    });

    after(async function () {
      if (server) await new Promise((resolve) => server.close(resolve));
      await helper.unload();
      await mock?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('answers 401 without the token or with a wrong one, 403 for another account’s SID, 200 with the token', async function () {
      const answers = await runProbes(base, 'sec-helper');
      assertProbes(answers);
      await until(() => got.received.length === 2, 3000, 'the two authenticated callbacks to reach the flow');
      assert.deepEqual(got.received.map((m) => m.sms.sid).sort(), ['sec-helper-10', 'sec-helper-9']);
    });

    it('keeps the credentials out of msg.error when Exotel’s error reply echoes them', async function () {
      // each echo through the wired failure output (sendA, fed by an inbound SMS) and the unwired one (sendB → Catch)
      for (const [i, echo] of ECHOES.entries()) {
        mock.answer(echo, echo); // sendA tries twice when the answer is retryable
        const res = await httpRequest({ url: `${base}${HOOK}?token=${WEBHOOK_TOKEN}`, headers: { 'content-type': FORM }, body: `SmsSid=sec-echo-${i}&From=0987654321${i}&Body=hi` });
        assert.equal(res.status, 200);
        await until(() => got.failedA.length === i + 1, 5000, `sendA to fail on echo ${i}`);
        mock.script.length = 0;
        mock.answer(echo);
        getNode('sendB').receive({ phone: `0987654321${i}`, payload: 'hello' });
        await until(() => got.caught.length === i + 1, 5000, `sendB's failure to reach the Catch node on echo ${i}`);
        mock.script.length = 0;
      }
      for (const m of got.failedA) assert.match(String(m.error.message), /\*\*\*/, `the echo was not redacted: ${m.error.message}`);
      assert.equal(got.failedA.length, ECHOES.length);
      assert.equal(got.caught.length, ECHOES.length);
    });

    it('shows no credential in any log line, status, message or the flow export', async function () {
      await wait(600); // the throttled statuses
      // the helper spies on the methods of Node's prototype
      const NodeProto = Object.getPrototypeOf(getNode('in')) as Record<string, SinonSpy | undefined>;
      const spied = (name: string) => (NodeProto[name]?.args ?? []).map((args, i): [string, unknown] => [`node.${name} #${i}`, args]);
      const redNodes = (helper as unknown as { _redNodes: { getFlows(): unknown } })._redNodes;
      const haystacks: [string, unknown][] = [
        ...helper.log().args.map((args, i): [string, unknown] => [`RED.log #${i}`, args]),
        ...['status', 'send', 'log', 'warn', 'error', 'debug', 'trace'].flatMap(spied),
        ...Object.entries(got).flatMap(([id, msgs]) => msgs.map((m, i): [string, unknown] => [`${id} message #${i}`, m])),
        ['flow export', redNodes.getFlows()],
      ];
      assert.ok(helper.log().args.length > 0 && (NodeProto.status?.args.length ?? 0) > 0, 'the spies saw nothing');
      assert.ok(got.statuses.length > 0, 'the Status node saw nothing');
      const found = findSecrets(SECRETS, haystacks);
      assert.deepEqual(found.slice(0, 10), [], `${found.length} places show a credential`);
    });

    it('keeps the credentials out of msg.error when Exotel echoes the Authorization header (Base64 of key:token)', async function () {
      mock.answer({ status: 401, body: { RestException: { Status: 401, Code: 20003, Message: `Bad credentials in "Authorization: Basic ${BASIC}"` } } });
      const failedBefore = got.failedA.length;
      const res = await httpRequest({ url: `${base}${HOOK}?token=${WEBHOOK_TOKEN}`, headers: { 'content-type': FORM }, body: 'SmsSid=sec-echo-basic&From=09876543219&Body=hi' });
      assert.equal(res.status, 200);
      await until(() => got.failedA.length === failedBefore + 1, 5000, 'sendA to fail');
      const found = findSecrets([BASIC, ...SECRETS], [['msg.error', got.failedA.at(-1)?.error], ['RED.log', helper.log().args]]);
      assert.deepEqual(found, [], 'the Base64 of key:token decodes to both credentials');
    });
  });

  describe('in a real Node-RED (console at trace level, debug nodes printing whole messages, admin API)', function () {
    let mock: DrillExotel;
    let red: NodeRedChild;

    before(async function () {
      mock = await new DrillExotel().start();
      // the same flow without the test helper's nodes
      const nodes = flow(mock.url).filter((n) => n.type !== 'helper');
      const ids = new Set(nodes.map((n) => n.id));
      const flows = nodes.map((n) => (n.wires ? { ...n, wires: n.wires.map((w) => w.filter((id) => ids.has(id))) } : n));
      red = await NodeRedChild.create({ flows, credentials, exotelSms: { retryBaseDelayMs: 5 }, logLevel: 'trace', label: 'security' });
      await red.start();
    });

    after(async function () {
      if (red) {
        await red.stop();
        if (process.env.DRILL_KEEP) console.log(`      user directory kept: ${red.userDir}`);
        else red.remove();
      }
      await mock?.stop();
    });

    it('answers 401 / 401 / 403 / 200 over HTTP and keeps the credentials out of its console and GET /flows', async function () {
      const started = Date.now();
      assertProbes(await runProbes(red.baseUrl, 'sec-child'));
      for (const [i, echo] of ECHOES.entries()) {
        mock.answer(echo, echo);
        const res = await httpRequest({ url: `${red.baseUrl}${HOOK}?token=${WEBHOOK_TOKEN}`, headers: { 'content-type': FORM }, body: `SmsSid=sec-child-echo-${i}&From=0987654321${i}&Body=hi` });
        assert.equal(res.status, 200);
      }
      await until(() => mock.requests.length >= ECHOES.length + 2, 10_000, 'the sends to reach the mock');
      await wait(1000);
      assert.match(red.log(), /sec-child-echo-3/, 'the debug node printed the messages');
      assert.match(red.log(), /Exotel: Authentication failed for key \*\*\* with token \*\*\*/, 'the debug node printed msg.error, redacted');

      const flowsV1 = await red.admin('/flows');
      const flowsV2 = await red.admin('/flows', { 'Node-RED-API-Version': 'v2' });
      assert.equal(flowsV1.status, 200);
      assert.equal(flowsV2.status, 200);
      assert.match(flowsV1.text, /exotel-account/);
      const stopped = present(await red.stop());
      assert.equal(stopped.code, 0);
      const found = findSecrets(SECRETS, [['console', red.log()], ['GET /flows', flowsV1.text], ['GET /flows v2', flowsV2.text]]);
      assert.deepEqual(found.slice(0, 10), [], `${found.length} places show a credential`);
      console.log(`      security drill (real Node-RED): ${probes('x').length} probes, ${ECHOES.length} echoing error replies, console ${red.log().length} characters at trace level, ${seconds(Date.now() - started)}`);
    });
  });
});
