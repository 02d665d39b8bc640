// The route hold ends when the flow is done with a reply: MessageCompletion reads Node-RED's own
// message hooks (the runtime's hooks module, driven here as the runtime drives it), and the
// controller frees the customer's next reply when it says so.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import { ConversationController, type ConversationMessage } from '../../src/nodes/conversation-state/controller';
import { HoldQueue } from '../../src/nodes/conversation-state/hold-queue';
import { acquireMessageCompletion, MessageCompletion } from '../../src/nodes/shared/message-completion';
import { systemTimers } from '../../src/nodes/shared/ports';
import { deferred, evaluate, LogRecorder, settle, StatusRecorder, translate } from './fakes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hooks = require('@node-red/util').hooks as { trigger(id: string, payload: unknown, done: (err?: unknown) => void): void; has(id: string): boolean };
const trigger = (id: string, payload: unknown) => hooks.trigger(id, payload, () => undefined);
const sendTo = (msg: object, wires: number) => trigger('onSend', Array.from({ length: wires }, () => ({ msg })));
const receive = (msg: object) => trigger('onReceive', { msg });
const complete = (msg: object) => trigger('onComplete', { msg });

describe('message completion (Node-RED message hooks)', () => {
  let completion: MessageCompletion;
  beforeEach(() => (completion = new MessageCompletion(hooks as never)));
  afterEach(() => completion.close());

  it('a message handed to no wire is settled when the node holding it calls done()', async () => {
    let settled = 0;
    const msg = { _msgid: 'm1' };
    completion.watch(msg, () => settled++);
    complete(msg);
    await settle(2);
    assert.equal(settled, 1);
    assert.equal(completion.size, 0, 'nothing is kept once settled');
  });

  it('is settled only when every copy on every wire has been received and finished', async () => {
    let settled = 0;
    const msg = { _msgid: 'm2' };
    completion.watch(msg, () => settled++);
    sendTo(msg, 2);
    complete(msg); // the watching node is done; two copies are on their way
    await settle(2);
    assert.equal(settled, 0, 'copies are still on the wires');
    receive(msg);
    receive(msg);
    complete(msg);
    await settle(2);
    assert.equal(settled, 0, 'one node is still busy with it');
    sendTo({ _msgid: 'other' }, 1);
    complete({ _msgid: 'other' });
    sendTo(msg, 1); // that node hands it on before it is done
    complete(msg);
    await settle(2);
    assert.equal(settled, 0, 'the copy handed on is not finished');
    receive(msg);
    complete(msg);
    await settle(2);
    assert.equal(settled, 1);
  });

  it('a node that fails hands the message to a Catch node: settled when that one is done', async () => {
    let settled = 0;
    const msg = { _msgid: 'm3' };
    completion.watch(msg, () => settled++);
    sendTo(msg, 1);
    complete(msg);
    receive(msg);
    complete(msg); // done(err) …
    receive(msg); // … and the runtime hands it to a Catch node by receive(), in the same turn
    await settle(2);
    assert.equal(settled, 0);
    complete(msg);
    await settle(2);
    assert.equal(settled, 1);
  });

  it('stops watching when asked; the last user removes the hooks', async () => {
    const first = acquireMessageCompletion(hooks as never)!;
    const second = acquireMessageCompletion(hooks as never)!;
    assert.equal(first.watch, second.watch, 'one watcher per runtime');
    let settled = 0;
    const stop = first.watch({ _msgid: 'm4' }, () => settled++);
    stop();
    complete({ _msgid: 'm4' });
    await settle(2);
    assert.equal(settled, 0);
    first.release();
    second.release();
    completion.close();
    assert.equal(hooks.has('onSend'), false, 'no hook left behind');
    assert.equal(acquireMessageCompletion(undefined), null, 'without RED.hooks: no watcher (the hold time alone)');
  });
});

describe('conversation-state route hold', () => {
  let store: SqliteStore;
  const controllers: ConversationController[] = [];
  beforeEach(() => (store = new SqliteStore(':memory:')));
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.close();
    sinon.restore();
    await store.close();
  });

  it('frees the customer’s next reply when the flow is done with the previous one, without any change', async () => {
    await store.startConversation({ name: 'survey', key: '+919876543210', step: 'q1', data: {}, maxAgeMs: 3_600_000 });
    const watched: Array<{ msg: object; settled: () => void }> = [];
    const c = new ConversationController({
      nodeId: 'route-1', config: { conversation: 'survey', action: 'route', steps: ['q1'] }, store, evaluate, translate,
      status: new StatusRecorder(), log: new LogRecorder(), send: () => undefined, holdMs: 60_000, timerMs: 60_000,
      timers: systemTimers, watchCompletion: (msg, settled) => (watched.push({ msg, settled }), () => undefined),
    });
    c.attach();
    controllers.push(c);
    const routed: string[] = [];
    const route = (payload: string) => {
      const done = deferred();
      c.handle({ phone: '+919876543210', payload }, (out) => routed.push(((out as ConversationMessage[])[0]).payload as string), () => done.resolve());
      return done.promise;
    };
    await route('maybe');
    const second = route('1');
    await settle();
    assert.deepEqual(routed, ['maybe'], 'the next reply waits while the flow acts on the first');
    assert.equal(watched.length, 1);
    watched[0].settled();
    await second;
    assert.deepEqual(routed, ['maybe', '1'], 'freed when the flow is done, long before the hold time');
  });

  it('a late word about an earlier reply frees no later one', () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const ran: string[] = [];
    const ended: string[] = [];
    const queue = new HoldQueue<string>(1_000, (_key, item) => ran.push(item), systemTimers, (item) => ended.push(item));
    queue.offer('asha', 'a');
    queue.offer('asha', 'b');
    queue.offer('asha', 'c');
    clock.tick(1_000); // the upper bound ends a's hold
    assert.deepEqual(ran, ['a', 'b']);
    queue.release('asha', 'a'); // the flow says it is done with a, later
    assert.deepEqual(ran, ['a', 'b'], 'b is still held');
    queue.release('asha', 'b');
    assert.deepEqual(ran, ['a', 'b', 'c']);
    assert.deepEqual(ended, ['a', 'b'], 'each hold that ends is reported once');
  });
});
