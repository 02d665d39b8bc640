// When the flow is done with a message (src/nodes/shared/message-completion.ts), with the hooks
// driven by hand as Node-RED's runtime drives them: onSend (one event per wire), onReceive,
// onComplete (with the error of a node that failed).
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../src/store';
import { acquireMessageCompletion, MessageCompletion, type MessageHooks } from '../../src/nodes/shared/message-completion';
import { settle } from '../controllers/fakes';

/** RED.hooks as far as the package uses it: named hooks added and removed, triggered by the spec. */
class Hooks implements MessageHooks {
  readonly added = new Map<string, (event: never) => unknown>();
  readonly removed: string[] = [];
  add(hookId: string, callback: (event: never) => unknown): void {
    this.added.set(hookId, callback);
  }
  remove(hookId: string): void {
    this.removed.push(hookId);
    const label = hookId.replace(/^\*\./, '');
    for (const id of [...this.added.keys()]) if (id.endsWith(`.${label}`)) this.added.delete(id);
  }
  private fire(point: string, event: unknown): void {
    for (const [id, callback] of this.added) if (id.startsWith(`${point}.`)) callback(event as never);
  }
  send(msg: object, wires = 1): void {
    this.fire('onSend', Array.from({ length: wires }, () => ({ msg })));
  }
  receive(msg: object): void {
    this.fire('onReceive', { msg });
  }
  complete(msg: object, error?: unknown): void {
    this.fire('onComplete', error === undefined ? { msg } : { msg, error });
  }
}

