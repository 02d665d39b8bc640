// exotel-send's opt-out guard as a flow builder meets it: the STOP confirmation passes without a tick
// when the message carries the fresh opt-out, once; HELP answers reach an opted-out number only when
// the node allows it; a blocked send says plainly why.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, type Store } from '../../src/store';
import { SendController, type SendAccount, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { OptOutController } from '../../src/nodes/opt-out-store/controller';
import { carriesFreshOptOut } from '../../src/nodes/exotel-send/opt-out-guard';
import { contract } from '../../src/nodes/exotel-send/contract';
import { migrate } from '../../src/nodes/contract';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, StatusRecorder, translate } from './fakes';

const ASHA = '+919876543210';

describe('exotel-send: the opt-out guard', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let status: StatusRecorder;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    status = new StatusRecorder();
  });
  afterEach(() => store.close());

  function sender(config: SendConfig, nodeId = 'send-1', on: Store = store) {
    const account = { client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'SHOP', dltEntityId: '', redact: (text: string) => text };
    return new SendController({
      nodeId, config: { text: 'payload', textType: 'msg', ...config }, account: account as unknown as SendAccount, store: on, evaluate, translate, status, log: new LogRecorder(),
      failureWired: () => true, retryBaseDelayMs: 1,
    });
  }

  function sendThrough(c: SendController, msg: SendMessage) {
    const outcome = deferred<{ sent: SendMessage | null; failed: SendMessage | null }>();
    let out = { sent: null as SendMessage | null, failed: null as SendMessage | null };
    void c.handle(msg, (pair) => {
      const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
      out = { sent, failed };
    }, () => outcome.resolve(out));
    return outcome.promise;
  }

  /** The message an opt-out store set to "opt out" hands on after a STOP from `phone`. */
  function optOutFromStop(phone: string, sid: string, on: Store = store): Promise<SendMessage> {
    const node = new OptOutController({ config: { action: 'optout' }, store: on, evaluate, translate, status: new StatusRecorder(), log: new LogRecorder() });
    const handed = deferred<SendMessage>();
    node.handle({ phone, payload: 'STOP', keyword: 'STOP', sms: { sid, from: phone } as { sid: string } }, (msg) => handed.resolve(msg as SendMessage), () => undefined);
    return handed.promise;
  }

  it('sends the confirmation wired after an opt-out store set to "opt out", with nothing ticked, once', async () => {
    const afterStop = await optOutFromStop(ASHA, 'SM-stop-1');
    const c = sender({});
    const first = await sendThrough(c, { ...afterStop, payload: 'You will get no more messages. Reply START to subscribe again.' });
    assert.ok(first.sent, 'the one confirmation goes out');
    assert.deepEqual(gateway.sent.map((r) => r.to), [ASHA]);
    const second = await sendThrough(c, { ...afterStop, sms: { sid: 'SM-stop-1b', from: ASHA }, payload: 'a second one' });
    assert.equal((second.failed?.error as { code: string }).code, 'opted_out', 'still one message per opt-out');
    assert.equal(gateway.sent.length, 1);
  });

  it('gives no second confirmation to a STOP from a number already opted out (changed: false)', async () => {
    const c = sender({});
    assert.ok((await sendThrough(c, { ...(await optOutFromStop(ASHA, 'SM-stop-1')), payload: 'first' })).sent);
    const again = await optOutFromStop(ASHA, 'SM-stop-2');
    assert.equal((again.optOut as { changed: boolean }).changed, false);
    const { failed } = await sendThrough(c, { ...again, payload: 'again' });
    assert.equal((failed?.error as { code: string }).code, 'opted_out');
    assert.equal(gateway.sent.length, 1);
  });

  it('sends the confirmation of a STOP handed on again after Node-RED died between its claim and the outbox, once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-confirmation-'));
    const file = path.join(dir, 'exotel-sms.db');
    try {
      // the first run: the confirmation is claimed, and the process dies before it is in the outbox
      const first = new SqliteStore(file);
      const queuing = deferred<void>();
      const dying = new Proxy(first, {
        get: (target, key) => (key === 'addToOutbox' ? () => (queuing.resolve(), new Promise<never>(() => undefined)) : Reflect.get(target, key, target)),
      });
      const stop = await optOutFromStop(ASHA, 'SM-stop-1', first);
      void sender({}, 'send-1', dying).handle({ ...stop, payload: 'You will get no more messages.' }, () => undefined, () => undefined);
      await queuing.promise;
      assert.equal(await first.claimOptOutConfirmation(ASHA, 600_000), false, 'the dying run holds the claim');
      // the next start on the same file: the STOP is handed on again (a replay), and its confirmation goes, once
      const second = new SqliteStore(file);
      try {
        const replayed = await optOutFromStop(ASHA, 'SM-stop-1', second);
        const c = sender({}, 'send-1', second);
        assert.ok((await sendThrough(c, { ...replayed, payload: 'You will get no more messages.' })).sent, 'the confirmation goes after the restart');
        assert.equal((await sendThrough(c, { ...replayed, payload: 'You will get no more messages.' })).sent, null, 'not twice');
        assert.deepEqual(gateway.sent.map((r) => r.to), [ASHA]);
      } finally {
        await second.close();
        await first.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not take an old opt-out, or another number’s, for a fresh one', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    const fresh = { phone: ASHA, status: 'opted-out', changed: true, updatedAt: new Date(now - 60_000).toISOString() };
    assert.equal(carriesFreshOptOut({ optOut: fresh }, ASHA, now), true);
    assert.equal(carriesFreshOptOut({ optOut: { ...fresh, updatedAt: new Date(now - 11 * 60_000).toISOString() } }, ASHA, now), false, 'over 10 minutes');
    assert.equal(carriesFreshOptOut({ optOut: fresh }, '+919812345678', now), false, 'another number');
    assert.equal(carriesFreshOptOut({ optOut: { ...fresh, changed: false } }, ASHA, now), false, 'not changed by this message');
    assert.equal(carriesFreshOptOut({ optOut: { ...fresh, status: 'opted-in' } }, ASHA, now), false);
    assert.equal(carriesFreshOptOut({}, ASHA, now), false);
  });

  it('still lets a ticked node send the confirmation when msg.optOut was dropped on the way', async () => {
    await optOutFromStop(ASHA, 'SM-stop-1');
    assert.equal((await sendThrough(sender({}), { phone: ASHA, payload: 'bye' })).failed?.error ? 'blocked' : 'sent', 'blocked', 'unticked, no msg.optOut: blocked');
    assert.ok((await sendThrough(sender({ optOutConfirmation: true }, 'send-2'), { phone: ASHA, payload: 'bye' })).sent);
  });

  it('says plainly why a send was blocked: msg.error and the status', async () => {
    await store.setOptStatus({ phone: ASHA, status: 'opted-out', keyword: 'STOP', source: 'manual' });
    const { failed } = await sendThrough(sender({}), { phone: ASHA, payload: 'Sale today!' });
    const error = failed?.error as { code: string; message: string };
    assert.equal(error.code, 'opted_out');
    assert.match(error.message, /^not sent: \+919876543210 opted out \(replied STOP\)/);
    assert.match(status.last?.text ?? '', /status\.countsOptedOut/);
  });

  describe('HELP after STOP', () => {
    const help = (from: string, sid: string): SendMessage => ({ phone: ASHA, keyword: 'HELP', payload: 'Shop: reply START to subscribe again', sms: { sid, from } });

    beforeEach(() => store.setOptStatus({ phone: ASHA, status: 'opted-out', keyword: 'STOP', source: 'SM-stop' }));

    it('a new node answers the HELP of an opted-out number (the default), once per HELP', async () => {
      const config = migrate(contract, { id: 'n', version: contract.version, ...Object.fromEntries(Object.entries(contract.defaults).map(([k, v]) => [k, v.value])) });
      assert.equal(config.helpReachesOptedOut, true);
      const c = sender({ helpReachesOptedOut: config.helpReachesOptedOut });
      assert.ok((await sendThrough(c, help(ASHA, 'SM-help-1'))).sent);
      await sendThrough(c, help(ASHA, 'SM-help-1'));
      assert.equal(gateway.sent.length, 1, 'a replayed HELP is not answered twice');
    });

    it('answers only the number that sent the HELP, and nothing that is not a HELP', async () => {
      const c = sender({ helpReachesOptedOut: true });
      assert.equal((await sendThrough(c, help('+919812345678', 'SM-help-2'))).failed?.error ? 'blocked' : 'sent', 'blocked', 'HELP from someone else');
      assert.equal((await sendThrough(c, { ...help(ASHA, 'SM-help-3'), keyword: 'YES' })).failed?.error ? 'blocked' : 'sent', 'blocked');
      assert.equal(gateway.sent.length, 0);
    });

    it('blocks HELP answers when unticked, and a node saved before version 2 keeps blocking them', async () => {
      assert.equal(migrate(contract, { version: 1, text: 'payload', textType: 'msg' }).helpReachesOptedOut, false);
      const c = sender({ helpReachesOptedOut: false });
      const { failed } = await sendThrough(c, help(ASHA, 'SM-help-4'));
      assert.equal((failed?.error as { code: string }).code, 'opted_out');
    });
  });
});
