// exotel-send at its edges: what never reaches the outbox, the number's one opt-out confirmation,
// the code kept out of errors, the segments reported, the purge of old sends, the dispatcher's pace
// and its notes in the outbox, and the opt-out guard's clock. A real (in-memory) store; no Node-RED.
import assert from 'node:assert/strict';
import type { SendRequest, SendResult } from '../../src/exotel/client';
import { SendError } from '../../src/exotel/errors';
import { SqliteStore, StoreUnavailableError } from '../../src/store';
import { SendController, type SendAccount, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { OutboxDispatcher } from '../../src/nodes/exotel-send/outbox-dispatcher';
import { answersHelpFrom, carriesFreshOptOut, OPT_OUT_CONFIRMATION_WINDOW_MS } from '../../src/nodes/exotel-send/opt-out-guard';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, ManualTimers, settle, StatusRecorder, translate, until } from './fakes';

const ASHA = '+919876543210';
const RAVI = '+919812345678';
const KEY = Buffer.alloc(32, 5);
const ok = (n: number, segments = 1): SendResult => ({ sid: `SM${n}`, status: 'queued', detailedStatus: '', detailedStatusCode: null, segments, encoding: 'plain' });

describe('exotel-send: edges', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let log: LogRecorder;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    log = new LogRecorder();
  });
  afterEach(() => store.close());

  const account = (more: Partial<SendAccount> = {}) =>
    ({ client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'SHOPIN', dltEntityId: '', redact: (t: string) => t, ...more }) as SendAccount;

  function sender(config: SendConfig = {}, more: { account?: SendAccount; codeKey?: Buffer | null } = {}) {
    return new SendController({
      nodeId: 'send-1', config, account: more.account ?? account(), store, evaluate, translate, status: new StatusRecorder(), log,
      failureWired: () => true, retryBaseDelayMs: 1, codeKey: more.codeKey === null ? undefined : (more.codeKey ?? KEY),
    });
  }

  function through(c: SendController, msg: SendMessage) {
    const outcome = deferred<{ sent: SendMessage | null; failed: SendMessage | null }>();
    let out = { sent: null as SendMessage | null, failed: null as SendMessage | null };
    void c.handle(msg, (pair) => {
      const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
      out = { sent, failed };
    }, () => outcome.resolve(out));
    return outcome.promise;
  }
  const everything = async () => [...(await store.outboxEntries('send-1', 'queued')), ...(await store.outboxEntries('send-1', 'sending')), ...(await store.outboxEntries('send-1', 'failed'))];

  describe('before the outbox', () => {
    it('a property that cannot be evaluated: failed as invalid input, with the reason', async () => {
      const out = await through(sender({ to: 'phone', toType: 'flow' }), { payload: 'hi' });
      assert.deepEqual(out.failed?.error, { code: 'invalid_input', message: 'the specs evaluate no flow property', retryable: false });
    });

    it('a fixed text left empty: refused as empty', async () => {
      const out = await through(sender({ textType: 'str' }), { phone: ASHA, payload: 'not this' });
      assert.equal((out.failed?.error as { code: string }).code, 'empty_text');
      assert.deepEqual(gateway.sent, []);
    });

    it('a number that opted out, on a node that confirms opt-outs, whose confirmation went already: blocked before the outbox', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), true);
      const out = await through(sender({ optOutConfirmation: true }), { phone: ASHA, payload: 'Sale!' });
      assert.equal((out.failed?.error as { code: string }).code, 'opted_out');
      assert.deepEqual(await everything(), [], 'nothing queued, nothing to fail later');
      assert.deepEqual(gateway.sent, []);
    });

    it('the same HELP answered again, to a number whose confirmation another message holds: that claim is left alone', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), true);
      const c = sender({ helpReachesOptedOut: true });
      const help = { phone: ASHA, payload: 'Call 1800 123', keyword: 'HELP', sms: { sid: 'SM5', from: ASHA } };
      assert.ok((await through(c, help)).sent);
      const again = await through(c, help);
      assert.deepEqual([again.sent, again.failed], [null, null]);
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), false, 'still taken');
    });
  });

  describe('an answer the database lost after it committed', () => {
    // PostgreSQL commits, then the connection drops before its answer arrives: the call fails as
    // unavailable and is made again once the database answers. It must find what it did.
    function losingFirstAnswer<K extends 'addToOutbox' | 'claimOptOutConfirmation'>(name: K) {
      const lossy = Object.create(store) as SqliteStore;
      let lost = false;
      const real = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (lossy as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        const answer = await real(...args);
        if (lost) return answer;
        lost = true;
        throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
      };
      return lossy;
    }
    async function sendThrough(lossy: SqliteStore, config: SendConfig, msg: SendMessage) {
      const timers = new ManualTimers();
      const c = new SendController({
        nodeId: 'send-1', config, account: account(), store: lossy, evaluate, translate, status: new StatusRecorder(), log,
        failureWired: () => true, retryBaseDelayMs: 1, codeKey: KEY, timers,
      });
      let out: { sent: SendMessage | null; failed: SendMessage | null } | null = null;
      void c.handle(msg, (pair) => {
        const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
        out = { sent, failed };
      }, () => undefined);
      await until(() => timers.timeouts === 1);
      await timers.tick(1_000);
      await until(() => out !== null);
      return out!;
    }

    it('the outbox entry it queued is sent, once, not taken for a send somebody else made', async () => {
      const out = await sendThrough(losingFirstAnswer('addToOutbox'), {}, { phone: ASHA, payload: 'Your order is packed', sms: { sid: 'SM71', from: ASHA } });
      assert.ok(out.sent, JSON.stringify(out.failed?.error));
      assert.deepEqual(gateway.sent.map((r) => r.body), ['Your order is packed']);
      assert.deepEqual(await everything(), [], 'nothing left queued');
    });

    it('the same for a send that answers no inbound SMS (no claim): queued once, sent once', async () => {
      const out = await sendThrough(losingFirstAnswer('addToOutbox'), {}, { phone: ASHA, payload: 'Sale ends today' });
      assert.ok(out.sent);
      assert.deepEqual(gateway.sent.map((r) => r.body), ['Sale ends today']);
      assert.deepEqual(await everything(), []);
    });

    it('the opt-out confirmation it claimed is sent, once', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM72' });
      const out = await sendThrough(losingFirstAnswer('claimOptOutConfirmation'), { optOutConfirmation: true }, { phone: ASHA, payload: 'You will get no more SMS from us' });
      assert.ok(out.sent, JSON.stringify(out.failed?.error));
      assert.deepEqual(gateway.sent.map((r) => r.body), ['You will get no more SMS from us']);
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), false, 'used up');
    });

    it('the opt-out confirmation it queued, which another instance took over before the call was made again: not given back', async () => {
      // An outage longer than the lease: another instance took the entry over (and sends it), so the
      // call made again is answered null, as for a claim a replay took.
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM73' });
      const lossy = Object.create(store) as SqliteStore;
      let calls = 0;
      lossy.addToOutbox = async (entry) => {
        if (++calls > 1) return null;
        await store.addToOutbox(entry);
        throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
      };
      const timers = new ManualTimers();
      const c = new SendController({
        nodeId: 'send-1', config: { optOutConfirmation: true }, account: account(), store: lossy, evaluate, translate, status: new StatusRecorder(), log,
        failureWired: () => true, retryBaseDelayMs: 1, codeKey: KEY, timers,
      });
      const done = deferred();
      const handedOn: unknown[] = [];
      void c.handle({ phone: ASHA, payload: 'You will get no more SMS from us', sms: { sid: 'SM73', from: ASHA } }, (pair) => void handedOn.push(pair), () => done.resolve());
      await until(() => timers.timeouts === 1);
      await timers.tick(1_000);
      await done.promise;
      assert.deepEqual([handedOn, gateway.sent], [[], []], 'the other instance sends it and hands it on');
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS, 'a-later-message'), false, 'still used: a later message cannot take it (a second SMS to an opted-out number)');
    });
  });

  describe('a one-time code', () => {
    it('kept out of the error the outbox keeps when the send fails', async () => {
      gateway.answer = async () => Promise.reject(new SendError({ code: 400, message: 'rejected text "Your code is 482913"', retryable: false }));
      const out = await through(sender({ text: 'Your code is {{conversation.code}}', textType: 'str' }), { phone: ASHA, conversation: { code: '482913' } });
      assert.ok(out.failed);
      const [row] = await store.outboxEntries('send-1', 'failed');
      assert.doesNotMatch(JSON.stringify(row), /482913/);
    });

    it('queued before a stop, sent whole by the next start', async () => {
      const limiter = Object.assign(new FakeLimiter(), { held: true });
      const first = sender({ text: 'Your code is {{conversation.code}}', textType: 'str' }, { account: account({ limiter }) });
      void first.handle({ phone: ASHA, conversation: { code: '482913' } }, () => undefined, () => undefined);
      await until(() => limiter.waiting.length === 1);
      first.stop();
      const handed: unknown[] = [];
      await sender().resume((pair) => handed.push(pair));
      assert.deepEqual(gateway.sent.map((r) => r.body), ['Your code is 482913']);
    });

    it('without a code secret, the text cannot be kept sealed: after a restart it fails rather than send the mask', async () => {
      const limiter = Object.assign(new FakeLimiter(), { held: true });
      const first = sender({ text: 'Your code is {{conversation.code}}', textType: 'str' }, { account: account({ limiter }), codeKey: null });
      void first.handle({ phone: ASHA, conversation: { code: '482913' } }, () => undefined, () => undefined);
      await until(() => limiter.waiting.length === 1);
      first.stop();
      const [entry] = await store.outboxEntries('send-1', 'queued');
      assert.equal((entry.request as SendRequest & { sealed?: string }).sealed, '');
      const failed: SendMessage[] = [];
      await sender().resume((pair) => {
        const [, f] = pair as [SendMessage | null, SendMessage | null];
        if (f) failed.push(f);
      });
      assert.deepEqual(gateway.sent, []);
      assert.equal((failed[0]?.error as { code: string }).code, 'code_unreadable');
    });
  });

  describe('what is reported sent', () => {
    it('the segments Exotel counted; when it gives none, the count of the text', async () => {
      gateway.answer = async (_r, n) => ok(n, n === 1 ? 3 : 0);
      const a = await through(sender(), { phone: ASHA, payload: 'short' });
      const b = await through(sender(), { phone: RAVI, payload: 'x'.repeat(200) });
      assert.deepEqual([(a.sent?.exotel as { segments: number }).segments, (b.sent?.exotel as { segments: number }).segments], [3, 2]);
    });

    it('a resumed send that fails, with no attempt before the restart, does not say it may have gone', async () => {
      await store.addToOutbox({ nodeId: 'send-1', phone: ASHA, request: { from: 'SHOPIN', to: ASHA, body: 'hi', encoding: 'plain' }, message: { payload: 'hi' }, claimKey: null, confirmation: false });
      gateway.answer = async () => Promise.reject(new SendError({ code: 400, message: 'bad sender', retryable: false }));
      const failed: SendMessage[] = [];
      await sender().resume((pair) => {
        const [, f] = pair as [SendMessage | null, SendMessage | null];
        if (f) failed.push(f);
      });
      assert.deepEqual(failed[0]?.error, { code: 400, message: 'bad sender', retryable: false });
      const [row] = await store.outboxEntries('send-1', 'failed');
      assert.deepEqual(row.error, { code: 400, message: 'bad sender', retryable: false }, 'no "may have been sent" in the outbox either');
    });
  });

  describe('the purge of old sends', () => {
    it('says in the debug log how many it deleted; nothing when none', async () => {
      const id = (await store.addToOutbox({ nodeId: 'send-1', phone: ASHA, request: { body: 'old' }, message: null, claimKey: null, confirmation: false }))!;
      await store.failOutboxEntry(id, 1, { code: 'rejected' });
      await sender().purgeOld(180 * 86_400_000);
      assert.deepEqual(log.lines, []);
      store.db.prepare('UPDATE outbox SET updated_at = ? WHERE id = ?').run(Date.now() - 181 * 86_400_000, id);
      await sender().purgeOld(180 * 86_400_000);
      assert.deepEqual(log.lines, [{ level: 'debug', text: 'purged 1 finished sends, claims and logged SMS' }]);
    });

    it('a purge the store refuses: a warning with the reason', async () => {
      const c = sender();
      const failing = Object.create(store) as SqliteStore;
      failing.purgeFinishedSends = async () => Promise.reject(new Error('SQLITE_BUSY: database is locked'));
      (c as unknown as { deps: { store: SqliteStore } }).deps.store = failing;
      await c.purgeOld(1);
      assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.purge {"message":"SQLITE_BUSY: database is locked"}' }]);
    });
  });

  describe('the outbox dispatcher', () => {
    const request = (to: string, body = 'hi'): SendRequest => ({ from: 'SHOPIN', to, body, encoding: 'plain' });
    const queue = async (to: string, body = 'hi') => (await store.addToOutbox({ nodeId: 'send-1', phone: to, request: request(to, body), message: {}, claimKey: null, confirmation: false }))!;

    /** A limiter that records what each release said: true when the request went to Exotel. */
    class RecordingLimiter extends FakeLimiter {
      readonly released: boolean[] = [];
      override acquire() {
        return Promise.resolve((sent?: boolean) => void this.released.push(sent === true));
      }
    }

    function dispatcher(more: { limiter?: FakeLimiter; timers?: ManualTimers; attempts?: number; store?: SqliteStore; account?: null } = {}) {
      return new OutboxDispatcher({
        nodeId: 'send-1', store: more.store ?? store, account: more.account === null ? null : { client: gateway, limiter: more.limiter ?? new FakeLimiter() },
        policy: { attempts: more.attempts ?? 3, baseDelayMs: 1_000, maxDelayMs: 1_000 }, timers: more.timers ?? new ManualTimers(),
      });
    }

    it('no account at all: the entry stays queued', async () => {
      assert.deepEqual(await dispatcher({ account: null }).dispatch({ outboxId: 1, request: request(ASHA), claimKey: null, confirmationClaimed: false }), { outcome: 'kept' });
    });

    it('tells the rate limit whether each request reached Exotel', async () => {
      const limiter = new RecordingLimiter();
      await store.setOptStatus({ phone: RAVI, status: 'opted-out', source: 'manual' });
      await dispatcher({ limiter }).dispatch({ outboxId: await queue(ASHA), request: request(ASHA), claimKey: null, confirmationClaimed: false });
      await dispatcher({ limiter }).dispatch({ outboxId: await queue(RAVI), request: request(RAVI), claimKey: null, confirmationClaimed: false });
      assert.deepEqual(limiter.released, [true, false], 'the blocked one never left');
    });

    it('a third message to a number waits for the second, even when the first ended in between', async () => {
      const d = dispatcher();
      const gates = [deferred<void>(), deferred<void>()];
      const events: string[] = [];
      const a = d.inOrder(ASHA, async () => {
        await gates[0].promise;
        events.push('a');
      });
      const b = d.inOrder(ASHA, async () => {
        events.push('b starts');
        await gates[1].promise;
        events.push('b ends');
      });
      gates[0].resolve();
      await a;
      await settle();
      const c = d.inOrder(ASHA, async () => void events.push('c'));
      await settle();
      assert.deepEqual(events, ['a', 'b starts']);
      gates[1].resolve();
      await Promise.all([b, c]);
      assert.deepEqual(events, ['a', 'b starts', 'b ends', 'c']);
    });

    it('waits for a database that went away, on its own when no node gives it a wait', async () => {
      const timers = new ManualTimers();
      let away = true;
      const flaky = Object.create(store) as SqliteStore;
      flaky.isOptedOut = async (phone: string) => {
        if (away) throw new StoreUnavailableError(new Error('ECONNRESET'));
        return store.isOptedOut(phone);
      };
      const outcome = dispatcher({ store: flaky, timers }).dispatch({ outboxId: await queue(ASHA), request: request(ASHA), claimKey: null, confirmationClaimed: false });
      await until(() => timers.timeouts === 1);
      away = false;
      await timers.tick(1_000);
      assert.equal((await outcome).outcome, 'sent');
    });

    it('an attempt before a restart got no answer: each note and the failure say it may have gone, even after a plain error', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA);
      gateway.answer = async () => Promise.reject(new SendError({ code: 500, message: 'busy', retryable: true }));
      const outcome = dispatcher({ timers, attempts: 2 }).dispatch({ outboxId: id, request: request(ASHA), claimKey: null, confirmationClaimed: false, maybeSentBefore: true });
      await until(() => timers.timeouts === 1);
      await settle();
      const [noted] = [...(await store.outboxEntries('send-1', 'queued')), ...(await store.outboxEntries('send-1', 'sending'))];
      assert.equal((noted.error as { maybeSent?: boolean }).maybeSent, true);
      await timers.tick(1_000);
      const result = await outcome;
      assert.equal(result.outcome === 'failed' && result.error.maybeSent, true);
    });

    it('no answer to one attempt: the notes after it say it may have gone; plain errors alone do not', async () => {
      const timers = new ManualTimers();
      const id = await queue(ASHA);
      gateway.answer = async (_r, n) =>
        Promise.reject(n === 1 ? new SendError({ code: 500, message: 'busy', retryable: true }) : new SendError({ code: 'timeout', message: 'no answer', retryable: true, maybeSent: true }));
      const notes: unknown[] = [];
      const d = dispatcher({ timers, attempts: 3 });
      const outcome = d.dispatch({ outboxId: id, request: request(ASHA), claimKey: null, confirmationClaimed: false });
      const note = async () => {
        await until(() => timers.timeouts === 1);
        await settle();
        const [entry] = [...(await store.outboxEntries('send-1', 'queued')), ...(await store.outboxEntries('send-1', 'sending'))];
        notes.push((entry.error as { maybeSent?: boolean }).maybeSent);
        await timers.tick(1_000);
      };
      await note();
      await note();
      await outcome;
      assert.deepEqual(notes, [undefined, true]);
    });

    it('a failure that is plain keeps no "may have gone" in the outbox', async () => {
      const id = await queue(ASHA);
      gateway.answer = async () => Promise.reject(new SendError({ code: 400, message: 'bad', retryable: false }));
      await dispatcher().dispatch({ outboxId: id, request: request(ASHA), claimKey: null, confirmationClaimed: false });
      const [row] = await store.outboxEntries('send-1', 'failed');
      assert.deepEqual(row.error, { code: 400, message: 'bad', retryable: false });
    });

    it('a blocked send that held no confirmation gives none back: another message’s claim stays', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), true);
      const outcome = await dispatcher().dispatch({ outboxId: await queue(ASHA), request: request(ASHA), claimKey: null, confirmationClaimed: false });
      assert.equal(outcome.outcome === 'failed' && outcome.error.code, 'opted_out');
      assert.equal(await store.claimOptOutConfirmation(ASHA, OPT_OUT_CONFIRMATION_WINDOW_MS), false);
    });
  });

  describe('the opt-out guard', () => {
    const NOW = Date.parse('2025-06-01T10:00:00.000Z');
    const optOut = (updatedAt: unknown) => ({ optOut: { phone: ASHA, status: 'opted-out', changed: true, updatedAt } });
    const at = (ms: number) => new Date(ms).toISOString();

    it('fresh: from a minute ahead (clocks differ) to ten minutes ago, both ends included', () => {
      assert.equal(carriesFreshOptOut(optOut(at(NOW + 60_000)), ASHA, NOW), true);
      assert.equal(carriesFreshOptOut(optOut(at(NOW + 60_001)), ASHA, NOW), false);
      assert.equal(carriesFreshOptOut(optOut(at(NOW - OPT_OUT_CONFIRMATION_WINDOW_MS)), ASHA, NOW), true);
      assert.equal(carriesFreshOptOut(optOut(at(NOW - OPT_OUT_CONFIRMATION_WINDOW_MS - 1)), ASHA, NOW), false);
    });

    it('a time that is no text, or no date: not fresh', () => {
      assert.equal(carriesFreshOptOut(optOut(new Date(NOW)), ASHA, NOW), false);
      assert.equal(carriesFreshOptOut(optOut(NOW), ASHA, NOW), false);
      assert.equal(carriesFreshOptOut(optOut('just now'), ASHA, NOW), false);
    });

    it('HELP with no SMS behind it answers no one', () => {
      assert.equal(answersHelpFrom({ keyword: 'HELP' }, ASHA), false);
      assert.equal(answersHelpFrom({ keyword: 'HELP', sms: { from: ASHA } }, ASHA), true);
    });
  });
});
