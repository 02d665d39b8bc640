// exotel-send's controller and outbox dispatcher, without Node-RED: a real (in-memory) store, a fake
// gateway and limiter, and a fake clock for the retry waits.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SendError } from '../../src/exotel/errors';
import { SqliteStore } from '../../src/store';
import { SendController, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { OutboxDispatcher } from '../../src/nodes/exotel-send/outbox-dispatcher';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, settle, StatusRecorder, translate, until, type Deferred } from './fakes';
import type { SendResult } from '../../src/exotel/client';

const ASHA = '+919876543210';
const RAVI = '+919812345678';

describe('exotel-send controller', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let limiter: FakeLimiter;
  let log: LogRecorder;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    limiter = new FakeLimiter();
    log = new LogRecorder();
  });
  afterEach(async () => {
    sinon.restore();
    await store.close();
  });

  const account = () => ({ client: gateway, limiter, configProblem: null, defaultCountry: 'IN', defaultFrom: 'EXOTEL', dltEntityId: '', redact: (text: string) => text });

  function controller(config: SendConfig = {}, nodeId = 'send-1', retryBaseDelayMs = 1_000) {
    return new SendController({
      nodeId, config, account: account(), store, evaluate, translate, status: new StatusRecorder(), log,
      failureWired: () => true, retryBaseDelayMs,
    });
  }

  /** Runs a message through the controller; resolves with what it handed on, on which output. */
  function sendThrough(c: SendController, msg: SendMessage) {
    const outcome = deferred<{ sent: SendMessage | null; failed: SendMessage | null; err?: Error }>();
    let out: { sent: SendMessage | null; failed: SendMessage | null } = { sent: null, failed: null };
    void c.handle(msg, (pair) => {
      const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
      out = { sent, failed };
    }, (err) => outcome.resolve({ ...out, err }));
    return outcome.promise;
  }

  describe('per-number ordering', () => {
    it('sends a number’s second message only after its first has ended, while another number goes ahead', async () => {
      const first: Deferred<SendResult> = deferred();
      gateway.answer = async (request, n) => (n === 1 ? first.promise : { sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' });
      const c = controller();
      const one = sendThrough(c, { phone: ASHA, payload: 'one' });
      await until(() => gateway.sent.length === 1);
      const two = sendThrough(c, { phone: ASHA, payload: 'two' });
      const other = sendThrough(c, { phone: RAVI, payload: 'other' });
      await other;
      await settle();
      assert.deepEqual(gateway.sent.map((r) => r.body), ['one', 'other'], 'Asha’s second message waits for her first');
      first.resolve({ sid: 'SM1', status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' });
      assert.ok((await one).sent);
      assert.ok((await two).sent);
      assert.deepEqual(gateway.sent.map((r) => r.body), ['one', 'other', 'two']);
    });

    it('keeps the order when the first message fails', async () => {
      const first: Deferred<SendResult> = deferred();
      gateway.answer = async (_request, n) => (n === 1 ? first.promise : { sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' });
      const c = controller({ attempts: 1 });
      const one = sendThrough(c, { phone: ASHA, payload: 'one' });
      await until(() => gateway.sent.length === 1);
      const two = sendThrough(c, { phone: ASHA, payload: 'two' });
      await settle();
      assert.equal(gateway.sent.length, 1);
      first.reject(new SendError({ code: 'invalid_number', message: 'no such number', retryable: false }));
      assert.equal((await one).failed?.error && ((await one).failed!.error as { code: string }).code, 'invalid_number');
      assert.ok((await two).sent);
    });
  });

  describe('retry waits', () => {
    it('waits between half and all of the base delay before the second attempt, and notes the attempt in the outbox', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      gateway.answer = async (request, n) => {
        if (n === 1) throw new SendError({ code: 50000, message: 'Exotel had a problem', retryable: true, httpStatus: 500 });
        return { sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'plain' };
      };
      const c = controller({ attempts: 3 }, 'send-1', 1_000);
      const outcome = sendThrough(c, { phone: ASHA, payload: 'hello' });
      await until(() => gateway.sent.length === 1);
      await settle();
      const [entry] = await store.outboxEntries('send-1', 'queued');
      assert.equal(entry.attempts, 1, 'the failed attempt is in the outbox');
      await clock.tickAsync(499);
      assert.equal(gateway.sent.length, 1, 'no second attempt before half the base delay');
      await clock.tickAsync(501);
      await until(() => gateway.sent.length === 2);
      const { sent } = await outcome;
      assert.equal((sent?.exotel as { sid: string }).sid, 'SM2');
      for (const state of ['queued', 'sending', 'failed'] as const) {
        assert.deepEqual(await store.outboxEntries('send-1', state), [], `a sent message leaves the outbox (${state})`);
      }
    });

    it('gives up after the configured attempts, with the reason', async () => {
      gateway.answer = async () => {
        throw new SendError({ code: 50000, message: 'Exotel had a problem', retryable: true, httpStatus: 500 });
      };
      const { failed } = await sendThrough(controller({ attempts: 2 }, 'send-1', 10), { phone: ASHA, payload: 'hello' });
      assert.equal(gateway.sent.length, 2);
      assert.match((failed?.error as { message: string }).message, /after 2 attempts/);
      assert.equal((await store.outboxEntries('send-1', 'failed')).length, 1);
    });

    it('stops waiting when the node stops, and keeps the message queued for the next start', async () => {
      gateway.answer = async () => {
        throw new SendError({ code: 50000, message: 'Exotel had a problem', retryable: true, httpStatus: 500 });
      };
      const c = controller({ attempts: 3 }, 'send-1', 60_000);
      const outcome = sendThrough(c, { phone: ASHA, payload: 'hello' });
      await until(() => gateway.sent.length === 1);
      await settle();
      c.stop();
      const { sent, failed, err } = await outcome;
      assert.deepEqual([sent, failed, err], [null, null, undefined]);
      assert.equal((await store.outboxEntries('send-1', 'queued')).length, 1);
    });
  });

  describe('opt-out', () => {
    it('refuses a number that opted out before the message arrived', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      const { failed } = await sendThrough(controller(), { phone: ASHA, payload: 'offer' });
      assert.equal((failed?.error as { code: string }).code, 'opted_out');
      assert.equal(gateway.sent.length, 0);
    });

    it('checks again right before sending: a STOP that arrives while the message waits stops it', async () => {
      limiter.held = true;
      const outcome = sendThrough(controller(), { phone: ASHA, payload: 'offer' });
      await until(() => limiter.waiting.length === 1);
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', keyword: 'STOP', source: 'SM-stop' });
      limiter.letOneGo();
      const { sent, failed } = await outcome;
      assert.equal(sent, null);
      assert.equal((failed?.error as { code: string }).code, 'opted_out');
      assert.equal(gateway.sent.length, 0, 'nothing went to Exotel');
      assert.equal((await store.outboxEntries('send-1', 'failed')).length, 1);
    });

    it('lets an opt-out confirmation node send the one confirmation', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM-stop' });
      const c = controller({ optOutConfirmation: true });
      assert.ok((await sendThrough(c, { phone: ASHA, payload: 'You are opted out' })).sent);
      const again = await sendThrough(c, { phone: ASHA, payload: 'again' });
      assert.equal((again.failed?.error as { code: string }).code, 'opted_out', 'one confirmation only');
      assert.equal(gateway.sent.length, 1);
    });
  });

  describe('resume after a restart', () => {
    async function queue(nodeId: string, phone: string, body: string) {
      const request = { from: 'EXOTEL', to: phone, body, encoding: 'plain' };
      return (await store.addToOutbox({ nodeId, phone, request, message: { payload: body, phone }, claimKey: null, confirmation: false }))!;
    }

    it('sends what the node had queued, once each, in order, and fails what was being sent when it died', async () => {
      await queue('send-1', ASHA, 'first');
      const interrupted = await queue('send-1', RAVI, 'half-sent');
      await queue('send-1', ASHA, 'second');
      await queue('send-2', ASHA, 'another node’s');
      await store.markOutboxSending(interrupted);
      const handedOn: Array<[SendMessage | null, SendMessage | null]> = [];
      const c = controller();
      await c.resume((pair) => handedOn.push(pair as [SendMessage | null, SendMessage | null]));
      assert.deepEqual(gateway.sent.map((r) => r.body), ['first', 'second']);
      assert.deepEqual(handedOn.map(([sent, failed]) => (sent ? `sent ${sent.payload}` : `failed ${failed!.payload} ${(failed!.error as { code: string }).code}`)), [
        'failed half-sent interrupted',
        'sent first',
        'sent second',
      ]);
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), []);
      assert.deepEqual(await store.outboxEntries('send-1', 'sending'), []);
      await controller().resume(() => undefined);
      assert.equal(gateway.sent.length, 2, 'a second start sends nothing again');
      assert.equal((await store.outboxEntries('send-2', 'queued')).length, 1, 'another node’s queue is left alone');
    });

    it('does not send a resumed message to a number that opted out while Node-RED was down', async () => {
      await queue('send-1', ASHA, 'offer');
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      const failed: SendMessage[] = [];
      await controller().resume((pair) => {
        const [, f] = pair as [SendMessage | null, SendMessage | null];
        if (f) failed.push(f);
      });
      assert.equal(gateway.sent.length, 0);
      assert.equal((failed[0]?.error as { code: string }).code, 'opted_out');
    });
  });
});

