// exotel-send's controller from the message in to what goes out: the number, text, sender and DLT
// fields of the request Exotel gets; each refusal as msg.error, the status and done(err); the node's
// settings as typed; what the sandbox phone shows of a send that did not go; the message kept in the
// outbox. A real (in-memory) store, a fake gateway; no Node-RED.
import assert from 'node:assert/strict';
import type { SendRequest } from '../../src/exotel/client';
import { SandboxGateway, type SandboxNotSent } from '../../src/exotel/sandbox';
import { SqliteStore } from '../../src/store';
import { attemptsOf, codeOf, SendController, storable, type SendAccount, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, StatusRecorder, translate, until } from './fakes';

const ASHA = '+919876543210';

type Outcome = { sent: SendMessage | null; failed: SendMessage | null; err?: Error & { code?: string } };

describe('exotel-send controller: from the message to the request', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let status: StatusRecorder;
  let log: LogRecorder;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    status = new StatusRecorder();
    log = new LogRecorder();
  });
  afterEach(() => store.close());

  function account(more: Partial<SendAccount> = {}): SendAccount {
    return { client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'SHOPIN', dltEntityId: '', redact: (text) => text.replace(/s3cret/g, '***'), ...more } as SendAccount;
  }

  function sender(config: SendConfig = {}, more: { account?: SendAccount | null; wired?: boolean; nodeName?: string } = {}) {
    return new SendController({
      nodeId: 'send-1', nodeName: more.nodeName, config, account: more.account === undefined ? account() : more.account, store, evaluate, translate, status, log,
      failureWired: () => more.wired ?? true, retryBaseDelayMs: 1,
    });
  }

  function through(c: SendController, msg: SendMessage) {
    const outcome = deferred<Outcome>();
    let out: Outcome = { sent: null, failed: null };
    void c.handle(msg, (pair) => {
      const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
      out = { sent, failed };
    }, (err) => outcome.resolve({ ...out, err: err as Outcome['err'] }));
    return outcome.promise;
  }
  const errorOf = async (c: SendController, msg: SendMessage) => (await through(c, msg)).failed?.error as { code: string; message: string; retryable: boolean };

  describe('settings', () => {
    it('an SMS type or priority Exotel would refuse: a warning, and none sent', async () => {
      const c = sender({ smsType: 'bulk', priority: 'urgent' });
      assert.deepEqual(log.lines, [
        { level: 'warn', text: 'warn.smsType {"smsType":"bulk","types":"transactional, transactional_opt_in, promotional"}' },
        { level: 'warn', text: 'warn.priority {"priority":"urgent"}' },
      ]);
      await through(c, { phone: ASHA, payload: 'hi' });
      assert.equal(gateway.sent[0].smsType, undefined);
      assert.equal(gateway.sent[0].priority, undefined);
    });

    it('a valid SMS type and priority go with the request, without a warning', async () => {
      await through(sender({ smsType: 'transactional', priority: 'high' }), { phone: ASHA, payload: 'hi' });
      assert.deepEqual([gateway.sent[0].smsType, gateway.sent[0].priority], ['transactional', 'high']);
      assert.deepEqual(log.lines, []);
    });

    it('attempts: 1 to 10, whole; blank, zero or nonsense is the default (4)', () => {
      assert.deepEqual(['', undefined, '0', 'many', 0].map(attemptsOf), [4, 4, 4, 4, 4]);
      assert.deepEqual([1, '2.7', 10, 11, 99, -3].map(attemptsOf), [1, 2, 10, 10, 10, 1]);
      assert.equal(sender({ attempts: '3' }).policy.attempts, 3);
    });

    it('the retry wait is settings.js’s, else a second', () => {
      assert.equal(sender().policy.baseDelayMs, 1);
      const c = new SendController({ nodeId: 'n', config: {}, account: account(), store, evaluate, translate, status, log, failureWired: () => true });
      assert.equal(c.policy.baseDelayMs, 1_000);
    });
  });

  describe('the account', () => {
    it('none: red ring, and an error in the debug sidebar', () => {
      assert.equal(sender({}, { account: null }).checkAccount(), false);
      assert.deepEqual(status.drawn, [{ fill: 'red', shape: 'ring', text: 'status.noAccount' }]);
      assert.deepEqual(log.lines, [{ level: 'error', text: 'error.noAccount' }]);
    });

    it('one that cannot send: red ring, and the reason', () => {
      assert.equal(sender({}, { account: account({ client: null, configProblem: 'the account SID is missing' }) }).checkAccount(), false);
      assert.deepEqual(status.drawn, [{ fill: 'red', shape: 'ring', text: 'status.accountIncomplete' }]);
      assert.deepEqual(log.lines, [{ level: 'error', text: 'error.accountCannotSend {"problem":"the account SID is missing"}' }]);
    });

    it('one that can: grey "ready"', () => {
      assert.equal(sender().checkAccount(), true);
      assert.deepEqual(status.drawn, [{ fill: 'grey', shape: 'ring', text: 'status.ready' }]);
    });

    it('a message to a node with no account, or one that cannot send: failed, saying why', async () => {
      assert.deepEqual(await errorOf(sender({}, { account: null }), { phone: ASHA, payload: 'hi' }), { code: 'no_account', message: 'no Exotel account is configured on this node', retryable: false });
      const incomplete = sender({}, { account: account({ client: null, configProblem: 'the API key or token is missing' }) });
      assert.deepEqual(await errorOf(incomplete, { phone: ASHA, payload: 'hi' }), { code: 'not_configured', message: 'the Exotel account cannot send: the API key or token is missing', retryable: false });
      assert.deepEqual(gateway.sent, []);
    });
  });

  describe('the request', () => {
    it('sends msg.payload to msg.phone from the account’s sender, with nothing Exotel would not expect', async () => {
      const out = await through(sender(), { phone: '09876543210', payload: 'Your order shipped' });
      assert.deepEqual(gateway.sent, [{ from: 'SHOPIN', to: ASHA, body: 'Your order shipped', encoding: 'plain', dltEntityId: undefined, dltTemplateId: undefined, smsType: undefined, priority: undefined, statusCallback: undefined }]);
      assert.deepEqual(out.sent?.exotel, { sid: 'SM1', status: 'queued', detailedStatus: 'PENDING_TO_OPERATOR', detailedStatusCode: 21010, segments: 1, encoding: 'plain' });
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.counts {"sent":1,"failed":0}' });
      assert.equal(out.err, undefined);
    });

    it('the number and text from other properties; a fixed text with {{placeholders}} from the message', async () => {
      await through(sender({ to: 'customer', toType: 'msg', text: 'Hi {{name}}, order {{order.id}} shipped', textType: 'str' }), { customer: ASHA, name: 'Asha', order: { id: 42 } });
      assert.equal(gateway.sent[0].body, 'Hi Asha, order 42 shipped');
      await through(sender({ text: 'reply', textType: 'msg' }), { phone: ASHA, reply: 'from msg.reply' });
      assert.equal(gateway.sent[1].body, 'from msg.reply');
    });

    it('a number or true/false as the text is sent as written', async () => {
      await through(sender(), { phone: ASHA, payload: 42 });
      await through(sender(), { phone: ASHA, payload: false });
      assert.deepEqual(gateway.sent.map((r) => r.body), ['42', 'false']);
    });

    it('the node’s sender (trimmed) before the account’s; a Unicode text is sent as unicode', async () => {
      await through(sender({ from: ' ALERTS ' }), { phone: ASHA, payload: 'नमस्ते' });
      assert.deepEqual([gateway.sent[0].from, gateway.sent[0].encoding], ['ALERTS', 'unicode']);
    });

    it('DLT: the account’s entity and the node’s template (trimmed), else msg.dltTemplateId (text or number)', async () => {
      const dlt = account({ dltEntityId: '1201160000000001' });
      await through(sender({ dltTemplateId: ' 1207160000000002 ' }, { account: dlt }), { phone: ASHA, payload: 'hi', dltTemplateId: 'ignored' });
      await through(sender({}, { account: dlt }), { phone: ASHA, payload: 'hi', dltTemplateId: 1207160000000003 });
      await through(sender({}, { account: dlt }), { phone: ASHA, payload: 'hi', dltTemplateId: '1207160000000004' });
      assert.deepEqual(gateway.sent.map((r) => [r.dltEntityId, r.dltTemplateId]), [
        ['1201160000000001', '1207160000000002'],
        ['1201160000000001', '1207160000000003'],
        ['1201160000000001', '1207160000000004'],
      ]);
    });

    it('a DLT template without an entity on the account still goes; a status callback (trimmed) too', async () => {
      await through(sender({ statusCallback: ' https://shop.example/dlr ' }), { phone: ASHA, payload: 'hi', dltTemplateId: '1207' });
      assert.deepEqual([gateway.sent[0].dltEntityId, gateway.sent[0].dltTemplateId, gateway.sent[0].statusCallback], [undefined, '1207', 'https://shop.example/dlr']);
    });
  });

  describe('refusals, before anything is queued', () => {
    const refusal = (code: string, message: string) => ({ code, message, retryable: false });

    it('a number that is not valid (a possible one goes to the sandbox thread under it)', async () => {
      assert.deepEqual(await errorOf(sender(), { phone: 'hello', payload: 'hi' }), refusal('invalid_number', '"hello" is not a valid phone number'));
      assert.deepEqual(await errorOf(sender(), { payload: 'hi' }), refusal('invalid_number', 'nothing is not a valid phone number'));
    });

    it('a text that is no text, or is empty', async () => {
      assert.deepEqual(await errorOf(sender(), { phone: ASHA, payload: { text: 'hi' } }), refusal('invalid_text', 'the text to send is not text'));
      assert.deepEqual(await errorOf(sender(), { phone: ASHA, payload: '   ' }), refusal('empty_text', 'the text to send is empty'));
      assert.deepEqual(await errorOf(sender({ text: '  ', textType: 'str' }), { phone: ASHA }), refusal('empty_text', 'the text to send is empty'));
    });

    it('no sender on the node or the account', async () => {
      assert.deepEqual(await errorOf(sender({ from: '  ' }, { account: account({ defaultFrom: '' }) }), { phone: ASHA, payload: 'hi' }),
        refusal('no_sender', 'no sender: set "From" on the node or a default sender on the account'));
    });

    it('an account registered for DLT, and no template', async () => {
      const dlt = account({ dltEntityId: '1201160000000001' });
      assert.deepEqual(await errorOf(sender({ dltTemplateId: ' ' }, { account: dlt }), { phone: ASHA, payload: 'hi', dltTemplateId: { id: 1 } }),
        refusal('no_dlt_template', 'no DLT template id: set it on the node or in msg.dltTemplateId'));
      assert.deepEqual(gateway.sent, []);
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), []);
    });

    it('a refusal: output 2, yellow counts, and done() when output 2 is wired', async () => {
      const out = await through(sender(), { phone: 'hello', payload: 'hi' });
      assert.equal(out.sent, null);
      assert.equal(out.err, undefined);
      assert.deepEqual(status.lastDrawn, { fill: 'yellow', shape: 'dot', text: 'status.counts {"sent":0,"failed":1}' });
    });

    it('output 2 not wired: done(err), with the reason and the code, for a Catch node', async () => {
      const out = await through(sender({}, { wired: false }), { phone: 'hello', payload: 'hi' });
      assert.equal(out.err?.message, 'error.notSent {"message":"\\"hello\\" is not a valid phone number"}');
      assert.equal(out.err?.code, 'invalid_number');
    });

    it('a number that opted out: the status says so', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      const out = await through(sender(), { phone: ASHA, payload: 'Sale!' });
      assert.equal((out.failed?.error as { code: string }).code, 'opted_out');
      assert.deepEqual(status.lastDrawn, { fill: 'yellow', shape: 'dot', text: 'status.countsOptedOut {"sent":0,"failed":1}' });
    });

    it('the reason keeps no credential', async () => {
      gateway.answer = async () => Promise.reject(Object.assign(new Error('401 for key s3cret'), {}));
      const out = await through(sender({ attempts: 1 }), { phone: ASHA, payload: 'hi' });
      assert.doesNotMatch(JSON.stringify(out.failed?.error), /s3cret/);
    });
  });

  describe('sent once per inbound SMS and number', () => {
    it('the same SMS handed on again sends nothing a second time, and says nothing on either output', async () => {
      const c = sender();
      await through(c, { phone: ASHA, payload: 'Thanks!', sms: { sid: 'SM1' } });
      const again = await through(c, { phone: ASHA, payload: 'Thanks!', sms: { sid: 'SM1' } });
      assert.deepEqual([again.sent, again.failed, again.err], [null, null, undefined]);
      assert.equal(gateway.sent.length, 1);
      assert.deepEqual(log.lines.filter((l) => l.level === 'debug').map((l) => l.text), ['already queued for SM1 (by this node before, or taken over by another instance)']);
    });

    it('a replayed confirmation gives the number’s one confirmation back', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      const c = sender({ optOutConfirmation: true });
      const first = await through(c, { phone: ASHA, payload: 'You are unsubscribed', sms: { sid: 'SM1' } });
      assert.ok(first.sent);
      await store.releaseOptOutConfirmation(ASHA); // as if the first send failed
      const replay = await through(c, { phone: ASHA, payload: 'You are unsubscribed', sms: { sid: 'SM1' } });
      assert.deepEqual([replay.sent, replay.failed], [null, null]);
      assert.equal(await store.claimOptOutConfirmation(ASHA, 60_000), true, 'the claim the replay took was given back');
    });
  });

  describe('what the sandbox phone shows of a send that did not go', () => {
    function sandbox() {
      const shown: SandboxNotSent[] = [];
      const client = new SandboxGateway(async () => undefined, async (attempt) => void shown.push(attempt));
      return { shown, client };
    }

    it('in the number’s thread: the text, the code and reason, and this node', async () => {
      const { shown, client } = sandbox();
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      await through(sender({}, { account: account({ client }), nodeName: 'promo' }), { phone: ASHA, payload: 'Sale!' });
      assert.equal(shown.length, 1);
      assert.deepEqual({ ...shown[0], message: undefined }, { to: ASHA, body: 'Sale!', code: 'opted_out', message: undefined, nodeId: 'send-1', nodeName: 'promo' });
    });

    it('a number that could not be used: in the thread of the customer the flow answers, with the message’s text', async () => {
      const { shown, client } = sandbox();
      await through(sender({}, { account: account({ client }) }), { phone: 'hello', payload: 'Hi there', sms: { sid: 'SM1', from: ASHA } });
      assert.deepEqual(shown.map((s) => [s.to, s.body, s.code, s.nodeName]), [[ASHA, 'Hi there', 'invalid_number', '']]);
    });

    it('a possible (not valid) number keeps its own thread; with no number at all, nothing is shown', async () => {
      const { shown, client } = sandbox();
      await through(sender({}, { account: account({ client }) }), { phone: '+915555555555', payload: 'Hi', sms: { sid: 'SM1', from: ASHA } });
      await through(sender({}, { account: account({ client }) }), { phone: 'hello', payload: 'Hi' });
      await through(sender({}, { account: account({ client }) }), { phone: 'hello', payload: { no: 'text' }, sms: { sid: 'SM2', from: ASHA } });
      assert.deepEqual(shown.map((s) => [s.to, s.body]), [['+915555555555', 'Hi'], [ASHA, '']]);
    });

    it('a thread that cannot be written: a warning', async () => {
      const client = new SandboxGateway(async () => undefined, async () => Promise.reject(new Error('disk full')));
      await through(sender({}, { account: account({ client }) }), { phone: 'hello', payload: 'Hi', sms: { sid: 'SM1', from: ASHA } });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.sandboxThread {"message":"disk full"}' }]);
    });

    it('a live account shows nothing', async () => {
      const out = await through(sender(), { phone: 'hello', payload: 'Hi', sms: { sid: 'SM1', from: ASHA } });
      assert.ok(out.failed);
      assert.deepEqual(log.lines, []);
    });
  });

  describe('the message kept in the outbox', () => {
    it('keeps what JSON keeps, without the HTTP request and response, nor a one-time code', () => {
      const msg = { _msgid: 'm1', payload: 'Your code is 123456', phone: ASHA, req: { socket: {} }, res: { end() {} }, conversation: { step: 'verify', code: '123456' } };
      assert.deepEqual(storable(msg), { _msgid: 'm1', payload: 'Your code is 123456', phone: ASHA, conversation: { step: 'verify' } });
      assert.deepEqual(storable({ payload: 'x', conversation: null }), { payload: 'x', conversation: null });
    });

    it('a message JSON cannot hold: its id, text, number and topic', () => {
      const msg: SendMessage = { _msgid: 'm2', payload: 'hi', phone: ASHA, topic: 'promo', extra: 1 };
      msg.self = msg;
      assert.deepEqual(storable(msg), { _msgid: 'm2', payload: 'hi', phone: ASHA, topic: 'promo' });
    });

    it('the code conversation-state gave the message, if any', () => {
      assert.equal(codeOf({ conversation: { code: '123456' } }), '123456');
      assert.equal(codeOf({ conversation: { code: 123456 } }), '');
      assert.equal(codeOf({ conversation: null }), '');
      assert.equal(codeOf({}), '');
    });

    function held() {
      const limiter = Object.assign(new FakeLimiter(), { held: true });
      const c = new SendController({
        nodeId: 'send-1', config: { text: 'Your code is {{conversation.code}}', textType: 'str' }, account: account({ limiter }), store, evaluate, translate, status, log,
        failureWired: () => true, retryBaseDelayMs: 1, codeKey: Buffer.alloc(32, 7),
      });
      return { c, limiter };
    }

    it('a text holding the code is kept masked and sealed while it waits, and goes out whole', async () => {
      const { c, limiter } = held();
      const result = through(c, { phone: ASHA, conversation: { code: '482913' } });
      await until(() => limiter.waiting.length === 1);
      const [entry] = await store.outboxEntries('send-1', 'queued');
      const kept = entry.request as SendRequest & { sealed?: string };
      assert.doesNotMatch(JSON.stringify(entry), /482913/);
      assert.equal(kept.body, 'Your code is ••••');
      assert.match(String(kept.sealed), /\S{20}/);
      limiter.letOneGo();
      assert.equal((await result).sent?.payload, undefined);
      assert.equal(gateway.sent[0].body, 'Your code is 482913');
    });

    it('a text that does not hold the code is kept as it is', async () => {
      const { c, limiter } = held();
      const result = through(c, { phone: ASHA, conversation: { code: '' } });
      await until(() => limiter.waiting.length === 1);
      const [entry] = await store.outboxEntries('send-1', 'queued');
      assert.equal((entry.request as SendRequest).body, 'Your code is ');
      assert.ok(!('sealed' in (entry.request as object)));
      limiter.letOneGo();
      await result;
    });
  });
});
