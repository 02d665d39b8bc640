// exotel-send's delivery reports and the settling of a send a crash interrupted, without Node-RED: a
// real (in-memory) store, the account's report receiver, a fake gateway and the report output.
import assert from 'node:assert/strict';
import { SqliteStore, StoreUnavailableError, type ReportRecord } from '../../src/store';
import { SendController, type SendConfig, type SendDeps, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { ReportReceiver } from '../../src/nodes/exotel-account/report-receiver';
import type { InboundCall, Reply } from '../../src/nodes/exotel-inbound/controller';
import { claimLosingFirstAnswer, deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, settle, StatusRecorder, translate, until } from './fakes';

const ASHA = '+919876543210';
const CALLBACK = 'https://sms.example.in/exotel-sms/delivery-report/acct-1?token=s3cret-token-0123456789';

type Outputs = [SendMessage | null, SendMessage | null, SendMessage | null];

describe('exotel-send: delivery reports and sends a crash interrupted', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let log: LogRecorder;
  let outputs: Outputs[];
  let receiver: ReportReceiver;
  const controllers: Array<SendController & { nodeId: string }> = [];

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    log = new LogRecorder();
    outputs = [];
    receiver = new ReportReceiver({
      account: { checkWebhookToken: (given) => given('s3cret-token-0123456789'), defaultCountry: 'IN', redact: (t) => t },
      store,
      handOn: (nodeId, record) => void controllers.find((c) => c.nodeId === nodeId)?.onReport(record),
      translate,
      log,
    });
  });
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.stop();
    receiver.close();
    await store.close();
  });

  const account = (reports = true) => ({
    id: 'acct-1', mode: 'live' as const, client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'EXSHOP', dltEntityId: '',
    redact: (text: string) => text, reportsEnabled: reports, statusCallbackUrl: reports ? CALLBACK : null,
  });

  function controller(config: SendConfig = {}, options: { reports?: boolean; reconcileAfterMs?: number; takeOver?: SendDeps['takeOver'] } = {}) {
    const c = Object.assign(
      new SendController({
        nodeId: 'send-1', config: { textType: 'msg', text: 'payload', ...config }, account: account(options.reports), store, evaluate, translate, status: new StatusRecorder(), log,
        failureWired: () => true, reconcileAfterMs: options.reconcileAfterMs ?? 60_000, takeOver: options.takeOver,
      }),
      { nodeId: 'send-1' },
    );
    controllers.push(c);
    return c;
  }

  const output = (msgs: unknown) => void outputs.push(msgs as Outputs);

  function send(c: SendController, msg: SendMessage): Promise<void> {
    const finished = deferred();
    void c.handle(msg, output, () => finished.resolve());
    return finished.promise;
  }

  function report(fields: Record<string, string>, token = 's3cret-token-0123456789'): Promise<Reply> {
    const call: InboundCall = {
      method: 'POST', ip: '10.0.0.1', query: `token=${token}`, contentType: 'application/x-www-form-urlencoded',
      readBody: async () => ({ body: Buffer.from(new URLSearchParams(fields).toString()) }),
    };
    const replied = deferred<Reply>();
    void receiver.receive(call, (reply) => replied.resolve(reply));
    return replied.promise;
  }

  const reports = () => outputs.map((o) => o[2]).filter((m): m is SendMessage => !!m);

  it('sends with the account\'s status callback and a CustomField of its own, and logs the SMS as it went', async () => {
    const c = controller({ dltTemplateId: '1107000000000001' });
    await c.resume(output);
    await send(c, { phone: '09876543210', payload: 'Your order shipped', order: { id: 7 } });
    const [request] = gateway.sent;
    assert.equal(request.statusCallback, CALLBACK);
    assert.match(request.customField ?? '', /^smsflow-[A-Za-z0-9_-]{12}$/);
    const logged = await store.sendLogEntry(request.customField!);
    assert.deepEqual(logged && [logged.sid, logged.state, logged.phone, logged.body, logged.templateId, logged.account, logged.nodeId], ['SM1', 'sent', ASHA, 'Your order shipped', '1107000000000001', 'acct-1', 'send-1']);
    assert.deepEqual(logged?.message, { phone: '09876543210', payload: 'Your order shipped', order: { id: 7 } });
    assert.deepEqual((await store.outboxEntries('send-1', 'sending')).length, 0);
  });

  it('never keeps a one-time code in clear in the send log: the SMS has it, the log shows it masked', async () => {
    const c = controller({ text: 'Your code is {{conversation.code}}. Code 482913 expires in 5 min.', textType: 'str' });
    await c.resume(output);
    await send(c, { phone: ASHA, conversation: { step: 'verify', code: '482913' } });
    const [request] = gateway.sent;
    assert.equal(request.body, 'Your code is 482913. Code 482913 expires in 5 min.');
    const logged = await store.sendLogEntry(request.customField!);
    assert.equal(logged?.body, 'Your code is ••••. Code •••• expires in 5 min.');
    assert.doesNotMatch(JSON.stringify(logged), /482913/);
  });

  it('keeps a node\'s own status callback, and sends none without the account\'s public URL', async () => {
    const own = controller({ statusCallback: 'https://crm.example.in/dlr' });
    await send(own, { phone: ASHA, payload: 'one' });
    const plain = controller({}, { reports: false });
    await send(plain, { phone: ASHA, payload: 'two' });
    assert.deepEqual(gateway.sent.map((r) => r.statusCallback), ['https://crm.example.in/dlr', undefined]);
  });

  it('hands each report on at the third output once, with the message as it was sent and a readable reason', async () => {
    const c = controller();
    await c.resume(output);
    await send(c, { phone: ASHA, payload: 'Sale today', topic: 'offers' });
    const customField = gateway.sent[0].customField!;
    const fields = { SmsSid: 'SM1', To: '09876543210', Status: 'failed_dnd', DetailedStatus: 'FAILED_DND', DetailedStatusCode: '23005', SmsUnits: '1', DateSent: '2026-11-28 11:30:00', CustomField: customField };
    assert.deepEqual(await Promise.all([report(fields), report(fields)]), [{ status: 200 }, { status: 200 }]);
    await until(() => reports().length === 1);
    await report(fields);
    const [msg] = reports();
    assert.deepEqual([msg.payload, msg.phone, msg.topic], ['Sale today', ASHA, 'offers']);
    assert.deepEqual(msg.delivery, {
      status: 'failed', exotelStatus: 'failed_dnd', code: 23005, detail: 'FAILED_DND', units: 1, sid: 'SM1', at: '2026-11-28T06:00:00.000Z',
      reason: "Not delivered: the number is on India's Do Not Disturb list (DND, the NCPR), which blocks promotional SMS.",
    });
    const logged = await store.sendLogEntry(customField);
    assert.deepEqual(logged && [logged.delivery, logged.exotelStatus, logged.code], ['failed', 'failed_dnd', '23005']);
    await report({ ...fields, Status: 'sent', DetailedStatusCode: '20005' });
    await until(() => reports().length === 2);
    assert.equal(reports()[1].delivery && (reports()[1].delivery as { status: string }).status, 'delivered', 'another status of the same SMS is another report');
  });

  it('hands on after a restart a report that came while the node was not running, once', async () => {
    const before = controller();
    await before.resume(output);
    await send(before, { phone: ASHA, payload: 'Your code is ready' });
    before.stop();
    controllers.length = 0;
    await report({ SmsSid: 'SM1', Status: 'sent', DetailedStatusCode: '20005', CustomField: gateway.sent[0].customField! });
    assert.equal(reports().length, 0);
    const after = controller();
    const handed = deferred<ReportRecord>();
    void store.unhandledReports('send-1').then((records) => handed.resolve(records[0]));
    await after.resume(output);
    await after.onReport(await handed.promise); // the same report arriving live during the start
    assert.deepEqual(reports().map((m) => [m.payload, (m.delivery as { status: string }).status]), [['Your code is ready', 'delivered']]);
    assert.deepEqual(await store.unhandledReports('send-1'), []);
  });

  it('hands on, while it runs, the reports a dead instance recorded but never handed on, once (several instances)', async () => {
    const before = controller();
    await before.resume(output);
    await send(before, { phone: ASHA, payload: 'Your parcel is out' });
    before.stop();
    controllers.length = 0;
    await report({ SmsSid: 'SM1', Status: 'sent', DetailedStatusCode: '20005', CustomField: gateway.sent[0].customField! });
    let claims = 0;
    let left: ReportRecord[] = [];
    const claimReports = async () => {
      claims++;
      const taken = left;
      left = [];
      return taken;
    };
    const after = controller({}, { takeOver: { claim: async () => [], claimReports, everyMs: 10 } });
    await after.resume(output);
    assert.equal(reports().length, 1, 'its own at the start, read from the store');
    assert.equal(claims, 0, 'the start reads the dead instances\' reports with its own, not twice');
    // another instance recorded this one (this node did not hear it), and died before handing it on
    controllers.length = 0;
    await report({ SmsSid: 'SM1', Status: 'failed', DetailedStatusCode: '23005', CustomField: gateway.sent[0].customField! });
    controllers.push(after);
    left = await store.unhandledReports('send-1');
    await until(() => reports().length === 2);
    await until(() => claims > 2);
    assert.deepEqual(reports().map((m) => [m.payload, (m.delivery as { status: string }).status]), [['Your parcel is out', 'delivered'], ['Your parcel is out', 'failed']]);
    assert.deepEqual(await store.unhandledReports('send-1'), [], 'marked handled once handed on');
  });

  it('hands on the reports a take-over claim took when its answer was lost: the next claim asks with the same key (several instances)', async () => {
    const before = controller();
    await before.resume(output);
    await send(before, { phone: ASHA, payload: 'Your parcel is out' });
    before.stop();
    controllers.length = 0;
    const waiting: ReportRecord[] = [];
    const lossy = claimLosingFirstAnswer(waiting);
    const after = controller({}, { takeOver: { claim: async () => [], claimReports: lossy.claim, everyMs: 10 } });
    await after.resume(output);
    // another instance recorded the report (this node did not hear it), and died before handing it on
    controllers.length = 0;
    await report({ SmsSid: 'SM1', Status: 'delivered', DetailedStatusCode: '20005', CustomField: gateway.sent[0].customField! });
    controllers.push(after);
    waiting.push(...(await store.unhandledReports('send-1')));
    await until(() => reports().length === 1);
    assert.deepEqual(reports().map((m) => [m.payload, (m.delivery as { status: string }).status]), [['Your parcel is out', 'delivered']]);
    const claims = lossy.keys.length;
    await until(() => lossy.keys.length > claims + 3);
    assert.deepEqual(lossy.keys.filter((key) => key === lossy.lostKey).length, 2, 'asked again with the key of the claim whose answer was lost, then a new one');
    assert.equal(reports().length, 1, 'once');
  });

  describe('a report recorded whose answer the database lost', () => {
    // PostgreSQL commits, then the connection drops before its answer arrives: Exotel is answered 503,
    // and its retry finds the report recorded. The report must still reach the report output, once.
    function losingFirstAnswer(committed: boolean, lostAnswerMs = 60_000) {
      const lossy = Object.create(store) as SqliteStore;
      let lost = false;
      lossy.recordDeliveryReport = async (report, attempt) => {
        if (lost) return store.recordDeliveryReport(report, attempt);
        lost = true;
        if (committed) await store.recordDeliveryReport(report, attempt);
        throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
      };
      receiver.close();
      receiver = new ReportReceiver({
        account: { checkWebhookToken: (given) => given('s3cret-token-0123456789'), defaultCountry: 'IN', redact: (t) => t },
        store: lossy,
        handOn: (nodeId, record) => void controllers.find((c) => c.nodeId === nodeId)?.onReport(record),
        translate,
        log,
        lostAnswerMs,
      });
    }
    const delivered = { SmsSid: 'SM1', Status: 'delivered', DetailedStatusCode: '20005' };
    const handedOn = () => reports().map((m) => [m.payload, (m.delivery as { status: string }).status]);

    it('Exotel\'s retry finds it recorded: the receiver hands it on once the database answers, once', async () => {
      const c = controller();
      await c.resume(output);
      await send(c, { phone: ASHA, payload: 'Your parcel is out' });
      losingFirstAnswer(true);
      assert.deepEqual(await report(delivered), { status: 503, error: 'the report could not be recorded; try again' });
      assert.deepEqual(await report(delivered), { status: 200 });
      await until(() => reports().length > 0);
      assert.deepEqual(handedOn(), [['Your parcel is out', 'delivered']]);
      await settle();
      assert.deepEqual(await store.unhandledReports('send-1'), [], 'marked handled');
      await report(delivered);
      await settle();
      assert.equal(reports().length, 1, 'once');
    });

    it('no retry comes: the receiver looks again a moment later and hands it on', async () => {
      const c = controller();
      await c.resume(output);
      await send(c, { phone: ASHA, payload: 'Your parcel is out' });
      losingFirstAnswer(true, 20);
      assert.equal((await report(delivered)).status, 503);
      await until(() => reports().length > 0);
      assert.deepEqual(handedOn(), [['Your parcel is out', 'delivered']]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.equal(reports().length, 1, 'once');
    });

    it('not recorded after all: Exotel\'s retry records it and hands it on, once', async () => {
      const c = controller();
      await c.resume(output);
      await send(c, { phone: ASHA, payload: 'Your parcel is out' });
      losingFirstAnswer(false, 20);
      assert.equal((await report(delivered)).status, 503);
      assert.deepEqual(await report(delivered), { status: 200 });
      await until(() => reports().length > 0);
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.deepEqual(handedOn(), [['Your parcel is out', 'delivered']], 'once');
    });
  });

  it('refuses a report without the webhook token (401) or with bad fields (400), and records nothing', async () => {
    assert.deepEqual(await report({ SmsSid: 'SM1', Status: 'sent' }, 'wrong'), { status: 401, error: 'the webhook token is missing or wrong', challenge: true });
    assert.deepEqual(await report({ SmsSid: 'SM1', Status: 'bounced' }), { status: 400, error: 'Status "bounced" is not one of queued, sending, submitted, sent, delivered, failed, failed_dnd, undelivered, expired' });
    assert.deepEqual(await report({ Status: 'sent' }), { status: 400, error: 'SmsSid is missing' });
    assert.equal((await store.recordDeliveryReport({ sid: 'SM1', to: '', status: 'sent', delivery: 'delivered', detailedStatus: '', detailedStatusCode: '', dateSent: null, units: null, customField: '', receivedAt: 1 })).isNew, true);
  });

  it('answers 503 when the report cannot be recorded, so that Exotel tries again', async () => {
    const failing = new ReportReceiver({ account: { checkWebhookToken: () => true, defaultCountry: 'IN', redact: (t) => t }, store: { recordDeliveryReport: async () => { throw new Error('disk full'); }, recordedReports: async () => assert.fail('nothing was lost') }, handOn: () => assert.fail('handed on'), translate, log });
    const replied = deferred<Reply>();
    void failing.receive({ method: 'POST', ip: undefined, query: '', readBody: async () => ({ body: Buffer.from('SmsSid=SM1&Status=sent') }) }, (reply) => replied.resolve(reply));
    assert.deepEqual(await replied.promise, { status: 503, error: 'the report could not be recorded; try again' });
  });

  describe('a send on the wire when Node-RED died', () => {
    /** The outbox and send log as a crash leaves them: the request left, its answer never came. */
    async function onTheWire(customField: string, logged: boolean, payload = 'You are unsubscribed') {
      const id = (await store.addToOutbox({ nodeId: 'send-1', phone: ASHA, request: { from: 'EXSHOP', to: ASHA, body: payload, encoding: 'plain', customField }, message: { phone: ASHA, payload }, claimKey: `${customField}>${ASHA}`, confirmation: true }))!;
      await store.markOutboxSending(id);
      if (logged) await store.logSendStart({ customField, nodeId: 'send-1', account: 'acct-1', phone: ASHA, body: payload, templateId: null, message: { phone: ASHA, payload } });
      return id;
    }

    it('is sent, late, when its report comes, and the report follows', async () => {
      await onTheWire('smsflow-wire-1', true);
      const c = controller();
      await c.resume(output);
      assert.equal(outputs.length, 0, 'it waits for its report');
      assert.equal(gateway.sent.length, 0);
      await report({ SmsSid: 'SM-LATE', Status: 'sent', DetailedStatusCode: '20005', SmsUnits: '1', CustomField: 'smsflow-wire-1' });
      await until(() => outputs.length === 2);
      const sent = outputs[0][0]!;
      const delivered = outputs[1][2]!;
      assert.deepEqual([sent.payload, sent.exotel], ['You are unsubscribed', { sid: 'SM-LATE', status: 'sent', detailedStatus: '', detailedStatusCode: '20005', segments: 1, encoding: 'plain', late: true }]);
      assert.equal((delivered.delivery as { sid: string }).sid, 'SM-LATE');
      assert.equal(gateway.sent.length, 0, 'never sent twice');
      assert.deepEqual(await store.outboxEntries('send-1', 'sending'), []);
    });

    it('is sent again, marked maybeSent, when no report comes within reconcileAfterMs', async () => {
      await onTheWire('smsflow-wire-2', true);
      const c = controller({}, { reconcileAfterMs: 30 });
      await c.resume(output);
      await until(() => outputs.length === 1);
      assert.deepEqual(gateway.sent.map((r) => [r.to, r.body, r.customField]), [[ASHA, 'You are unsubscribed', 'smsflow-wire-2']]);
      assert.equal((outputs[0][0]!.exotel as { maybeSent?: boolean }).maybeSent, true);
      assert.ok(log.lines.some((l) => l.level === 'warn' && l.text.startsWith('warn.resend')));
    });

    it('is sent at once when the send log never had it (it never left), and sent late when Exotel\'s answer was logged', async () => {
      await onTheWire('smsflow-never-left', false, 'first');
      const c = controller();
      await c.resume(output);
      await until(() => outputs.length === 1);
      assert.deepEqual(gateway.sent.map((r) => r.body), ['first']);
      assert.equal((outputs[0][0]!.exotel as { maybeSent?: boolean }).maybeSent, undefined);
      c.stop();
      await onTheWire('smsflow-answered', true, 'second');
      await store.logSendAccepted('smsflow-answered', 'SM-9', 'queued', 1);
      await controller().resume(output);
      assert.deepEqual(outputs[1][0] && [outputs[1][0].payload, (outputs[1][0].exotel as { sid: string; late: boolean }).sid], ['second', 'SM-9']);
      assert.equal(gateway.sent.length, 1);
    });

    it('fails as interrupted (maybeSent), as before, without reports', async () => {
      await onTheWire('smsflow-wire-3', true);
      await controller({}, { reports: false }).resume(output);
      const failed = outputs[0][1]!;
      assert.deepEqual([(failed.error as { code: string }).code, (failed.error as { maybeSent: boolean }).maybeSent], ['interrupted', true]);
    });
  });
});
