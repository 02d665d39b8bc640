// exotel-send after a restart and across instances, and while the database is away: what is sent
// again (once), what fails and why, what the log and the status say. A real (in-memory) store, a
// fake gateway; no Node-RED.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { SendRequest } from '../../src/exotel/client';
import { SendError } from '../../src/exotel/errors';
import { sealText } from '../../src/sms/one-time-code';
import { SqliteStore, StoreUnavailableError, type OutboxEntry } from '../../src/store';
import { SendController, type SendAccount, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { OutboxDispatcher } from '../../src/nodes/exotel-send/outbox-dispatcher';
import { claimLosingFirstAnswer, deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, ManualTimers, settle, StatusRecorder, translate, until } from './fakes';

const ASHA = '+919876543210';
const RAVI = '+919812345678';
const KEY = Buffer.alloc(32, 3);

describe('exotel-send controller: after a restart, across instances, without the database', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let status: StatusRecorder;
  let log: LogRecorder;
  let handedOn: Array<[SendMessage | null, SendMessage | null]>;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    status = new StatusRecorder();
    log = new LogRecorder();
    handedOn = [];
  });
  afterEach(async () => {
    sinon.restore();
    await store.close();
  });

  const account = (more: Partial<SendAccount> = {}) =>
    ({ client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'SHOPIN', dltEntityId: '', redact: (t: string) => t, ...more }) as SendAccount;

  function sender(config: SendConfig = {}, more: { wired?: boolean; takeOver?: { claim: (key: string) => Promise<OutboxEntry[]>; everyMs: number }; store?: SqliteStore; dispatcher?: OutboxDispatcher } = {}) {
    return new SendController({
      nodeId: 'send-1', config, account: account(), store: more.store ?? store, evaluate, translate, status, log,
      failureWired: () => more.wired ?? true, retryBaseDelayMs: 1, codeKey: KEY, takeOver: more.takeOver, dispatcher: more.dispatcher,
    });
  }
  const collect = (pair: unknown) => void handedOn.push(pair as [SendMessage | null, SendMessage | null]);
  const described = () => handedOn.map(([sent, failed]) => (sent ? `sent ${sent.payload}` : `failed ${failed!.payload} ${(failed!.error as { code: string }).code}`));

  async function queue(phone: string, body: string, more: { message?: unknown; claimKey?: string | null; request?: object } = {}) {
    const request = { from: 'SHOPIN', to: phone, body, encoding: 'plain', ...more.request };
    return (await store.addToOutbox({ nodeId: 'send-1', phone, request, message: more.message === undefined ? { payload: body, phone } : more.message, claimKey: more.claimKey ?? null, confirmation: false }))!;
  }

  describe('resume', () => {
    it('says how many it sends again; nothing when there is nothing', async () => {
      await sender().resume(collect);
      assert.deepEqual(log.lines, []);
      await queue(ASHA, 'first');
      await queue(RAVI, 'second');
      await sender().resume(collect);
      assert.deepEqual(log.lines, [{ level: 'log', text: 'log.resume {"count":2}' }]);
      assert.deepEqual(described().sort(), ['sent first', 'sent second']);
    });

    it('what was being sent when Node-RED died fails, naming the number, and the outbox says it may have gone', async () => {
      const id = await queue(ASHA, 'half-sent');
      await store.markOutboxSending(id);
      await sender().resume(collect);
      const error = handedOn[0][1]!.error as { code: string; message: string; maybeSent: boolean; retryable: boolean };
      assert.deepEqual(error, {
        code: 'interrupted', retryable: false, maybeSent: true,
        message: `Node-RED stopped while Exotel was being asked to send this SMS to ${ASHA}: it may or may not have gone out, so it is not sent again`,
      });
      const [row] = await store.outboxEntries('send-1', 'failed');
      assert.equal((row.error as { code: string }).code, 'interrupted');
      assert.deepEqual(log.lines, [], 'no "sending again" for it');
      assert.deepEqual(gateway.sent, []);
    });

    it('a failure with output 2 not wired goes to the log, with the message', async () => {
      const id = await queue(ASHA, 'half-sent');
      await store.markOutboxSending(id);
      await sender({}, { wired: false }).resume(collect);
      const errors = log.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.match(errors[0].text, /error\.notSent .*interrupted|Node-RED stopped/);
    });

    it('a kept message that is no object: handed on as an empty message', async () => {
      await queue(ASHA, 'hello', { message: 'not an object' });
      await sender().resume(collect);
      assert.deepEqual(handedOn[0][0], { exotel: { sid: 'SM1', status: 'queued', detailedStatus: 'PENDING_TO_OPERATOR', detailedStatusCode: 21010, segments: 1, encoding: 'plain' } });
    });

    it('a text kept sealed (it holds a one-time code) goes out whole', async () => {
      const body = 'Your code is 482913';
      await queue(ASHA, 'Your code is ••••', { request: { sealed: sealText(JSON.stringify({ body, code: '482913' }), KEY) } });
      await sender().resume(collect);
      assert.deepEqual(gateway.sent.map((r) => r.body), [body]);
      assert.ok(!('sealed' in gateway.sent[0]), 'the seal is not sent to Exotel');
    });

    it('a sealed text the key cannot open (the secret changed): fails, sends nothing, gives the SMS’s claim back', async () => {
      const body = 'Your code is 482913';
      const claimKey = 'SM9>' + ASHA;
      await queue(ASHA, 'Your code is ••••', { claimKey, request: { sealed: sealText(JSON.stringify({ body, code: '482913' }), Buffer.alloc(32, 9)) } });
      await sender().resume(collect);
      assert.deepEqual(gateway.sent, []);
      assert.deepEqual(handedOn[0][1]!.error, {
        code: 'code_unreadable', retryable: false,
        message: `the text to ${ASHA} held a one-time code that cannot be read back (the code secret changed): nothing was sent`,
      });
      assert.equal((await store.outboxEntries('send-1', 'failed')).length, 1);
      const again = await store.addToOutbox({ nodeId: 'send-1', phone: ASHA, request: { from: 'SHOPIN', to: ASHA, body: 'x', encoding: 'plain' }, message: {}, claimKey, confirmation: false });
      assert.notEqual(again, null, 'the claim was given back: the SMS handed on again may send');
    });

    it('an answer to HELP from a number that opted out still goes after a restart, when the node allows it', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      await queue(ASHA, 'Call us on 1800…', { message: { payload: 'Call us on 1800…', keyword: 'HELP', sms: { from: ASHA } } });
      await sender({ helpReachesOptedOut: true }).resume(collect);
      assert.deepEqual(described(), ['sent Call us on 1800…']);
    });

    it('… and is blocked when the node does not allow it', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      await queue(ASHA, 'Call us', { message: { payload: 'Call us', keyword: 'HELP', sms: { from: ASHA } } });
      await sender({ helpReachesOptedOut: false }).resume(collect);
      assert.deepEqual(described(), ['failed Call us opted_out']);
    });
  });

  describe('several instances', () => {
    it('takes over a dead instance’s entries now and every few seconds, until stopped', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const waiting: OutboxEntry[][] = [];
      let claims = 0;
      const claim = async () => {
        claims++;
        return waiting.shift() ?? [];
      };
      await queue(ASHA, 'orphan');
      waiting.push(await store.outboxEntries('send-1', 'queued'));
      const c = sender({}, { takeOver: { claim, everyMs: 5_000 } });
      await c.resume(collect);
      assert.equal(claims, 1);
      assert.deepEqual(described(), ['sent orphan']);
      assert.deepEqual(log.lines, [{ level: 'log', text: 'log.resume {"count":1}' }]);

      await store.addToOutbox({ nodeId: 'send-1', phone: RAVI, request: { from: 'SHOPIN', to: RAVI, body: 'later', encoding: 'plain' }, message: { payload: 'later' }, claimKey: null, confirmation: false });
      waiting.push(await store.outboxEntries('send-1', 'queued'));
      await clock.tickAsync(5_000);
      await until(() => handedOn.length === 2);
      assert.equal(claims, 2);
      assert.deepEqual(log.lines.at(-1), { level: 'log', text: 'log.takeOver {"count":1}' });

      c.stop();
      await clock.tickAsync(20_000);
      assert.equal(claims, 2, 'no more once stopped');
    });

    it('a claim whose answer was lost after it committed: the next one, with the same key, sends what it took; then a new key', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      await queue(ASHA, 'orphan');
      const lossy = claimLosingFirstAnswer(await store.outboxEntries('send-1', 'queued'));
      const c = sender({}, { takeOver: { claim: lossy.claim, everyMs: 5_000 } });
      await c.resume(collect);
      assert.deepEqual([described(), status.lastDrawn?.fill], [[], 'red'], 'the answer was lost: nothing to send yet');
      await clock.tickAsync(5_000);
      await until(() => handedOn.length === 1);
      assert.deepEqual(described(), ['sent orphan'], 'the dead instance\'s send, taken by the lost claim, goes out');
      assert.deepEqual(gateway.sent.map((r) => r.body), ['orphan']);
      await clock.tickAsync(5_000);
      assert.equal(lossy.keys.length, 3);
      assert.deepEqual(lossy.keys.map((key) => key === lossy.lostKey), [true, true, false], 'asked again with the key of the claim whose answer was lost, then a new one');
      assert.deepEqual(described(), ['sent orphan'], 'once');
      c.stop();
    });

    it('one claim at a time: a tick while the last claim is still under way claims nothing', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const slow = deferred<OutboxEntry[]>();
      let claims = 0;
      const claim = async () => (++claims === 2 ? slow.promise : []);
      const c = sender({}, { takeOver: { claim, everyMs: 1_000 } });
      await c.resume(collect);
      await clock.tickAsync(3_000);
      assert.equal(claims, 2, 'the ticks while the second claim waits claim nothing');
      slow.resolve([]);
      await clock.tickAsync(1_000);
      assert.equal(claims, 3);
      c.stop();
    });

    it('a claim that fails because the database is away: red, then back by itself', async () => {
      let fail = true;
      const claim = async () => {
        if (fail) throw new StoreUnavailableError(new Error('ECONNREFUSED'));
        return [];
      };
      const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const c = sender({}, { takeOver: { claim, everyMs: 1_000 } });
      await c.resume(collect);
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
      assert.deepEqual(log.lines, [{ level: 'error', text: 'error.storeUnavailable {"message":"the database cannot be reached (ECONNREFUSED)"}' }]);
      fail = false;
      c.stop();
      clock.restore();
    });

    it('a claim that fails otherwise: nothing shown, nothing handed on', async () => {
      const c = sender({}, { takeOver: { claim: async () => Promise.reject(new Error('SQLITE_CORRUPT')), everyMs: 60_000 } });
      await c.resume(collect);
      assert.deepEqual([status.drawn, log.lines, handedOn], [[], [], []]);
      c.stop();
    });

    it('a node already stopped takes nothing over', async () => {
      let claims = 0;
      const c = sender({}, { takeOver: { claim: async () => (claims++, []), everyMs: 60_000 } });
      c.stop();
      await c.resume(collect);
      assert.equal(claims, 0);
    });
  });

  describe('the database away while a message comes in', () => {
    it('the message waits (red, and the log says why), then goes when the database answers; the counts come back', async () => {
      let away = true;
      const flaky = Object.create(store) as SqliteStore;
      flaky.isOptedOut = async (phone: string) => {
        if (away) throw new StoreUnavailableError(new Error('ECONNRESET'));
        return store.isOptedOut(phone);
      };
      const c = sender({}, { store: flaky });
      const outcome = deferred<void>();
      void c.handle({ phone: ASHA, payload: 'hello' }, collect, () => outcome.resolve());
      await until(() => status.drawn.length > 0);
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
      assert.deepEqual(log.lines, [{ level: 'error', text: 'error.storeUnavailable {"message":"the database cannot be reached (ECONNRESET)"}' }]);
      away = false;
      await outcome.promise;
      assert.deepEqual(log.lines.map((l) => l.text), ['error.storeUnavailable {"message":"the database cannot be reached (ECONNRESET)"}', 'log.storeBack']);
      assert.deepEqual(status.drawn.map((d) => d.fill), ['red', 'green', 'green']);
      assert.deepEqual(described(), ['sent hello']);
    });

    it('stopped while it waits: nothing sent, and the message is not handed on', async () => {
      const flaky = Object.create(store) as SqliteStore;
      flaky.isOptedOut = async () => Promise.reject(new StoreUnavailableError(new Error('ECONNRESET')));
      const c = sender({}, { store: flaky });
      let finished: Error | undefined | 'pending' = 'pending';
      const running = c.handle({ phone: ASHA, payload: 'hello' }, collect, (err) => (finished = err));
      await until(() => status.drawn.length > 0);
      c.stop();
      await assert.rejects(running, /the database cannot be reached/);
      assert.equal(finished, 'pending');
      assert.deepEqual(gateway.sent, []);
    });
  });

  describe('the outbox dispatcher', () => {
    const request = (to: string, body: string): SendRequest => ({ from: 'SHOPIN', to, body, encoding: 'plain' });
    function dispatcher(more: { attempts?: number; timers?: ManualTimers; redact?: (t: string) => string } = {}) {
      return new OutboxDispatcher({
        nodeId: 'send-1', store, account: { client: gateway, limiter: new FakeLimiter() }, policy: { attempts: more.attempts ?? 3, baseDelayMs: 1_000, maxDelayMs: 1_000 },
        timers: more.timers, redact: more.redact,
      });
    }

    it('enqueue: one number’s entries one after another', async () => {
      const gate = deferred<void>();
      gateway.answer = async (r, n) => {
        if (n === 1) await gate.promise;
        return { sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' };
      };
      const d = dispatcher();
      const first = await queue(ASHA, 'first');
      const second = await queue(ASHA, 'second');
      const a = d.enqueue({ outboxId: first, request: request(ASHA, 'first'), claimKey: null, confirmationClaimed: false });
      const b = d.enqueue({ outboxId: second, request: request(ASHA, 'second'), claimKey: null, confirmationClaimed: false });
      await settle();
      assert.deepEqual(gateway.sent.map((r) => r.body), ['first']);
      gate.resolve();
      assert.deepEqual([(await a).outcome, (await b).outcome], ['sent', 'sent']);
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), [], 'sent entries leave the outbox');
    });

    it('marks the entry "sending" before the request leaves', async () => {
      const id = await queue(ASHA, 'hello');
      let stateWhenSent = '';
      gateway.answer = async (r, n) => {
        stateWhenSent = (await store.outboxEntries('send-1', 'sending')).map((e) => e.id).join();
        return { sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' };
      };
      await dispatcher().dispatch({ outboxId: id, request: request(ASHA, 'hello'), claimKey: null, confirmationClaimed: false });
      assert.equal(stateWhenSent, String(id));
    });

    it('a failed attempt is noted in the outbox without credentials or the code, then retried after the wait', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA, 'Your code is 4821');
      gateway.answer = async (_r, n) => {
        if (n === 1) throw new SendError({ code: 'timeout', message: 'no answer for key-s3cret sending "Your code is 4821"', retryable: true, maybeSent: true });
        return { sid: 'SM2', status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' };
      };
      const d = dispatcher({ timers, redact: (t) => t.replace(/key-s3cret/g, '***') });
      const outcome = d.dispatch({ outboxId: id, request: request(ASHA, 'Your code is 4821'), claimKey: null, confirmationClaimed: false, code: '4821' });
      await until(() => timers.timeouts === 1);
      await settle();
      const [entry] = [...(await store.outboxEntries('send-1', 'sending')), ...(await store.outboxEntries('send-1', 'queued'))];
      assert.deepEqual(entry.error, { code: 'timeout', message: 'no answer for *** sending "Your code is ••••"', retryable: true, maybeSent: true });
      assert.equal(entry.attempts, 1);
      await timers.tick(1_000);
      assert.equal((await outcome).outcome, 'sent');
      assert.equal(gateway.sent.length, 2);
    });

    it('an error that is no SendError fails as "internal", with its message, and gives a claimed confirmation back', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      assert.equal(await store.claimOptOutConfirmation(ASHA, 60_000), true);
      const id = await queue(ASHA, 'You are unsubscribed');
      gateway.answer = async () => {
        throw new TypeError('cannot read properties of undefined');
      };
      const outcome = await dispatcher().dispatch({ outboxId: id, request: request(ASHA, 'You are unsubscribed'), claimKey: null, confirmationClaimed: true });
      assert.deepEqual(outcome.outcome === 'failed' && outcome.error.toJSON(), { code: 'internal', message: 'cannot read properties of undefined', retryable: false });
      const [row] = await store.outboxEntries('send-1', 'failed');
      assert.deepEqual([row.attempts, (row.error as { code: string }).code], [1, 'internal']);
      assert.equal(await store.claimOptOutConfirmation(ASHA, 60_000), true, 'the confirmation can be sent again');
    });

    it('a failure with a claimed confirmation not given: nothing given back', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      assert.equal(await store.claimOptOutConfirmation(ASHA, 60_000), true);
      const id = await queue(RAVI, 'hi');
      gateway.answer = async () => {
        throw new SendError({ code: 400, message: 'bad', retryable: false });
      };
      await dispatcher().dispatch({ outboxId: id, request: request(RAVI, 'hi'), claimKey: null, confirmationClaimed: false });
      assert.equal(await store.claimOptOutConfirmation(ASHA, 60_000), false, 'Asha’s confirmation is still taken');
    });

    it('stopped during a retry wait: the entry stays queued for the next start, and the wait ends at once', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA, 'hello');
      gateway.answer = async () => {
        throw new SendError({ code: 500, message: 'busy', retryable: true });
      };
      const d = dispatcher({ timers });
      const outcome = d.dispatch({ outboxId: id, request: request(ASHA, 'hello'), claimKey: null, confirmationClaimed: false });
      await until(() => timers.timeouts === 1);
      d.stop();
      assert.deepEqual(await outcome, { outcome: 'kept' });
      assert.equal(timers.timeouts, 0, 'the wait was cleared');
      assert.equal((await store.outboxEntries('send-1', 'failed')).length, 0);
    });

    it('stopped before a retry: no wait starts', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA, 'hello');
      const d = dispatcher({ timers });
      gateway.answer = async () => {
        d.stop();
        throw new SendError({ code: 500, message: 'busy', retryable: true });
      };
      assert.deepEqual(await d.dispatch({ outboxId: id, request: request(ASHA, 'hello'), claimKey: null, confirmationClaimed: false }), { outcome: 'kept' });
      assert.equal(timers.timeouts, 0);
    });

    it('a wait that ends leaves no stop listener behind', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA, 'hello');
      gateway.answer = async (_r, n) => {
        if (n === 1) throw new SendError({ code: 500, message: 'busy', retryable: true });
        return { sid: 'SM2', status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' };
      };
      const d = dispatcher({ timers });
      const outcome = d.dispatch({ outboxId: id, request: request(ASHA, 'hello'), claimKey: null, confirmationClaimed: false });
      await until(() => timers.timeouts === 1);
      await timers.tick(1_000);
      assert.equal((await outcome).outcome, 'sent');
      d.stop(); // a listener left behind would reject a settled promise: nothing to see, but nothing must throw
      assert.equal(timers.timeouts, 0);
    });
  });
});
