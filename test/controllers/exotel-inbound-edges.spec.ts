// exotel-inbound's controller at its edges, as Exotel, the flow and the user see it: each refusal
// and its reason, what the node shows under it, what the log says, the sandbox phone's replies, a
// database that goes away and comes back, and when an SMS counts as handled. No Node-RED; the
// node's timers are moved by hand.
import assert from 'node:assert/strict';
import { BodyError } from '../../src/exotel/request-body';
import { parseAllowList } from '../../src/exotel/auth';
import type { InboundSms } from '../../src/exotel/webhook';
import { SqliteStore, StoreUnavailableError, type InboundRecord } from '../../src/store';
import { InboundController, setUp, type InboundCall, type InboundDeps, type InboundMessage, type Reply } from '../../src/nodes/exotel-inbound/controller';
import type { FollowMessage } from '../../src/nodes/shared/ports';
import { claimLosingFirstAnswer, deferred, LogRecorder, ManualTimers, settle, StatusRecorder, translate } from './fakes';

const ROUTE = '/exotel/sms';
const COUNTS = (received: number, duplicate: number, rejected: number) => `status.counts ${JSON.stringify({ received, duplicate, rejected })}`;
const form = (sid: string, extra = '&AccountSid=acct1') => `SmsSid=${sid}&From=09876543210&To=08012345678&Body=HELLO${extra}`;
/** An SMS already in the inbound log (recorded before a restart, or by another instance). */
const earlier = (sid: string, body = 'EARLIER'): InboundRecord => ({ sid, from: '+919876543210', to: '08012345678', body, receivedAt: '2025-01-01T00:00:00.000Z', accountSid: 'acct1', endpoint: ROUTE });
const unavailable = () => new StoreUnavailableError(new Error('Connection terminated unexpectedly'));

function post(body: string, query = 'token=s3cret', more: Partial<InboundCall> = {}): InboundCall {
  return {
    method: 'POST', ip: '10.0.0.1', query, contentType: 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(body), contentType: 'application/x-www-form-urlencoded' }),
    ...more,
  };
}

type Account = InboundDeps['account'];
const ACCOUNT: Account = { accountSid: 'acct1', defaultCountry: 'IN', checkWebhookToken: (given) => given('s3cret'), redact: (t) => t.replace(/s3cret/g, '***') };

/** The store's inbound log, with each call able to fail. */
class Log {
  readonly real = new SqliteStore(':memory:');
  recordFails: (() => Error) | null = null;
  markFails: Error | null = null;
  unhandledFails: Error | null = null;
  recordGate: Promise<void> | null = null;
  readonly marked: string[][] = [];
  recordInbound = async (record: InboundRecord) => {
    if (this.recordGate) await this.recordGate;
    if (this.recordFails) throw this.recordFails();
    return this.real.recordInbound(record);
  };
  markInboundHandled = async (sids: string[]) => {
    if (this.markFails) throw this.markFails;
    this.marked.push(sids);
    return this.real.markInboundHandled(sids);
  };
  unhandledInbound = async (endpoint: string) => {
    if (this.unhandledFails) throw this.unhandledFails;
    return this.real.unhandledInbound(endpoint);
  };
}