describe('outbox dispatcher', () => {
  it('runs one number’s jobs one after another, whatever the first one’s outcome', async () => {
    const dispatcher = new OutboxDispatcher({ nodeId: 'n', store: {} as never, account: null, policy: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const events: string[] = [];
    const gate = deferred();
    const a = dispatcher.inOrder(ASHA, async () => {
      events.push('a starts');
      await gate.promise;
      events.push('a ends');
      throw new Error('a failed');
    });
    const b = dispatcher.inOrder(ASHA, async () => void events.push('b runs'));
    const c = dispatcher.inOrder(RAVI, async () => void events.push('c runs'));
    await c;
    assert.deepEqual(events, ['a starts', 'c runs']);
    gate.resolve();
    await assert.rejects(a);
    await b;
    assert.deepEqual(events, ['a starts', 'c runs', 'a ends', 'b runs']);
  });

  it('keeps an entry queued when the account has gone away', async () => {
    const dispatcher = new OutboxDispatcher({ nodeId: 'n', store: {} as never, account: { client: null, limiter: new FakeLimiter() }, policy: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const outcome = await dispatcher.dispatch({ outboxId: 1, request: { from: 'X', to: ASHA, body: 'hi', encoding: 'plain' }, claimKey: null, confirmationClaimed: false });
    assert.deepEqual(outcome, { outcome: 'kept' });
  });
});