describe('message completion: edges', () => {
  let hooks: Hooks;
  let completion: MessageCompletion;
  beforeEach(() => {
    hooks = new Hooks();
    completion = new MessageCompletion(hooks);
  });
  afterEach(() => completion.close());

  it('a message without an id is not watched: never settled, nothing kept', async () => {
    let settled = 0;
    const stop = completion.watch({}, () => settled++);
    completion.watch({ _msgid: '' }, () => settled++);
    completion.watch({ _msgid: 42 }, () => settled++);
    assert.equal(completion.size, 0);
    stop();
    await settle(3);
    assert.equal(settled, 0);
  });

  it('a watched message held by this node only: settled when it is done and hands nothing on', async () => {
    const msg = { _msgid: 'm1' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
    assert.equal(completion.size, 0);
  });

  it('follows a message it gives an id, settled once every copy on every wire is done; sent() counts once', async () => {
    const msg: { _msgid?: string } = {};
    const told: unknown[] = [];
    const followed = completion.follow(msg, (failure) => told.push(failure));
    assert.match(msg._msgid ?? '', /^[0-9a-f]{16}$/);
    hooks.send(msg, 2);
    followed.sent();
    followed.sent();
    hooks.receive(msg);
    hooks.complete(msg);
    await settle(3);
    assert.deepEqual(told, [], 'one copy is still on its wire');
    hooks.receive(msg);
    hooks.complete(msg);
    await settle(3);
    assert.deepEqual(told, [undefined]);
  });

  it('gives an id to a message whose id is empty or no text', () => {
    const msg = { _msgid: '' };
    completion.follow(msg, () => undefined);
    assert.match(msg._msgid, /^[0-9a-f]{16}$/);
    const numbered: { _msgid: unknown } = { _msgid: 42 };
    completion.follow(numbered, () => undefined);
    assert.match(String(numbered._msgid), /^[0-9a-f]{16}$/);
  });

  it('sent() again after the next node has the message: still held by that node', async () => {
    const msg = { _msgid: 'again' };
    let settled = 0;
    const followed = completion.follow(msg, () => settled++);
    hooks.send(msg);
    followed.sent();
    hooks.receive(msg);
    followed.sent();
    await settle(3);
    assert.equal(settled, 0);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('keeps an id the message already has', () => {
    const msg = { _msgid: 'given' };
    completion.follow(msg, () => undefined);
    assert.equal(msg._msgid, 'given');
    assert.equal(completion.size, 1);
  });

  it('a node handed the message off the wires (a Catch node) counts as holding it', async () => {
    const msg = { _msgid: 'm2' };
    let settled = 0;
    const followed = completion.follow(msg, () => settled++);
    hooks.send(msg);
    followed.sent();
    hooks.receive(msg); // the wired node
    hooks.receive(msg); // a Catch node, handed it without a wire
    hooks.complete(msg); // the wired node is done
    await settle(3);
    assert.equal(settled, 0, 'the Catch node still holds it');
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('more done() calls than nodes holding it count as none, not below none', async () => {
    const msg = { _msgid: 'm2b' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.complete(msg);
    hooks.complete(msg); // a node calling done() twice
    hooks.receive(msg); // a Catch node has it now
    await settle(3);
    assert.equal(settled, 0);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('a node that gave up because the database went away: the watchers are told why', async () => {
    const msg = { _msgid: 'm3' };
    const told: unknown[] = [];
    const followed = completion.follow(msg, (failure) => told.push(failure));
    hooks.send(msg);
    followed.sent();
    hooks.receive(msg);
    const outage = new StoreUnavailableError(new Error('ECONNRESET'));
    hooks.complete(msg, outage);
    await settle(3);
    assert.deepEqual(told, [outage]);
  });

  it('the failure stays known when a Catch node then handles the message', async () => {
    const msg = { _msgid: 'm3b' };
    const told: unknown[] = [];
    const followed = completion.follow(msg, (failure) => told.push(failure));
    hooks.send(msg);
    followed.sent();
    hooks.receive(msg);
    const outage = new StoreUnavailableError(new Error('ECONNRESET'));
    hooks.complete(msg, outage);
    hooks.receive(msg); // the Catch node
    hooks.complete(msg);
    await settle(3);
    assert.deepEqual(told, [outage]);
  });

  it('a node that failed for another reason: settled, no failure', async () => {
    const msg = { _msgid: 'm4' };
    const told: unknown[] = [];
    const followed = completion.follow(msg, (failure) => told.push(failure));
    hooks.send(msg);
    followed.sent();
    hooks.receive(msg);
    hooks.complete(msg, new Error('bad input'));
    await settle(3);
    assert.deepEqual(told, [undefined]);
  });

  it('a Catch node handed the message in the same turn as the failure: not settled until it is done', async () => {
    const msg = { _msgid: 'm5' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.complete(msg, new Error('bad input'));
    hooks.receive(msg); // the Catch node
    await settle(3);
    assert.equal(settled, 0);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('checks once however many nodes finish in one turn', async () => {
    const msg = { _msgid: 'm6' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.complete(msg);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('a watcher that stops is not told; the message is forgotten once none watches it', async () => {
    const msg = { _msgid: 'm7' };
    const told: string[] = [];
    const stopA = completion.watch(msg, () => told.push('a'));
    completion.watch(msg, () => told.push('b'));
    stopA();
    assert.equal(completion.size, 1);
    hooks.complete(msg);
    await settle(3);
    assert.deepEqual(told, ['b']);
    assert.equal(completion.size, 0);
  });

  it('stopping an old watch of a message watched anew does not forget the new one', async () => {
    const msg = { _msgid: 'm8' };
    const stopOld = completion.watch(msg, () => undefined);
    hooks.complete(msg);
    await settle(3);
    let settled = 0;
    completion.watch(msg, () => settled++);
    stopOld();
    assert.equal(completion.size, 1);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('a watch stopped before the check ran: the watcher is not told', async () => {
    const msg = { _msgid: 'm9' };
    let settled = 0;
    const stop = completion.watch(msg, () => settled++);
    hooks.complete(msg);
    stop();
    await settle(3);
    assert.equal(settled, 0);
  });

  it('closed while a check was pending: nobody is told', async () => {
    const msg = { _msgid: 'm9b' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.complete(msg);
    completion.close();
    await settle(3);
    assert.equal(settled, 0);
  });

  it('a watch stopped and the message watched anew while a check was pending: the new watch is kept', async () => {
    const msg = { _msgid: 'm9c' };
    const stopOld = completion.watch(msg, () => undefined);
    hooks.complete(msg);
    stopOld();
    let settled = 0;
    completion.watch(msg, () => settled++);
    await settle(3);
    assert.equal(completion.size, 1, 'the pending check did not forget the new watch');
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('events about other messages, or with no message, change nothing', async () => {
    const msg = { _msgid: 'm10' };
    let settled = 0;
    completion.watch(msg, () => settled++);
    hooks.send({ _msgid: 'other' });
    hooks.receive({ _msgid: 'other' });
    hooks.complete({ _msgid: 'other' });
    hooks.complete({});
    for (const point of ['onSend', 'onReceive', 'onComplete']) {
      for (const [id, callback] of hooks.added) if (id.startsWith(point)) callback((point === 'onSend' ? [{}] : {}) as never);
    }
    await settle(3);
    assert.equal(settled, 0);
  });

  it('closing removes its hooks and forgets every message', () => {
    completion.watch({ _msgid: 'm11' }, () => undefined);
    completion.close();
    assert.equal(completion.size, 0);
    assert.equal(hooks.added.size, 0);
    assert.equal(hooks.removed.length, 1);
    assert.match(hooks.removed[0], /^\*\.smsflowExotelCompletion\d+$/);
  });

  it('each instance hooks in under its own label', () => {
    const other = new MessageCompletion(hooks);
    assert.equal(hooks.added.size, 6);
    other.close();
    assert.equal(hooks.added.size, 3);
  });
});

describe('message completion: one per runtime', () => {
  it('none without RED.hooks', () => {
    assert.equal(acquireMessageCompletion(undefined), null);
    assert.equal(acquireMessageCompletion({ add: 'no' } as unknown as MessageHooks), null);
  });

  it('shared by the nodes of one runtime; the hooks go when the last lets go, and come back for the next', async () => {
    const hooks = new Hooks();
    const a = acquireMessageCompletion(hooks)!;
    const b = acquireMessageCompletion(hooks)!;
    assert.equal(a.watch, b.watch);
    assert.equal(hooks.added.size, 3);
    a.release();
    a.release();
    assert.equal(hooks.added.size, 3, 'b still uses them');
    const msg = { _msgid: 'shared' };
    let settled = 0;
    b.watch(msg, () => settled++);
    hooks.complete(msg);
    await settle(3);
    assert.equal(settled, 1);
    b.release();
    assert.equal(hooks.added.size, 0);
    const c = acquireMessageCompletion(hooks)!;
    assert.notEqual(c.watch, a.watch);
    assert.equal(hooks.added.size, 3);
    c.release();
  });

  it('another runtime has its own', () => {
    const one = acquireMessageCompletion(new Hooks())!;
    const two = acquireMessageCompletion(new Hooks())!;
    assert.notEqual(one.follow, two.follow);
    one.release();
    two.release();
  });
});
