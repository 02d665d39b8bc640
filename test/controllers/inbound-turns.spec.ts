// Several instances: exotel-inbound hands an SMS to the flow only in its turn (the store says when:
// the customer's earlier SMS are done, whichever instance has them), tells the store when the flow is
// done with it, and stops waiting when it closes.
import assert from 'node:assert/strict';
import { SqliteStore, type InboundTurns } from '../../src/store';
import { InboundController, type InboundCall, type InboundMessage } from '../../src/nodes/exotel-inbound/controller';
import type { FollowMessage } from '../../src/nodes/shared/ports';
import { deferred, LogRecorder, settle, StatusRecorder, translate, type Deferred } from './fakes';

const ROUTE = '/exotel/sms';

function call(sid: string, from = '09876543210'): InboundCall {
  return {
    method: 'POST', ip: '10.0.0.1', query: 'token=s3cret', contentType: 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(`SmsSid=${sid}&From=${from}&To=08012345678&Body=ORDER&AccountSid=acct1`) }),
  };
}

/** The store's turns, decided by the test. */
class FakeTurns implements InboundTurns {
  readonly asked = new Map<string, Deferred<void>>();
  readonly finished: string[] = [];
  readonly dropped: string[] = [];
  take(sms: { sid: string; from: string }): Promise<void> {
    const turn = deferred();
    this.asked.set(sms.sid, turn);
    return turn.promise;
  }
  finish(sms: { sid: string; from: string }): void {
    this.finished.push(`${sms.sid} ${sms.from}`);
  }
  drop(sid: string): void {
    this.dropped.push(sid);
  }
}

describe('exotel-inbound: a customer’s SMS in arrival order across instances', () => {
  let store: SqliteStore;
  let turns: FakeTurns;
  let log: LogRecorder;
  let emitted: InboundMessage[];
  let settled: Map<string, (failure?: unknown) => void>;
  let controller: InboundController;
  const replies: number[] = [];
  const post = (sid: string, from?: string) => controller.callback(call(sid, from), (reply) => replies.push(reply.status));

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    turns = new FakeTurns();
    log = new LogRecorder();
    emitted = [];
    settled = new Map();
    replies.length = 0;
    // the flow's completion, told by the test
    const follow: FollowMessage = (msg, done) => {
      settled.set((msg as InboundMessage).sms.sid, done);
      return { sent: () => undefined, stop: () => undefined };
    };
    controller = new InboundController({
      routePath: ROUTE, allowList: null,
      account: { accountSid: 'acct1', defaultCountry: 'IN', checkWebhookToken: (given) => given('s3cret'), redact: (t) => t },
      store, translate, status: new StatusRecorder(), log,
      emit: (msg) => emitted.push(msg),
      follow,
      turns,
    });
  });
  afterEach(async () => {
    await controller.close();
    await store.close();
  });

  it('acknowledges at once, and hands the SMS on only in its turn', async () => {
    await post('SM1');
    assert.deepEqual(replies, [200], 'the 200 does not wait for the turn');
    await settle(5);
    assert.deepEqual([...turns.asked.keys()], ['SM1']);
    assert.equal(emitted.length, 0, 'handed on before its turn');
    turns.asked.get('SM1')!.resolve();
    await settle(5);
    assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM1']);
    assert.equal(emitted[0].phone, '+919876543210');
  });

  it('tells the store when the flow is done with it, and not when a node gave up on it for the database', async () => {
    await post('SM1');
    await post('SM2', '09876500000');
    turns.asked.get('SM1')!.resolve();
    turns.asked.get('SM2')!.resolve();
    await settle(5);
    assert.deepEqual(turns.finished, []);
    settled.get('SM1')!();
    settled.get('SM2')!(Object.assign(new Error('the database cannot be reached'), { code: 'ECONNRESET' }));
    assert.deepEqual(turns.finished, ['SM1 +919876543210'], 'its effect may be missing: it is handed on again, so it is not done');
  });

  it('hands it on all the same, with a warning, when the store cannot say whose turn it is', async () => {
    await post('SM1');
    turns.asked.get('SM1')!.reject(new Error('function inbound_turns does not exist'));
    await settle(5);
    assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM1']);
    assert.match(log.lines.find((l) => l.level === 'warn')?.text ?? '', /^warn\.turn .*SM1.*inbound_turns/);
  });

  it('closed while an SMS waits for its turn: stops waiting, hands nothing on, leaves it unhandled for later', async () => {
    await post('SM1');
    await settle(5);
    await controller.close();
    assert.deepEqual(turns.dropped, ['SM1']);
    turns.asked.get('SM1')!.resolve();
    await settle(5);
    assert.equal(emitted.length, 0);
    assert.deepEqual((await store.unhandledInbound(ROUTE)).map((r) => r.sid), ['SM1']);
  });
});
