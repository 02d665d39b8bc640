// A send one of whose attempts got no answer (it may have gone) says so when it finally fails, also
// when Node-RED restarted between that attempt and the failure: the outbox keeps the word.
import assert from 'node:assert/strict';
import { SendError } from '../../src/exotel/errors';
import { SqliteStore } from '../../src/store';
import { SendController, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { evaluate, FakeGateway, FakeLimiter, LogRecorder, StatusRecorder, translate } from './fakes';
import { until as eventually } from '../support/wait';

const ASHA = '+919876543210';
const timeout = () => new SendError({ code: 'timeout', message: 'Exotel did not answer in time', retryable: true, maybeSent: true });
const serverError = () => new SendError({ code: 50000, message: 'Exotel had a problem', retryable: true, httpStatus: 500 });

describe('exotel-send: "may have been sent" across a restart', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
  });
  afterEach(() => store.close());

  const controller = (retryBaseDelayMs = 60_000) => new SendController({
    nodeId: 'send-1', config: { attempts: 3 }, store, evaluate, translate, status: new StatusRecorder(), log: new LogRecorder(),
    account: { client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'EXOTEL', dltEntityId: '', redact: (text: string) => text },
    failureWired: () => true, retryBaseDelayMs,
  });

  it('keeps in the outbox that an earlier attempt may have gone, even when the last one was a plain 500', async () => {
    // a timeout, then a 500, then an attempt that is on the wire when Node-RED dies
    gateway.answer = (_request, n) => (n === 1 ? Promise.reject(timeout()) : n === 2 ? Promise.reject(serverError()) : new Promise(() => undefined));
    const c = controller(5);
    void c.handle({ phone: ASHA, payload: 'Your order shipped' }, () => undefined, () => undefined);
    await eventually(() => gateway.sent.length === 3);
    const [entry] = await store.outboxEntries('send-1', 'sending');
    assert.equal(entry.attempts, 2);
    assert.equal((entry.error as { code: unknown }).code, 50000);
    assert.equal((entry.error as { maybeSent?: boolean }).maybeSent, true);
    c.stop();
  });

  it('a send resumed after a restart, whose attempt before it got no answer, fails saying it may have been sent', async () => {
    const request = { from: 'EXOTEL', to: ASHA, body: 'Your order shipped', encoding: 'plain' };
    const id = (await store.addToOutbox({ nodeId: 'send-1', phone: ASHA, request, message: { payload: 'Your order shipped', phone: ASHA }, claimKey: null, confirmation: false }))!;
    await store.noteOutboxAttempt(id, 1, { ...timeout().toJSON() }); // before the restart: no answer
    gateway.answer = async () => {
      throw new SendError({ code: 34011, message: 'Exotel: Template not approved', retryable: false, httpStatus: 400 });
    };
    const failed: SendMessage[] = [];
    await controller().resume((pair) => {
      const [, f] = pair as [SendMessage | null, SendMessage | null];
      if (f) failed.push(f);
    });
    const error = failed[0]?.error as { code: unknown; maybeSent?: boolean; message: string };
    assert.equal(error.code, 34011);
    assert.equal(error.maybeSent, true);
    assert.match(error.message, /before Node-RED restarted got no answer, so Exotel may have sent it/);
    const [row] = await store.outboxEntries('send-1', 'failed');
    assert.equal((row.error as { maybeSent?: boolean }).maybeSent, true, 'the outbox row says so too');
  });
});
