// conversation-state's controller, hold queue and timeout poller, without Node-RED.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import type { ConversationRecord } from '../../src/store';
import { ConversationController, type ConversationConfig, type ConversationMessage } from '../../src/nodes/conversation-state/controller';
import { HoldQueue } from '../../src/nodes/conversation-state/hold-queue';
import { PollerElection, TimeoutPoller } from '../../src/nodes/conversation-state/timeout-poller';
import { systemTimers } from '../../src/nodes/shared/ports';
import { deferred, evaluate, LogRecorder, settle, StatusRecorder, translate, until } from './fakes';

const ASHA = '+919876543210';
const RAVI = '+919812345678';
const HOUR = 3_600_000;

describe('conversation-state hold queue', () => {
  afterEach(() => sinon.restore());

  it('runs one customer’s items one at a time, in order, released by the flow or by the hold time', () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const ran: string[] = [];
    const queue = new HoldQueue<string>(2_000, (key, item) => ran.push(`${key}:${item}`));
    queue.offer('asha', '1');
    queue.offer('asha', '2');
    queue.offer('asha', '3');
    queue.offer('ravi', '1');
    assert.deepEqual(ran, ['asha:1', 'ravi:1'], 'Asha’s later replies wait; Ravi does not wait for her');
    queue.release('asha');
    assert.deepEqual(ran, ['asha:1', 'ravi:1', 'asha:2']);
    clock.tick(1_999);
    assert.deepEqual(ran, ['asha:1', 'ravi:1', 'asha:2'], 'held until the hold time has passed');
    clock.tick(1);
    assert.deepEqual(ran, ['asha:1', 'ravi:1', 'asha:2', 'asha:3']);
    queue.release('asha');
    assert.equal(queue.isHeld('asha'), false);
    queue.offer('asha', '4');
    assert.deepEqual(ran.at(-1), 'asha:4', 'a free customer’s reply runs at once');
  });

  it('hands back what still waits when it closes, and runs nothing later', () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const ran: string[] = [];
    const queue = new HoldQueue<string>(1_000, (_key, item) => ran.push(item));
    queue.offer('asha', 'a');
    queue.offer('asha', 'b');
    queue.offer('asha', 'c');
    assert.deepEqual(queue.close(), ['b', 'c']);
    clock.tick(5_000);
    assert.deepEqual(ran, ['a']);
  });
});

describe('conversation-state timeout poller', () => {
  const record = (key: string): ConversationRecord => ({
    name: 'survey', key, step: 'q1', data: {}, startedAt: 0, updatedAt: 0, expiresAt: HOUR, deadlineAt: 1, revision: 1, code: null,
  });

  it('polls on the first route node of a name only, and the next one takes over when it leaves', async () => {
    const election = new PollerElection();
    const taken: string[] = [];
    const store = {
      takeDueConversations: async () => [] as ConversationRecord[],
      purgeExpiredConversations: async () => 0,
    };
    const poller = (nodeId: string) => new TimeoutPoller({
      name: 'survey', nodeId, election, onDue: () => undefined, onError: (err) => assert.fail(err),
      store: { ...store, takeDueConversations: async () => (taken.push(nodeId), []) },
    });
    const first = poller('first');
    const second = poller('second');
    await first.poll();
    await second.poll();
    assert.deepEqual(taken, ['first']);
    first.stop();
    await second.poll();
    assert.deepEqual(taken, ['first', 'second']);
    second.stop();
  });

  it('does not start a second poll while one is under way: each due conversation fires once', async () => {
    const gate = deferred();
    let asks = 0;
    const due: string[] = [];
    const poller = new TimeoutPoller({
      name: 'survey', nodeId: 'n', election: new PollerElection(), onDue: (r) => due.push(r.key), onError: (err) => assert.fail(err),
      store: {
        async takeDueConversations() {
          asks++;
          await gate.promise;
          return asks === 1 ? [record(ASHA)] : [];
        },
        purgeExpiredConversations: async () => 0,
      },
    });
    const one = poller.poll();
    const two = poller.poll();
    gate.resolve();
    await Promise.all([one, two]);
    assert.equal(asks, 1);
    assert.deepEqual(due, [ASHA]);
    poller.stop();
  });

  it('takes every due conversation, batch after batch', async () => {
    const batches = [Array.from({ length: 100 }, (_, i) => record(`k${i}`)), [record('last')]];
    const due: string[] = [];
    const poller = new TimeoutPoller({
      name: 'survey', nodeId: 'n', election: new PollerElection(), onDue: (r) => due.push(r.key), onError: (err) => assert.fail(err),
      store: { takeDueConversations: async () => batches.shift() ?? [], purgeExpiredConversations: async () => 0 },
    });
    await poller.poll();
    assert.equal(due.length, 101);
    poller.stop();
  });
});