describe('exotel-inbound controller: refusals, statuses, the database and settling', () => {
  let log: Log;
  let timers: ManualTimers;
  let status: StatusRecorder;
  let nodeLog: LogRecorder;
  let emitted: InboundMessage[];
  const open: InboundController[] = [];

  beforeEach(() => {
    log = new Log();
    timers = new ManualTimers();
    status = new StatusRecorder();
    nodeLog = new LogRecorder();
    emitted = [];
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await log.real.close();
  });

  function inbound(deps: Partial<InboundDeps> = {}) {
    const c = new InboundController({
      routePath: ROUTE, allowList: null, account: ACCOUNT, store: log, translate, status, log: nodeLog, timers,
      emit: (msg) => emitted.push(msg),
      replayWindowMs: 1_000,
      ...deps,
    });
    open.push(c);
    return c;
  }

  async function answer(c: InboundController, call: InboundCall): Promise<Reply> {
    let reply: Reply | undefined;
    await c.callback(call, (r) => (reply = r));
    return reply!;
  }

  const lines = (level: string) => nodeLog.lines.filter((l) => l.level === level).map((l) => l.text);

  describe('set-up', () => {
    const free = () => undefined;
    it('says what is wrong, with the values the message names', () => {
      assert.deepEqual(setUp({ path: '/sms' }, false, free, 'n'), { ok: false, status: 'status.noAccount', error: 'error.noAccount', vars: {} });
      assert.deepEqual(setUp({ path: '/sms/:id' }, true, free, 'n'), { ok: false, status: 'status.badPath', error: 'error.badPath', vars: { path: '/sms/:id' } });
      assert.deepEqual(setUp({}, true, free, 'n'), { ok: false, status: 'status.badPath', error: 'error.badPath', vars: { path: '' } });
      assert.deepEqual(setUp({ path: `/${'x'.repeat(70)} y` }, true, free, 'n'), { ok: false, status: 'status.badPath', error: 'error.badPath', vars: { path: `/${'x'.repeat(59)}` } });
      assert.deepEqual(setUp({ path: '/sms' }, true, () => 'other-node', 'n'), { ok: false, status: 'status.pathInUse', error: 'error.pathInUse', vars: { owner: 'other-node', path: '/sms' } });
      assert.deepEqual(setUp({ path: '/sms', allowList: '10.0.0.1, nonsense' }, true, free, 'n'), {
        ok: false, status: 'status.badAllowList', error: 'error.allowList', vars: { message: '"nonsense" is not an IP address or CIDR range' },
      });
    });
  });

  describe('the status under the node', () => {
    it('listening on its path (grey ring) until the first callback, then the counts (green dot)', async () => {
      const c = inbound();
      assert.deepEqual(status.drawn, [{ fill: 'grey', shape: 'ring', text: 'status.listening {"path":"/exotel/sms"}' }]);
      assert.deepEqual(lines('warn'), []);
      await answer(c, post(form('SM1')));
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(1, 0, 0) });
      await answer(c, post(form('SM1')));
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(1, 1, 0) });
    });

    it('yellow while only refusals came; green once an SMS came too', async () => {
      const c = inbound();
      await answer(c, post(form('SM1'), 'token=wrong'));
      assert.deepEqual(status.lastDrawn, { fill: 'yellow', shape: 'dot', text: COUNTS(0, 0, 1) });
      await answer(c, post(form('SM2')));
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(1, 0, 1) });
    });

    it('green for a duplicate of an SMS recorded before a restart (nothing refused)', async () => {
      await log.real.recordInbound(earlier('SM1'));
      await answer(inbound(), post(form('SM1')));
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(0, 1, 0) });
      assert.equal(emitted.length, 0);
    });

    it('an account open to anyone (live, no authentication): yellow, and a warning that says why', async () => {
      const c = inbound({ account: { ...ACCOUNT, webhookAuth: 'none', mode: 'live' } });
      assert.deepEqual(status.drawn, [{ fill: 'yellow', shape: 'ring', text: 'status.listeningOpen {"path":"/exotel/sms"}' }]);
      assert.deepEqual(lines('warn'), ['warn.noAuthentication {"path":"/exotel/sms"}']);
      await answer(c, post(form('SM1')));
      assert.deepEqual(status.lastDrawn, { fill: 'yellow', shape: 'dot', text: `status.countsOpen ${JSON.stringify({ received: 1, duplicate: 0, rejected: 0 })}` });
    });

    it('no authentication in sandbox mode, or a token in live mode: the plain grey "listening"', async () => {
      for (const account of [{ ...ACCOUNT, webhookAuth: 'none' as const, mode: 'sandbox' as const }, { ...ACCOUNT, webhookAuth: 'token' as const, mode: 'live' as const }]) {
        const shown = new StatusRecorder();
        const c = inbound({ account, status: shown });
        assert.deepEqual(shown.drawn, [{ fill: 'grey', shape: 'ring', text: 'status.listening {"path":"/exotel/sms"}' }]);
        await answer(c, post(form(`SM-${account.mode}`)));
        assert.deepEqual(shown.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(1, 0, 0) });
      }
      assert.deepEqual(lines('warn'), []);
    });

    it('an account whose token cannot work: red, a warning, and every callback refused with the fix in the 401', async () => {
      const c = inbound({ account: { ...ACCOUNT, webhookProblem: 'noToken', checkWebhookToken: () => true } });
      assert.deepEqual(status.drawn, [{ fill: 'red', shape: 'ring', text: 'status.noToken' }]);
      assert.deepEqual(lines('warn'), ['warn.noToken {"path":"/exotel/sms"}']);
      const refusal = { status: 401, error: 'the Exotel account has no webhook token: open the account in Node-RED, press Generate and deploy', challenge: true };
      assert.deepEqual(c.head(post('')), refusal);
      assert.deepEqual(await answer(c, post(form('SM1'))), refusal);
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.noToken' });
      assert.equal(emitted.length, 0);

      const short = inbound({ account: { ...ACCOUNT, webhookProblem: 'shortToken', checkWebhookToken: () => true }, status: new StatusRecorder() });
      assert.equal((await answer(short, post(form('SM2')))).error, 'the Exotel account’s webhook token is too short: open the account in Node-RED, press Generate and deploy');
    });
  });

  describe('refusals', () => {
    it('403 from an address not on the allow-list (no credentials asked for); the listed address gets in', async () => {
      const c = inbound({ allowList: parseAllowList('10.0.0.0/24') });
      assert.deepEqual(await answer(c, post(form('SM1'), 'token=s3cret', { ip: '192.168.1.9' })), { status: 403, error: 'this address is not on the IP allow-list', challenge: false });
      assert.deepEqual(await answer(c, post(form('SM2'))), { status: 200 });
      assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM2']);
    });

    it('401 when the token is given twice, even if one of them is right', async () => {
      const c = inbound();
      assert.deepEqual(await answer(c, post(form('SM1'), 'token=s3cret&token=other')), { status: 401, error: 'the webhook token is missing or wrong', challenge: true });
    });

    it('the parser’s own status and reason for a callback that is not an SMS', async () => {
      assert.deepEqual(await answer(inbound(), post('From=09876543210&Body=HI')), { status: 400, error: 'SmsSid is missing', challenge: false });
      assert.equal(emitted.length, 0);
    });

    it('403, named, for another account’s SMS', async () => {
      assert.deepEqual(await answer(inbound(), post(form('SM1', '&AccountSid=acct2'))), { status: 403, error: 'the AccountSid is not this account’s', challenge: false });
    });

    it('a body refused while read (too large): its status and reason', async () => {
      const c = inbound();
      const reply = await answer(c, post('', 'token=s3cret', { readBody: async () => Promise.reject(new BodyError(413, 'the body is larger than 64 KiB')) }));
      assert.deepEqual(reply, { status: 413, error: 'the body is larger than 64 KiB', challenge: false });
      assert.deepEqual(status.lastDrawn, { fill: 'yellow', shape: 'dot', text: COUNTS(0, 0, 1) });
    });

    it('any other failure: 500 "internal error", and the log says why with the token hidden', async () => {
      const c = inbound();
      const reply = await answer(c, post('', 'token=s3cret', { readBody: async () => Promise.reject(new Error('socket closed while reading token=s3cret')) }));
      assert.deepEqual(reply, { status: 500, error: 'internal error' });
      assert.deepEqual(lines('error'), ['error.callback {"message":"socket closed while reading token=***"}']);
    });
  });

  describe('what is handed on', () => {
    it('a GET callback: the SMS is in the query, no body is read', async () => {
      const c = inbound();
      const reply = await answer(c, { method: 'GET', ip: '10.0.0.1', query: `token=s3cret&${form('SM1')}`, readBody: () => assert.fail('read the body of a GET') });
      assert.deepEqual(reply, { status: 200 });
      assert.equal(emitted[0].payload, 'HELLO');
    });

    it('a POST whose body came without a type: the request’s Content-Type is used', async () => {
      const c = inbound();
      const reply = await answer(c, post(form('SM1'), 'token=s3cret', { readBody: async () => ({ body: Buffer.from(form('SM1')) }) }));
      assert.deepEqual(reply, { status: 200 });
      assert.equal(emitted[0].sms.sid, 'SM1');
    });

    it('a body an earlier parser already read: its own type (JSON) counts, not the request’s', async () => {
      const c = inbound();
      const fields = { SmsSid: 'SM1', From: '09876543210', To: '08012345678', Body: 'HELLO', AccountSid: 'acct1' };
      const given = { readBody: async () => ({ body: Buffer.from(JSON.stringify(fields)), contentType: 'application/json' }), contentType: 'multipart/form-data; boundary=x' };
      assert.deepEqual(await answer(c, post('', 'token=s3cret', given)), { status: 200 });
      assert.equal(emitted[0].payload, 'HELLO');
    });

    it('an SMS without an AccountSid is this account’s; a fresh SMS is not marked replayed', async () => {
      const c = inbound();
      assert.deepEqual(await answer(c, post(form('SM1', ''))), { status: 200 });
      assert.equal(emitted[0].sms.accountSid, 'acct1');
      assert.ok(!('replayed' in emitted[0].sms));
    });

    it('an account with no AccountSid keeps the SMS’s own', async () => {
      const c = inbound({ account: { ...ACCOUNT, accountSid: '' } });
      await answer(c, post(form('SM1', '&AccountSid=acct9')));
      assert.equal(emitted[0].sms.accountSid, 'acct9');
    });

    it('an SMS that came over HTTP goes into the sandbox phone’s thread before the flow gets it', async () => {
      const order: string[] = [];
      const c = inbound({ onCallbackSms: async (sms: InboundSms) => void order.push(`thread ${sms.sid}`), emit: (msg) => order.push(`flow ${msg.sms.sid}`) });
      await answer(c, post(form('SM1')));
      assert.deepEqual(order, ['thread SM1', 'flow SM1']);
    });

    it('a thread that cannot be written: a warning (token hidden), and the flow still gets the SMS', async () => {
      const c = inbound({ onCallbackSms: async () => Promise.reject(new Error('disk full near token=s3cret')) });
      await answer(c, post(form('SM1')));
      assert.deepEqual(lines('warn'), ['warn.sandboxThread {"sid":"SM1","message":"disk full near token=***"}']);
      assert.equal(emitted.length, 1);
    });

    it('stopped while the SMS was being recorded: acknowledged, not handed to the stopped flow', async () => {
      const gate = deferred();
      log.recordGate = gate.promise;
      const c = inbound();
      let reply: Reply | undefined;
      const received = c.callback(post(form('SM1')), (r) => (reply = r));
      await settle();
      await c.close();
      gate.resolve();
      await received;
      assert.deepEqual(reply, { status: 200 });
      assert.equal(emitted.length, 0);
      assert.deepEqual((await log.real.unhandledInbound(ROUTE)).map((r) => r.sid), ['SM1'], 'handed on at the next start');
    });
  });

  describe('the sandbox phone', () => {
    const sandboxCall = () => post(form('SM1'));

    it('refuses a reply when its account is not in sandbox mode, or is another account', async () => {
      const refusal = { status: 403, error: 'this SMS in node takes sandbox replies only for its own sandbox account', challenge: false };
      assert.deepEqual(await inbound().sandboxReply('acc-node', sandboxCall()), refusal);
      assert.deepEqual(await inbound({ sandboxAccountId: 'acc-node', status: new StatusRecorder() }).sandboxReply('other-acc', sandboxCall()), refusal);
      assert.equal(emitted.length, 0);
    });

    it('takes its own account’s reply as a callback, without writing it to the thread again', async () => {
      const threads: string[] = [];
      const c = inbound({ sandboxAccountId: 'acc-node', onCallbackSms: async (sms) => void threads.push(sms.sid) });
      assert.deepEqual(await c.sandboxReply('acc-node', sandboxCall()), { status: 200 });
      assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM1']);
      assert.deepEqual(threads, []);
      await answer(c, post(form('SM2')));
      assert.deepEqual(threads, ['SM2'], 'a callback over HTTP does go to the thread');
    });
  });

  describe('a database that cannot be reached', () => {
    it('an SMS that cannot be recorded: 503 so that Exotel tries again, and the log names it', async () => {
      const c = inbound();
      log.recordFails = () => new Error('SQLITE_FULL: database or disk is full');
      assert.deepEqual(await answer(c, post(form('SM1'))), { status: 503, error: 'the message could not be recorded; try again' });
      assert.deepEqual(lines('error'), ['error.record {"sid":"SM1","message":"SQLITE_FULL: database or disk is full"}']);
      assert.equal(status.lastDrawn.fill, 'grey', 'one failed write is no outage');
      assert.deepEqual(timers.intervals, [1_000], 'no probe');
    });

    it('red while it is away, probing at the given period; back: the log says so, the counts return, and what was left is handed on', async () => {
      let probes = 0;
      let probeFails = true;
      const c = inbound({ probe: async () => { probes++; if (probeFails) throw unavailable(); }, probeMs: 500 });
      await log.real.recordInbound(earlier('SM0'));
      log.recordFails = unavailable;
      assert.deepEqual(await answer(c, post(form('SM1'))), { status: 503, error: 'the database is unavailable; try again' });
      assert.deepEqual(await answer(c, post(form('SM2'))), { status: 503, error: 'the database is unavailable; try again' });
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
      assert.deepEqual(lines('error'), ['error.storeUnavailable {"message":"the database cannot be reached (Connection terminated unexpectedly)"}'], 'said once, no error.record');
      assert.deepEqual(timers.intervals.sort((a, b) => a - b), [500, 1_000], 'one probe, every 500 ms');

      await timers.tick(1_000);
      assert.equal(probes, 2);
      assert.equal(status.lastDrawn.fill, 'red', 'a failed probe changes nothing');
      log.recordFails = null;
      probeFails = false;
      await timers.tick(500);
      await settle();
      assert.deepEqual(timers.intervals, [1_000], 'the probe stopped');
      assert.deepEqual(lines('log'), ['log.storeBack', 'log.replayAfterOutage {"count":1}']);
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: COUNTS(0, 0, 0) });
      assert.deepEqual(emitted.map((m) => [m.sms.sid, m.sms.replayed]), [['SM0', true]]);
    });

    it('the default probe period is 2 s; a stopped node starts none', async () => {
      const c = inbound({ probe: async () => undefined });
      log.recordFails = unavailable;
      await answer(c, post(form('SM1')));
      assert.deepEqual(timers.intervals.sort((a, b) => a - b), [1_000, 2_000]);

      const stopped = inbound({ probe: async () => undefined, timers: new ManualTimers(), status: new StatusRecorder() });
      await stopped.close();
      await answer(stopped, post(form('SM2')));
      assert.deepEqual(timers.intervals.sort((a, b) => a - b), [1_000, 2_000]);
      await c.close();
      assert.deepEqual(timers.intervals, [], 'closing stops the probe and the settle timer');
    });

    it('the inbound log cannot be read at start: the error is logged; unreachable: only the red status', async () => {
      log.unhandledFails = new Error('SQLITE_CORRUPT: database disk image is malformed');
      await inbound().replay();
      assert.deepEqual(lines('error'), ['error.readLog {"message":"SQLITE_CORRUPT: database disk image is malformed"}']);

      nodeLog.lines.length = 0;
      log.unhandledFails = unavailable();
      const shown = new StatusRecorder();
      await inbound({ status: shown }).replay();
      assert.deepEqual(lines('error'), ['error.storeUnavailable {"message":"the database cannot be reached (Connection terminated unexpectedly)"}']);
      assert.deepEqual(shown.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
    });
  });

  describe('handing on again', () => {
    const record = (sid: string) => log.real.recordInbound(earlier(sid));

    it('says nothing when nothing was left; neither hands on nor says anything once stopped', async () => {
      await inbound().replay();
      assert.deepEqual(nodeLog.lines, []);
      await record('SM1');
      const stopped = inbound();
      await stopped.close();
      await stopped.replay();
      assert.equal(emitted.length, 0);
      assert.deepEqual(nodeLog.lines, []);
    });

    it('stops handing on as soon as the node is stopped', async () => {
      await record('SM1');
      await record('SM2');
      const c: InboundController = inbound({ emit: (msg) => { emitted.push(msg); void c.close(); } });
      await c.replay();
      assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM1']);
      assert.deepEqual(lines('log'), ['log.replay {"count":2}']);
    });

    it('several instances: takes over what a dead one acknowledged, on one timer, until stopped', async () => {
      let claims = 0;
      const claimed: InboundRecord[] = [earlier('SM9', 'ORPHAN')];
      const c = inbound({ takeOver: { claim: async () => { claims++; return claimed.splice(0); }, everyMs: 3_000 } });
      await c.replay();
      await c.replay();
      assert.deepEqual(timers.intervals.sort((a, b) => a - b), [1_000, 3_000], 'one take-over timer');
      await timers.tick(3_000);
      assert.equal(claims, 1);
      assert.deepEqual(emitted.map((m) => [m.sms.sid, m.sms.replayed, m.payload]), [['SM9', true, 'ORPHAN']]);
      assert.deepEqual(lines('log'), ['log.takeOver {"count":1}']);
      await c.close();
      assert.deepEqual(timers.intervals, []);
      await timers.tick(6_000);
      assert.equal(claims, 1);

      const stopped = inbound({ takeOver: { claim: async () => [], everyMs: 3_000 }, timers: new ManualTimers() });
      await stopped.close();
      await stopped.replay();
      assert.equal(claims, 1);
    });
  });

  describe('a take-over claim whose answer was lost after it committed', () => {
    it('several instances: the next claim asks with the same key and hands on what the lost one took, once', async () => {
      const lossy = claimLosingFirstAnswer([earlier('SM9', 'ORPHAN')]);
      const c = inbound({ takeOver: { claim: lossy.claim, everyMs: 3_000 } });
      await c.replay();
      await timers.tick(3_000);
      assert.equal(emitted.length, 0, 'the answer was lost');
      await timers.tick(3_000);
      assert.deepEqual(emitted.map((m) => [m.sms.sid, m.sms.replayed, m.payload]), [['SM9', true, 'ORPHAN']]);
      await timers.tick(3_000);
      assert.deepEqual(lossy.keys.map((key) => key === lossy.lostKey), [true, true, false], 'the same key until answered, then a new one');
      assert.equal(emitted.length, 1);
    });
  });

  describe('when an SMS counts as handled', () => {
    /** follow() as Node-RED's message hooks drive it: the spec says when the flow is done, or gave up. */
    function following() {
      const watched: Array<{ msg: object; settled: (failure?: unknown) => void; stopped: boolean }> = [];
      const follow: FollowMessage = (msg, settled) => {
        const entry = { msg, settled, stopped: false };
        watched.push(entry);
        return { sent: () => undefined, stop: () => void (entry.stopped = true) };
      };
      return { follow, watched };
    }

    it('checks every window, at least every 50 ms and at most every 5 s', () => {
      inbound({ replayWindowMs: 10, timers });
      const slow = new ManualTimers();
      inbound({ replayWindowMs: 60_000, timers: slow, status: new StatusRecorder() });
      assert.deepEqual(timers.intervals, [50]);
      assert.deepEqual(slow.intervals, [5_000]);
      const usual = new ManualTimers();
      inbound({ timers: usual, replayWindowMs: undefined, status: new StatusRecorder() });
      assert.deepEqual(usual.intervals, [5_000]);
    });

    it('a flow that never finishes: counted as handled exactly at the upper bound, with one warning in seconds', async () => {
      const { follow, watched } = following();
      const c = inbound({ follow, settleLimitMs: 3_000 });
      await answer(c, post(form('SM1')));
      await timers.tick(2_999);
      assert.deepEqual(log.marked, []);
      await timers.tick(1);
      assert.deepEqual(log.marked, [['SM1']]);
      assert.equal(watched[0].stopped, true, 'no longer watched');
      assert.deepEqual(lines('warn'), ['warn.notDone {"count":1,"seconds":3}']);
      await answer(c, post(form('SM2')));
      await timers.tick(3_000);
      assert.deepEqual(log.marked, [['SM1'], ['SM2']]);
      assert.equal(lines('warn').length, 1, 'the warning is given once');
    });

    it('the warning counts only the SMS the flow did not finish', async () => {
      const { follow, watched } = following();
      const c = inbound({ follow, settleLimitMs: 3_000 });
      await answer(c, post(form('SM1')));
      await timers.tick(2_000);
      await answer(c, post(form('SM2')));
      watched[1].settled();
      await timers.tick(1_000);
      assert.deepEqual(log.marked, [['SM1', 'SM2']]);
      assert.deepEqual([watched[0].stopped, watched[1].stopped], [true, false], 'a finished SMS needs no stop');
      assert.deepEqual(lines('warn'), ['warn.notDone {"count":1,"seconds":3}']);
    });

    it('a flow that finishes in time: handled after the window, with no warning', async () => {
      const { follow, watched } = following();
      const c = inbound({ follow, settleLimitMs: 60_000 });
      await answer(c, post(form('SM1')));
      watched[0].settled();
      await timers.tick(1_000);
      assert.deepEqual(log.marked, [['SM1']]);
      assert.deepEqual(lines('warn'), []);
    });

    it('a node gave up (the database went away): never counted as handled, not even at the upper bound', async () => {
      const { follow, watched } = following();
      const c = inbound({ follow, settleLimitMs: 3_000 });
      await answer(c, post(form('SM1')));
      watched[0].settled(unavailable());
      await timers.tick(10_000);
      assert.deepEqual(log.marked, []);
      assert.deepEqual((await log.real.unhandledInbound(ROUTE)).map((r) => r.sid), ['SM1']);
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
    });

    it('a node gave up on one SMS: the others are still counted as handled when the flow is done with them', async () => {
      const { follow, watched } = following();
      const c = inbound({ follow, settleLimitMs: 60_000 });
      await answer(c, post(form('SM1')));
      await answer(c, post(form('SM2')));
      await answer(c, post(form('SM3')));
      watched[0].settled();
      watched[1].settled(unavailable());
      watched[2].settled();
      await timers.tick(1_000);
      assert.deepEqual(log.marked, [['SM1', 'SM3']]);
    });

    it('marks cannot be written while the database cannot be reached: written once it answers, the SMS not handed on again', async () => {
      const c = inbound();
      await answer(c, post(form('SM1')));
      log.markFails = unavailable();
      await timers.tick(1_000);
      await timers.tick(1_000);
      await answer(c, post(form('SM2')));
      assert.deepEqual(log.marked, []);
      log.markFails = null;
      await timers.tick(1_000);
      assert.deepEqual(log.marked.flat().sort(), ['SM1', 'SM2']);
      assert.deepEqual(await log.real.unhandledInbound(ROUTE), [], 'nothing left to hand on at the next start');
      assert.deepEqual(emitted.map((msg) => msg.sms.sid), ['SM1', 'SM2'], 'each handed on once');
      assert.deepEqual(lines('warn'), []);
    });

    it('marks cannot be written: a warning with the count and the reason', async () => {
      const c = inbound();
      await answer(c, post(form('SM1')));
      log.markFails = new Error('SQLITE_READONLY: attempt to write a readonly database');
      await timers.tick(1_000);
      assert.deepEqual(lines('warn'), ['warn.markHandled {"count":1,"message":"SQLITE_READONLY: attempt to write a readonly database"}']);
    });
  });
});
