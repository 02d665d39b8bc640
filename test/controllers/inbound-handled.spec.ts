// When does an inbound SMS count as handled (and so is not handed on again after a crash)? Once the
// flow is done with it AND its replay window has passed: a flow slower than the window (a busy
// machine, a reply held behind the customer's previous one) must not lose the SMS to a kill.
// MessageCompletion reads Node-RED's own message hooks (the runtime's hooks module, driven here as
// the runtime drives it).
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import { InboundController, type InboundCall, type InboundMessage } from '../../src/nodes/exotel-inbound/controller';
import { MessageCompletion } from '../../src/nodes/shared/message-completion';
import { LogRecorder, settle, StatusRecorder, translate } from './fakes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hooks = require('@node-red/util').hooks as { trigger(id: string, payload: unknown, done: (err?: unknown) => void): void };
const trigger = (id: string, payload: unknown) => hooks.trigger(id, payload, () => undefined);
const sendTo = (msg: object, wires: number) => trigger('onSend', Array.from({ length: wires }, () => ({ msg })));
const receive = (msg: object) => trigger('onReceive', { msg });
const complete = (msg: object) => trigger('onComplete', { msg });

const ROUTE = '/exotel/sms';
const WINDOW = 1_000;

function call(sid: string): InboundCall {
  return {
    method: 'POST', ip: '10.0.0.1', query: 'token=s3cret', contentType: 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(`SmsSid=${sid}&From=09876543210&To=08012345678&Body=ORDER&AccountSid=acct1`) }),
  };
}

describe('exotel-inbound: an SMS counts as handled once the flow is done with it and its window has passed', () => {
  let store: SqliteStore;
  let completion: MessageCompletion;
  let clock: sinon.SinonFakeTimers;
  let log: LogRecorder;
  let emitted: InboundMessage[];
  let controller: InboundController;

  const unhandled = async () => (await store.unhandledInbound(ROUTE)).map((r) => r.sid);
  const post = (sid: string) => controller.callback(call(sid), () => undefined);
  /** lets the settle timer run (fake) and the store's group commit and the watcher's check (real immediates) */
  const after = async (ms: number) => {
    await clock.tickAsync(ms);
    await settle(5);
    await clock.tickAsync(100);
    await settle(5);
  };

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    store = new SqliteStore(':memory:');
    completion = new MessageCompletion(hooks as never);
    log = new LogRecorder();
    emitted = [];
    controller = new InboundController({
      routePath: ROUTE, allowList: null,
      account: { accountSid: 'acct1', defaultCountry: 'IN', checkWebhookToken: (given) => given('s3cret'), redact: (t) => t },
      store, translate, status: new StatusRecorder(), log,
      // as node.send does: the message goes on the node's one wire, and the hooks see it at once
      emit: (msg) => {
        emitted.push(msg);
        sendTo(msg, 1);
      },
      follow: completion.follow,
      replayWindowMs: WINDOW,
      settleLimitMs: 60_000,
    });
  });
  afterEach(async () => {
    await controller.close();
    completion.close();
    clock.restore();
    await store.close();
  });

  it('a flow slower than the window: not handled (handed on again after a crash) until the flow is done', async () => {
    await post('SM1');
    const msg = emitted[0];
    receive(msg); // keyword-switch has it …
    sendTo(msg, 1);
    complete(msg); // … and hands it to a route node, which waits for the store
    receive(msg);
    await after(5 * WINDOW);
    assert.deepEqual(await unhandled(), ['SM1'], 'marked handled while the flow was still acting on it');
    complete(msg); // the conversation is in the store; the last node calls done()
    await after(WINDOW);
    assert.deepEqual(await unhandled(), []);
  });

  it('a flow done at once: still handed on again if the process dies within the window', async () => {
    await post('SM2');
    receive(emitted[0]);
    complete(emitted[0]);
    await after(WINDOW / 4);
    assert.deepEqual(await unhandled(), ['SM2'], 'the window counts too');
    await after(WINDOW);
    assert.deepEqual(await unhandled(), []);
  });

  it('a flow that never says it is done: handled after the upper bound, with one warning for all of them', async () => {
    await post('SM3');
    await post('SM4');
    for (const msg of emitted) receive(msg); // a node that never calls done()
    await after(30_000);
    assert.deepEqual(await unhandled(), ['SM3', 'SM4']);
    await after(31_000);
    assert.deepEqual(await unhandled(), []);
    assert.equal(completion.size, 0, 'nothing is kept once counted');
    const warnings = log.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].text, /^warn\.notDone .*"count":2/);
  });

  it('a node gave up because the database went away: not handled, and handed on again once the database answers', async () => {
    let probes = 0;
    (controller as unknown as { deps: { probe: () => Promise<unknown>; probeMs: number } }).deps.probe = async () => void probes++;
    await post('SM6');
    const msg = emitted[0];
    receive(msg);
    trigger('onComplete', { msg, error: Object.assign(new Error('the database cannot be reached (Connection terminated unexpectedly)'), { code: 'ECONNRESET' }) });
    await after(5 * WINDOW);
    assert.deepEqual(await unhandled(), ['SM6'], 'marked handled although its effect may be missing');
    await after(3_000); // the probe finds the database again
    assert.ok(probes > 0, 'the node did not look for the database');
    assert.equal(emitted.length, 2, 'not handed on again');
    assert.equal(emitted[1].sms.sid, 'SM6');
    assert.equal(emitted[1].sms.replayed, true);
  });

  it('stopped while the flow acts on an SMS: it stays unhandled, for the next start', async () => {
    await post('SM5');
    receive(emitted[0]);
    await after(2 * WINDOW);
    await controller.close();
    assert.deepEqual(await unhandled(), ['SM5']);
    assert.equal(completion.size, 0, 'no watch left behind');
  });
});

describe('message completion: a message followed from the node that starts it', () => {
  let completion: MessageCompletion;
  beforeEach(() => (completion = new MessageCompletion(hooks as never)));
  afterEach(() => completion.close());

  it('is not settled before a copy has been seen on a wire, even when the hooks run late', async () => {
    let settled = 0;
    const msg: { _msgid?: string } = {};
    const followed = completion.follow(msg, () => settled++);
    assert.match(msg._msgid ?? '', /^[0-9a-f]{16}$/, 'given an id, as node.send would');
    followed.sent(); // node.send returned, but an earlier async onSend hook delays ours
    await settle(3);
    assert.equal(settled, 0);
    sendTo(msg, 1);
    receive(msg);
    complete(msg);
    await settle(3);
    assert.equal(settled, 1);
  });

  it('tells every node watching it: the input node following it and a route node holding on it', async () => {
    const told: string[] = [];
    const msg = { _msgid: 'shared-1' };
    const followed = completion.follow(msg, () => told.push('inbound'));
    sendTo(msg, 1);
    followed.sent();
    receive(msg); // the route node has it and watches it for its hold
    completion.watch(msg, () => told.push('route'));
    sendTo(msg, 1);
    complete(msg);
    await settle(3);
    assert.deepEqual(told, []);
    receive(msg);
    complete(msg);
    await settle(3);
    assert.deepEqual(told.sort(), ['inbound', 'route']);
    assert.equal(completion.size, 0);
  });
});
