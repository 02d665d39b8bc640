// conversation-state's controller, action by action, as a flow sees it: the output a message leaves
// on, msg.conversation and msg.verification, what the store keeps, the status under the node, the
// errors a user reads. On a real (in-memory) store; the node's timers are moved by hand.
import assert from 'node:assert/strict';
import { SqliteStore, type Store } from '../../src/store';
import { ConversationController, type ConversationConfig, type ConversationMessage } from '../../src/nodes/conversation-state/controller';
import { PollerElection } from '../../src/nodes/conversation-state/timeout-poller';
import type { WatchCompletion } from '../../src/nodes/shared/ports';
import { evaluate, LogRecorder, ManualTimers, settle, StatusRecorder, translate } from './fakes';

const ASHA = '+919876543210';
const RAVI = '+919812345678';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type View = {
  name: string; key: string; step: string; data: Record<string, unknown>;
  startedAt: string; updatedAt: string; expiresAt: string; timesOutAt: string | null;
  [extra: string]: unknown;
};
/** a text as it fits under a node (40 characters) */
const underNode = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}…` : text);
const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));

describe('conversation-state controller: each action', () => {
  let store: SqliteStore;
  let timers: ManualTimers;
  let status: StatusRecorder;
  let log: LogRecorder;
  let sent: unknown[];
  const open: ConversationController[] = [];

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    timers = new ManualTimers();
    status = new StatusRecorder();
    log = new LogRecorder();
    sent = [];
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await store.close();
  });

  const CODE_KEY = Buffer.alloc(32, 4);
  function node(config: ConversationConfig, more: { nodeId?: string; store?: Store; watchCompletion?: WatchCompletion; timerMs?: number; holdMs?: number; attach?: boolean; codeKey?: Buffer } = {}) {
    const c = new ConversationController({
      nodeId: more.nodeId ?? 'node-1', config: { conversation: 'survey', ...config }, store: more.store ?? store, evaluate, translate, status, log,
      send: (msg) => sent.push(msg), holdMs: more.holdMs ?? 60_000, timerMs: more.timerMs, watchCompletion: more.watchCompletion,
      election: new PollerElection(), timers, codeKey: more.codeKey ?? CODE_KEY,
    });
    if (more.attach) c.attach();
    open.push(c);
    return c;
  }

  /** Hands a message in; resolves with what was sent (a message, or one slot per output) once done() is called. */
  function run(c: ConversationController, msg: ConversationMessage) {
    return new Promise<unknown>((resolve, reject) => {
      let out: unknown;
      c.handle(msg, (m) => (out = m), (err) => (err ? reject(err) : resolve(out)));
    });
  }
  const conversationOf = async (c: ConversationController, msg: ConversationMessage) => ((await run(c, msg)) as ConversationMessage).conversation as View | null;
  const failure = (c: ConversationController, msg: ConversationMessage) => run(c, msg).then(() => assert.fail('no error'), (err: Error) => err);
  /** the output a routed message left on, and the message */
  async function routed(c: ConversationController, msg: ConversationMessage) {
    const out = (await run(c, msg)) as Array<ConversationMessage | null>;
    const output = out.findIndex((m) => m !== null);
    assert.equal(out.filter((m) => m !== null).length, 1, 'one output');
    return { output, outputs: out.length, msg: out[output]! };
  }
  const start = (key: string, step: string, extra: Partial<Parameters<Store['startConversation']>[0]> = {}) =>
    store.startConversation({ name: 'survey', key, step, data: {}, maxAgeMs: HOUR, ...extra });

  describe('settings', () => {
    it('trims the name and the steps, drops empty steps; an unknown action routes', async () => {
      await store.startConversation({ name: 'survey', key: ASHA, step: 'q2', data: {}, maxAgeMs: HOUR });
      const c = node({ conversation: '  survey ', action: 'nonsense', steps: [' q1 ', '', 'q2 ', '  '] });
      assert.equal(c.name, 'survey');
      assert.equal(c.action, 'route');
      assert.deepEqual(c.steps, ['q1', 'q2']);
      const r = await routed(c, { phone: ASHA });
      assert.deepEqual([r.output, r.outputs], [1, 4]);
    });

    it('no name: none (the adapter refuses to start such a node)', () => {
      const c = new ConversationController({
        nodeId: 'n', config: { action: 'start' }, store, evaluate, translate, status, log, send: () => undefined, timers,
      });
      assert.equal(c.name, '');
    });

    it('steps that are not a list: none (every reply goes to "no active conversation")', () => {
      assert.deepEqual(node({ action: 'route', steps: 'q1' as never }).steps, []);
      assert.equal(node({ action: undefined }).action, 'route');
    });
  });

  describe('start', () => {
    it('starts at the step given, with the data from the message, expiring after the hours given and timing out after the minutes given', async () => {
      const c = node({ action: 'start', step: ' q1 ', maxAge: '2', timeout: '1.5', data: 'answers', dataType: 'msg' });
      const conversation = (await conversationOf(c, { phone: '09876543210', answers: { source: 'ad' } }))!;
      assert.deepEqual([conversation.name, conversation.key, conversation.step, conversation.data], ['survey', ASHA, 'q1', { source: 'ad' }]);
      assert.equal(ms(conversation.expiresAt)! - ms(conversation.startedAt)!, 2 * HOUR);
      assert.equal(ms(conversation.timesOutAt)! - ms(conversation.startedAt)!, 90_000);
      assert.equal(conversation.updatedAt, conversation.startedAt);
      assert.ok(!('code' in conversation), 'no code asked for');
      assert.equal((await store.getConversation('survey', ASHA))?.step, 'q1');
    });

    it('blank settings: step "start", 24 hours, no timeout, no data', async () => {
      const c = node({ action: 'start', step: '  ', maxAge: '', timeout: '' });
      const conversation = (await conversationOf(c, { phone: ASHA }))!;
      assert.equal(conversation.step, 'start');
      assert.deepEqual(conversation.data, {});
      assert.equal(conversation.timesOutAt, null);
      assert.equal(ms(conversation.expiresAt)! - ms(conversation.startedAt)!, 24 * HOUR);
    });

    it('no step set at all: "start"', async () => {
      assert.equal((await conversationOf(node({ action: 'start' }), { phone: ASHA }))!.step, 'start');
    });

    it('the node’s code setting ticked after the SMS started the conversation without one: its replay gives no code', async () => {
      await run(node({ action: 'start' }), { phone: ASHA, sms: { sid: 'SM1' } });
      const again = (await conversationOf(node({ action: 'start', code: true }), { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.ok(!('code' in again));
    });

    it('a maximum age or timeout that is zero, negative or not a number: the default age, no timeout', async () => {
      for (const [maxAge, timeout] of [['0', '0'], ['-3', '-1'], ['soon', 'later'], [null, null]] as const) {
        const c = node({ action: 'start', maxAge: maxAge as never, timeout: timeout as never });
        const conversation = (await conversationOf(c, { phone: ASHA }))!;
        assert.equal(ms(conversation.expiresAt)! - ms(conversation.startedAt)!, 24 * HOUR, String(maxAge));
        assert.equal(conversation.timesOutAt, null, String(timeout));
      }
    });

    it('a one-time code: only this message carries it, with its expiry; the store keeps a hash that verifies it', async () => {
      const c = node({ action: 'start', code: true, codeLength: '4', codeLifetime: '5', codeAttempts: '2' });
      const conversation = (await conversationOf(c, { phone: ASHA }))!;
      assert.match(String(conversation.code), /^\d{4}$/);
      assert.equal(ms(conversation.codeExpiresAt as string)! - ms(conversation.startedAt)!, 5 * MINUTE);
      const stored = await store.getConversation('survey', ASHA);
      assert.equal(stored?.code?.attemptsLeft, 2);
      assert.ok(!JSON.stringify(stored).includes(`"${conversation.code}"`), 'the code itself is not stored');
      const verify = node({ action: 'verify' });
      const out = (await run(verify, { phone: ASHA, payload: ` ${conversation.code} ` })) as Array<ConversationMessage | null>;
      assert.deepEqual((out[0]?.verification as object), { result: 'verified', attemptsLeft: 0 });
    });

    it('a code with blank or odd settings: 6 digits, 10 minutes, 3 attempts', async () => {
      const c = node({ action: 'start', code: true, codeLength: 'x', codeLifetime: '0', codeAttempts: '-1' });
      const conversation = (await conversationOf(c, { phone: ASHA }))!;
      assert.match(String(conversation.code), /^\d{6}$/);
      assert.equal(ms(conversation.codeExpiresAt as string)! - ms(conversation.startedAt)!, 10 * MINUTE);
      assert.equal((await store.getConversation('survey', ASHA))?.code?.attemptsLeft, 3);
    });

    it('a fractional code length or number of attempts is rounded down', async () => {
      const c = node({ action: 'start', code: true, codeLength: '5.9', codeAttempts: '2.7' });
      const conversation = (await conversationOf(c, { phone: ASHA }))!;
      assert.match(String(conversation.code), /^\d{5}$/);
      assert.equal((await store.getConversation('survey', ASHA))?.code?.attemptsLeft, 2);
    });

    it('the same SMS again (a replay): the conversation it started, with the same code, which still verifies (its SMS may never have gone)', async () => {
      const c = node({ action: 'start', code: true });
      const first = (await conversationOf(c, { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.match(String(first.code), /^\d{6}$/);
      const again = (await conversationOf(c, { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.equal(again.startedAt, first.startedAt);
      assert.deepEqual([again.code, again.codeExpiresAt], [first.code, first.codeExpiresAt]);
      const out = (await run(node({ action: 'verify' }), { phone: ASHA, payload: String(again.code), sms: { sid: 'SM2' } })) as Array<ConversationMessage | null>;
      assert.equal((out[0]?.verification as { result: string }).result, 'verified');
    });

    it('a replay after the code secret changed: the conversation, and no code (the one sent cannot be told again)', async () => {
      const first = (await conversationOf(node({ action: 'start', code: true }), { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.match(String(first.code), /^\d{6}$/);
      const again = (await conversationOf(node({ action: 'start', code: true }, { codeKey: Buffer.alloc(32, 9) }), { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.equal(again.startedAt, first.startedAt);
      assert.ok(!('code' in again) && !('codeExpiresAt' in again));
    });

    it('another SMS starts it again, with a new code', async () => {
      const c = node({ action: 'start', code: true });
      const first = (await conversationOf(c, { phone: ASHA, sms: { sid: 'SM1' } }))!;
      const second = (await conversationOf(c, { phone: ASHA, sms: { sid: 'SM2' } }))!;
      assert.match(String(second.code), /^\d{6}$/);
      assert.notEqual((await store.getConversation('survey', ASHA))?.code?.hash, undefined);
      assert.ok(first.code !== undefined);
    });
  });

  describe('update', () => {
    it('moves to the step given, merges the data, keeps the reply under its name, and sets the new step’s timeout', async () => {
      await start(ASHA, 'q1', { data: { source: 'ad' }, timeoutMs: MINUTE });
      const c = node({ action: 'update', step: ' q2 ', timeout: '3', data: 'extra', dataType: 'msg', saveAs: ' rating ' });
      const conversation = (await conversationOf(c, { phone: ASHA, payload: '  5 ', extra: { channel: 'sms' } }))!;
      assert.equal(conversation.step, 'q2');
      assert.deepEqual(conversation.data, { source: 'ad', channel: 'sms', rating: '5' });
      assert.equal(ms(conversation.timesOutAt)! - ms(conversation.updatedAt)!, 3 * MINUTE);
    });

    it('keeps the keyword keyword-switch matched rather than the text, and a reply that is no text as it is', async () => {
      await start(ASHA, 'q1');
      const c = node({ action: 'update', saveAs: 'choice' });
      assert.deepEqual((await conversationOf(c, { phone: ASHA, payload: '१.', keyword: '1' }))!.data, { choice: '1' });
      assert.deepEqual((await conversationOf(c, { phone: ASHA, payload: ' yes ', keyword: '' }))!.data, { choice: 'yes' });
      assert.deepEqual((await conversationOf(c, { phone: ASHA, payload: ' 7 ', keyword: 7 }))!.data, { choice: '7' }, 'a keyword that is no text is not one');
      assert.deepEqual((await conversationOf(c, { phone: ASHA, payload: 7 }))!.data, { choice: 7 });
    });

    it('no step given: the step and its timeout stay', async () => {
      const started = await start(ASHA, 'q1', { timeoutMs: MINUTE });
      const c = node({ action: 'update', step: ' ' });
      const conversation = (await conversationOf(c, { phone: ASHA }))!;
      assert.equal(conversation.step, 'q1');
      assert.equal(ms(conversation.timesOutAt), started.deadlineAt);
    });

    it('no step set at all: the step stays, and no reply is saved', async () => {
      await start(ASHA, 'q1', { data: { a: 1 } });
      const conversation = (await conversationOf(node({ action: 'update' }), { phone: ASHA, payload: 'hello' }))!;
      assert.deepEqual([conversation.step, conversation.data], ['q1', { a: 1 }]);
    });

    it('a timeout of 0 minutes is none, not "at once": the step’s timeout stays', async () => {
      const started = await start(ASHA, 'q1', { timeoutMs: MINUTE });
      const conversation = (await conversationOf(node({ action: 'update', timeout: '0' }), { phone: ASHA }))!;
      assert.equal(ms(conversation.timesOutAt), started.deadlineAt);
    });

    it('a new step with no timeout: the old step’s timeout no longer applies', async () => {
      await start(ASHA, 'q1', { timeoutMs: MINUTE });
      const conversation = (await conversationOf(node({ action: 'update', step: 'q2' }), { phone: ASHA }))!;
      assert.equal(conversation.timesOutAt, null);
    });

    it('a customer without a conversation: msg.conversation is null, and nothing is started', async () => {
      const out = (await run(node({ action: 'update', step: 'q2' }), { phone: ASHA })) as ConversationMessage;
      assert.equal(out.conversation, null);
      assert.equal(await store.getConversation('survey', ASHA), null);
    });

    it('the same SMS again changes nothing a second time', async () => {
      await start(ASHA, 'q1', { data: { n: 0 } });
      const c = node({ action: 'update', step: 'q2', saveAs: 'answer' });
      await run(c, { phone: ASHA, payload: 'first', sms: { sid: 'SM1' } });
      await store.updateConversation('survey', ASHA, { step: 'q3' });
      const again = (await conversationOf(c, { phone: ASHA, payload: 'first', sms: { sid: 'SM1' } }))!;
      assert.equal(again.step, 'q3', 'not moved back to q2');
    });

    it('data that is no object of named values: refused, with the property named, and a red status', async () => {
      await start(ASHA, 'q1');
      for (const value of ['text', [1, 2], 5]) {
        const err = await failure(node({ action: 'update', data: 'extra', dataType: 'msg' }), { phone: ASHA, extra: value });
        assert.equal(err.message, 'error.dataNotObject {"property":"msg.extra"}');
      }
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: underNode('error.dataNotObject {"property":"msg.extra"}') });
      assert.deepEqual((await store.getConversation('survey', ASHA))?.data, {});
    });

    it('data that is missing, or set to "none": nothing merged', async () => {
      await start(ASHA, 'q1', { data: { kept: true } });
      assert.deepEqual((await conversationOf(node({ action: 'update', data: 'extra', dataType: 'msg' }), { phone: ASHA }))!.data, { kept: true });
      assert.deepEqual((await conversationOf(node({ action: 'update', data: 'extra', dataType: 'msg' }), { phone: ASHA, extra: null }))!.data, { kept: true });
      assert.deepEqual((await conversationOf(node({ action: 'update', data: 'extra', dataType: 'none' }), { phone: ASHA, extra: { x: 1 } }))!.data, { kept: true });
      assert.deepEqual((await conversationOf(node({ action: 'update', data: 'extra' }), { phone: ASHA, extra: { x: 1 } }))!.data, { kept: true });
      assert.deepEqual((await conversationOf(node({ action: 'update', data: '', dataType: 'msg' }), { phone: ASHA, '': { x: 1 } } as ConversationMessage))!.data, { kept: true });
    });

    it('the data given is copied, not kept by reference', async () => {
      await start(ASHA, 'q1');
      const extra: Record<string, unknown> = { x: 1 };
      const conversation = (await conversationOf(node({ action: 'update', data: 'extra', dataType: 'msg', saveAs: 'answer' }), { phone: ASHA, extra, payload: 'ok' }))!;
      assert.deepEqual(conversation.data, { x: 1, answer: 'ok' });
      assert.deepEqual(extra, { x: 1 }, 'the message’s own object is untouched');
    });
  });

  describe('end', () => {
    it('ends it, keeping the reply, and says so; a customer without one gets null', async () => {
      await start(ASHA, 'q3', { data: { a: 1 } });
      const c = node({ action: 'end', saveAs: 'last' });
      const conversation = (await conversationOf(c, { phone: ASHA, payload: 'bye' }))!;
      assert.deepEqual([conversation.step, conversation.data, conversation.ended], ['q3', { a: 1, last: 'bye' }, true]);
      assert.equal(await store.getConversation('survey', ASHA), null);
      assert.equal(((await run(c, { phone: ASHA })) as ConversationMessage).conversation, null);
    });

    it('the same SMS again: the same answer, though the conversation is gone', async () => {
      await start(ASHA, 'q3');
      const c = node({ action: 'end' });
      await run(c, { phone: ASHA, sms: { sid: 'SM1' } });
      const again = (await conversationOf(c, { phone: ASHA, sms: { sid: 'SM1' } }))!;
      assert.equal(again?.ended, true);
    });

    it('a start saves no reply even when "save as" is set', async () => {
      const conversation = (await conversationOf(node({ action: 'start', saveAs: 'answer' }), { phone: ASHA, payload: 'JOIN' }))!;
      assert.deepEqual(conversation.data, {});
    });
  });

  describe('verify', () => {
    async function withCode(attempts = 3) {
      const c = node({ action: 'start', code: true, codeAttempts: attempts });
      return String((await conversationOf(c, { phone: ASHA }))!.code);
    }
    const verify = async (payload: unknown, sid?: string) => {
      const out = (await run(node({ action: 'verify' }, { nodeId: 'verify-1' }), { phone: ASHA, payload, ...(sid ? { sms: { sid } } : {}) })) as Array<ConversationMessage | null>;
      const output = out.findIndex((m) => m !== null);
      return { output, verification: out[output]!.verification, conversation: out[output]!.conversation as View | null };
    };

    it('right code: output 1; wrong: output 2 with the attempts left; none: output 3', async () => {
      const code = await withCode(3);
      const wrong = await verify(code === '000000' ? '111111' : '000000');
      assert.deepEqual([wrong.output, wrong.verification], [1, { result: 'wrong', attemptsLeft: 2 }]);
      assert.equal(wrong.conversation?.attemptsLeft, 2);
      const right = await verify(code);
      assert.deepEqual([right.output, right.verification], [0, { result: 'verified', attemptsLeft: 0 }]);
      const none = await verify(code);
      assert.deepEqual([none.output, none.verification], [2, { result: 'none', attemptsLeft: 0 }]);
    });

    it('a customer with no conversation: output 3, no conversation', async () => {
      const none = await verify('123456');
      assert.deepEqual([none.output, none.verification, none.conversation], [2, { result: 'none', attemptsLeft: 0 }, null]);
    });

    it('too many wrong codes: output 3, no attempts left', async () => {
      const code = await withCode(2);
      const wrong = code === '000000' ? '111111' : '000000';
      assert.deepEqual((await verify(wrong)).verification, { result: 'wrong', attemptsLeft: 1 });
      const last = await verify(wrong);
      assert.deepEqual([last.output, last.verification], [2, { result: 'too-many', attemptsLeft: 0 }]);
      assert.equal((await verify(code)).output, 2, 'the right code comes too late');
    });

    it('the same SMS again: the first answer, not a second attempt', async () => {
      const code = await withCode(3);
      const wrong = code === '000000' ? '111111' : '000000';
      await verify(wrong, 'SM1');
      assert.deepEqual((await verify(wrong, 'SM1')).verification, { result: 'wrong', attemptsLeft: 2 });
    });
  });

  describe('the customer', () => {
    it('no number where the node looks: refused, naming the property, with a red status', async () => {
      const err = await failure(node({ action: 'start' }), { payload: 'hi' });
      assert.equal(err.message, 'error.noCustomer {"property":"msg.phone"}');
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: underNode('error.noCustomer {"property":"msg.phone"}') });
      const blank = await failure(node({ action: 'start', key: 'customer', keyType: 'msg' }), { customer: '   ' });
      assert.equal(blank.message, 'error.noCustomer {"property":"msg.customer"}');
    });

    it('a long error is cut to fit under the node', async () => {
      const err = await failure(node({ action: 'start', key: 'the.customer.number.property.nobody.filled', keyType: 'msg' }), {});
      assert.ok(err.message.length > 40);
      assert.equal(status.lastDrawn.text, underNode(err.message));
    });

    it('a key that is no phone number is kept as written, trimmed; a number as a number', async () => {
      const c = node({ action: 'start', key: 'customer', keyType: 'msg' });
      assert.equal((await conversationOf(c, { customer: '  order-42 ' }))!.key, 'order-42');
      assert.equal((await conversationOf(c, { customer: 9876543210 }))!.key, ASHA);
    });

    it('a bare number is read in the node’s country (blank: India)', async () => {
      assert.equal((await conversationOf(node({ action: 'start', defaultCountry: ' ae ' }), { phone: '0501234567' }))!.key, '+971501234567');
      assert.equal((await conversationOf(node({ action: 'start', defaultCountry: '' }), { phone: '09876543210' }))!.key, ASHA);
    });
  });

  describe('route', () => {
    it('the step’s output; "no active conversation" (null) after the steps; a step the node does not list goes there too, with a warning', async () => {
      await start(ASHA, 'q2');
      await start(RAVI, 'q9');
      const c = node({ action: 'route', steps: ['q1', 'q2'] });
      const asha = await routed(c, { phone: ASHA });
      assert.deepEqual([asha.output, asha.outputs, (asha.msg.conversation as View).step], [1, 4, 'q2']);
      const nobody = await routed(c, { phone: '+919000000001' });
      assert.deepEqual([nobody.output, nobody.msg.conversation], [2, null]);
      const ravi = await routed(c, { phone: RAVI });
      assert.deepEqual([ravi.output, (ravi.msg.conversation as View).step], [2, 'q9']);
      assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.unknownStep {"name":"survey","step":"q9"}' }]);
    });

    it('no customer: refused at once, nothing held', async () => {
      const c = node({ action: 'route', steps: ['q1'] });
      const err = await failure(c, { payload: 'hi' });
      assert.equal(err.message, 'error.noCustomer {"property":"msg.phone"}');
    });

    it('the same SMS again is routed as the first time, even after the flow moved the conversation on', async () => {
      await start(ASHA, 'q1');
      const c = node({ action: 'route', steps: ['q1', 'q2'] }, { holdMs: 1 });
      assert.equal((await routed(c, { phone: ASHA, sms: { sid: 'SM1' } })).output, 0);
      await store.updateConversation('survey', ASHA, { step: 'q2' });
      await timers.tick(1);
      assert.equal((await routed(c, { phone: ASHA, sms: { sid: 'SM1' } })).output, 0, 'the answer for SM1 was remembered');
      await timers.tick(1);
      assert.equal((await routed(c, { phone: ASHA, sms: { sid: 'SM2' } })).output, 1);
      const other = node({ action: 'route', steps: ['q1', 'q2'] }, { nodeId: 'node-2' });
      assert.equal((await routed(other, { phone: ASHA, sms: { sid: 'SM1' } })).output, 1, 'another node’s answer is its own');
    });

    it('a store that fails: the error, and the customer’s next reply is not held behind it', async () => {
      const failing = Object.create(store) as Store;
      let fail = true;
      failing.getConversation = async (...args) => {
        if (fail) throw new Error('SQLITE_IOERR: disk I/O error');
        return store.getConversation(...args);
      };
      await start(ASHA, 'q1');
      const c = node({ action: 'route', steps: ['q1'] }, { store: failing });
      const err = await failure(c, { phone: ASHA });
      assert.equal(err.message, 'SQLITE_IOERR: disk I/O error');
      fail = false;
      assert.equal((await routed(c, { phone: ASHA })).output, 0);
    });

    it('the next reply waits for the flow to finish with the previous one, then goes at once', async () => {
      await start(ASHA, 'q1');
      const finished: Array<() => void> = [];
      const unwatched: number[] = [];
      const watchCompletion: WatchCompletion = (_msg, settled) => {
        finished.push(settled);
        const n = finished.length;
        return () => unwatched.push(n);
      };
      const c = node({ action: 'route', steps: ['q1'] }, { watchCompletion });
      await routed(c, { phone: ASHA, payload: 'first' });
      let second = false;
      const next = routed(c, { phone: ASHA, payload: 'second' }).then((r) => ((second = true), r));
      await settle();
      assert.equal(second, false);
      finished[0]();
      assert.equal((await next).msg.payload, 'second');
      assert.deepEqual(unwatched, [1], 'the first reply is no longer watched');
    });

    it('a change to this customer’s conversation frees their next reply; one to another customer or conversation does not', async () => {
      await start(ASHA, 'q1');
      await start(RAVI, 'q1');
      await store.startConversation({ name: 'other', key: ASHA, step: 'x', data: {}, maxAgeMs: HOUR });
      const c = node({ action: 'route', steps: ['q1', 'q2'] }, { attach: true });
      await routed(c, { phone: ASHA, payload: 'first' });
      let second = false;
      const next = routed(c, { phone: ASHA, payload: 'second' }).then((r) => ((second = true), r));
      await store.updateConversation('other', ASHA, { step: 'y' });
      await store.updateConversation('survey', RAVI, { step: 'q2' });
      await settle();
      assert.equal(second, false);
      await store.updateConversation('survey', ASHA, { step: 'q2' });
      assert.equal((await next).output, 1);
    });

    it('a change before the route node is attached or after it closed frees nothing', async () => {
      await start(ASHA, 'q1');
      const c = node({ action: 'route', steps: ['q1', 'q2'] });
      await routed(c, { phone: ASHA, payload: 'first' });
      const errors: string[] = [];
      c.handle({ phone: ASHA, payload: 'second' }, () => assert.fail('routed'), (err) => errors.push(String(err?.message)));
      await store.updateConversation('survey', ASHA, { step: 'q2' });
      await settle();
      c.close();
      assert.deepEqual(errors, ['error.stopped']);
    });
  });

  describe('timeouts', () => {
    it('a step that times out leaves on the last output, with the customer, an empty payload and timedOut', async () => {
      await store.startConversation({ name: 'survey', key: ASHA, step: 'q1', data: { a: 1 }, maxAgeMs: HOUR, timeoutMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      node({ action: 'route', steps: ['q1', 'q2'] }, { attach: true, timerMs: 250 });
      assert.deepEqual(timers.intervals.sort((a, b) => a - b), [250, 1_000]);
      await timers.tick(250);
      const outputs = sent[0] as Array<ConversationMessage | null>;
      assert.equal(outputs.length, 4);
      assert.deepEqual(outputs.slice(0, 3), [null, null, null]);
      const conversation = outputs[3]!.conversation as View;
      assert.deepEqual([outputs[3]!.phone, outputs[3]!.payload, conversation.step, conversation.data, conversation.timedOut], [ASHA, '', 'q1', { a: 1 }, true]);
    });

    it('polls every second by default; a failed poll is logged', async () => {
      const failing = Object.create(store) as Store;
      failing.takeDueConversations = async () => Promise.reject(new Error('SQLITE_BUSY: database is locked'));
      node({ action: 'route', steps: ['q1'] }, { attach: true, store: failing });
      assert.deepEqual(timers.intervals, [1_000, 1_000]);
      await timers.tick(1_000);
      assert.deepEqual(log.lines.filter((l) => l.level === 'error').map((l) => l.text), ['error.timeouts {"message":"SQLITE_BUSY: database is locked"}']);
    });

    it('only a route node polls; closing stops its timers', async () => {
      node({ action: 'start' }, { attach: true });
      assert.deepEqual(timers.intervals, [1_000], 'the status refresh only');
      const route = node({ action: 'route', steps: ['q1'] }, { attach: true });
      route.close();
      assert.deepEqual(timers.intervals, [1_000]);
    });
  });

  describe('the status under the node', () => {
    it('grey ring with none active; green dot with the count and the action; refreshed only when this conversation changed', async () => {
      const c = node({ action: 'start' }, { attach: true });
      await settle();
      assert.deepEqual(status.drawn, [{ fill: 'grey', shape: 'ring', text: 'status.active {"count":0,"action":"start"}' }]);
      await run(c, { phone: ASHA });
      await timers.tick(1_000);
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.active {"count":1,"action":"start"}' });
      const shown = status.drawn.length;
      await store.startConversation({ name: 'other', key: ASHA, step: 'x', data: {}, maxAgeMs: HOUR });
      await timers.tick(1_000);
      assert.equal(status.drawn.length, shown, 'not asked again for another conversation');
      await timers.tick(1_000);
      assert.equal(status.drawn.length, shown, 'nor when nothing changed');
    });

    it('red when the store cannot count', async () => {
      const failing = Object.create(store) as Store;
      failing.activeConversationCount = async () => Promise.reject(new Error('SQLITE_BUSY'));
      node({ action: 'end' }, { attach: true, store: failing });
      await settle();
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
    });

    it('a closed node shows nothing more', async () => {
      const c = node({ action: 'start' }, { attach: true });
      await settle();
      const shown = status.drawn.length;
      await run(c, { phone: ASHA });
      c.close();
      await timers.tick(2_000);
      await store.startConversation({ name: 'survey', key: RAVI, step: 'x', data: {}, maxAgeMs: HOUR });
      await settle();
      assert.equal(status.drawn.length, shown);
    });
  });
});