describe('conversation-state controller', () => {
  let store: SqliteStore;
  const controllers: ConversationController[] = [];
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.close();
    await store.close();
  });

  function controller(config: ConversationConfig, options: { nodeId?: string; holdMs?: number; election?: PollerElection; later?: number } = {}) {
    const timedOut: unknown[] = [];
    const c = new ConversationController({
      nodeId: options.nodeId ?? 'route-1', config: { conversation: 'survey', ...config }, store, evaluate, translate,
      status: new StatusRecorder(), log: new LogRecorder(), send: (msg) => timedOut.push(msg),
      holdMs: options.holdMs ?? 60_000, timerMs: 5, election: options.election ?? new PollerElection(),
      timers: { ...systemTimers, now: () => Date.now() + (options.later ?? 0) },
    });
    c.attach();
    controllers.push(c);
    return { c, timedOut };
  }

  function routeOf(c: ConversationController, msg: ConversationMessage) {
    const routed = deferred<{ output: number; msg: ConversationMessage }>();
    c.handle(msg, (out) => {
      const outputs = out as Array<ConversationMessage | null>;
      const output = outputs.findIndex((m) => m !== null);
      routed.resolve({ output, msg: outputs[output]! });
    }, (err) => err && routed.reject(err));
    return routed.promise;
  }

  it('routes a customer’s next reply by the state the flow gave the conversation after the previous one', async () => {
    await store.startConversation({ name: 'survey', key: ASHA, step: 'q1', data: {}, maxAgeMs: HOUR });
    const { c } = controller({ action: 'route', steps: ['q1', 'q2'] });
    const first = await routeOf(c, { phone: ASHA, payload: '5' });
    assert.equal(first.output, 0);
    let secondDone = false;
    const second = routeOf(c, { phone: ASHA, payload: 'great' }).finally(() => (secondDone = true));
    const ravi = await routeOf(c, { phone: RAVI, payload: 'hi' });
    assert.equal(ravi.output, 2, 'Ravi, who has no conversation, is not held behind Asha');
    await settle();
    assert.equal(secondDone, false, 'Asha’s second reply waits while the flow acts on her first');
    await store.updateConversation('survey', ASHA, { step: 'q2' });
    const routed = await second;
    assert.equal(routed.output, 1, 'routed by the new step');
    assert.equal((routed.msg.conversation as { step: string }).step, 'q2');
  });

  it('reports the replies still waiting when the node closes', async () => {
    await store.startConversation({ name: 'survey', key: ASHA, step: 'q1', data: {}, maxAgeMs: HOUR });
    const { c } = controller({ action: 'route', steps: ['q1'] });
    await routeOf(c, { phone: ASHA, payload: '1' });
    const errors: Error[] = [];
    c.handle({ phone: ASHA, payload: '2' }, () => undefined, (err) => err && errors.push(err));
    await settle();
    c.close();
    assert.deepEqual(errors.map((e) => e.message), ['error.stopped']);
  });

  it('fires a step timeout once, on the first route node of the conversation, on the timed-out output', async () => {
    await store.startConversation({ name: 'survey', key: ASHA, step: 'q1', data: {}, maxAgeMs: 24 * HOUR, timeoutMs: 60_000 });
    const election = new PollerElection();
    const first = controller({ action: 'route', steps: ['q1', 'q2'] }, { nodeId: 'route-1', election, later: HOUR });
    const second = controller({ action: 'route', steps: ['q1', 'q2'] }, { nodeId: 'route-2', election, later: HOUR });
    await until(() => first.timedOut.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(first.timedOut.length, 1, 'fired once');
    assert.equal(second.timedOut.length, 0, 'by one node only');
    const outputs = first.timedOut[0] as Array<ConversationMessage | null>;
    assert.equal(outputs.length, 4);
    assert.equal(outputs[3]?.phone, ASHA);
    assert.equal((outputs[3]?.conversation as { timedOut: boolean }).timedOut, true);
  });

  it('starts a conversation with a one-time code that only this message carries', async () => {
    const { c } = controller({ action: 'start', step: 'verify', code: true, codeLength: 4 });
    const out: ConversationMessage[] = [];
    await new Promise<void>((resolve, reject) => c.handle({ phone: '09876543210' }, (m) => out.push(m as ConversationMessage), (err) => (err ? reject(err) : resolve())));
    const conversation = out[0].conversation as { key: string; step: string; code: string };
    assert.equal(conversation.key, ASHA);
    assert.equal(conversation.step, 'verify');
    assert.match(conversation.code, /^\d{4}$/);
    assert.equal((await store.getConversation('survey', ASHA))?.step, 'verify');
  });
});
