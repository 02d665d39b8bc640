// exotel-send and India's rules, without Node-RED: a text that does not match the account's DLT
// template fails before any request; a promotional or service-explicit send outside 10:00–21:00 IST
// waits in the outbox (also across a restart) or fails. A fake clock stands in for the night.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import { SendController, type SendConfig, type SendMessage } from '../../src/nodes/exotel-send/controller';
import type { DltTemplate } from '../../src/sms/dlt';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, settle, StatusRecorder, translate } from './fakes';

const ASHA = '+919876543210';
const HOUR = 3_600_000;
/** A moment as India's clock shows it. */
const ist = (iso: string) => Date.parse(`${iso}+05:30`);

const TEMPLATES: DltTemplate[] = [
  { id: '1107000000000000001', name: 'OTP', text: 'Your OTP is {#var#}. - ACME', category: 'service-implicit' },
  { id: '1107000000000000002', name: 'Sale', text: 'Sale! {#var#} off today. - ACME', category: 'promotional' },
  { id: '1107000000000000003', name: 'Offer', text: 'Your offer: {#var#}. - ACME', category: 'service-explicit' },
  { id: '1107000000000000004', name: 'Bank', text: 'OTP {#var#} for your payment. - ACME', category: 'transactional' },
];
const [OTP, SALE, OFFER, BANK] = TEMPLATES.map((t) => t.id);

type Outcome = { sent: SendMessage | null; failed: SendMessage | null; err?: Error };

describe('exotel-send controller: DLT templates and TRAI’s hours', () => {
  let store: SqliteStore;
  let gateway: FakeGateway;
  let status: StatusRecorder;
  let clock: sinon.SinonFakeTimers | undefined;
  let log: LogRecorder;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    gateway = new FakeGateway();
    status = new StatusRecorder();
    log = new LogRecorder();
  });
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await store.close();
  });

  const at = (iso: string) => {
    clock = sinon.useFakeTimers({ now: ist(iso), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  };

  function controller(config: SendConfig = {}, options: { templates?: DltTemplate[]; wired?: boolean } = {}) {
    const account = {
      client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'ACMEIN', dltEntityId: '1101000000000000001',
      dltTemplates: options.templates ?? TEMPLATES, redact: (text: string) => text,
    };
    return new SendController({
      nodeId: 'send-1', config: { textType: 'msg', text: 'payload', ...config }, account, store, evaluate, translate, status, log,
      failureWired: () => options.wired ?? true,
    });
  }

  function sendThrough(c: SendController, msg: SendMessage): Promise<Outcome> {
    const outcome = deferred<Outcome>();
    let out: Outcome = { sent: null, failed: null };
    void c.handle(msg, (pair) => {
      const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
      out = { sent, failed };
    }, (err) => outcome.resolve({ ...out, err }));
    return outcome.promise;
  }

  const errorOf = (outcome: Outcome) => outcome.failed?.error as { code: string; message: string } | undefined;

  describe('the DLT template check', () => {
    it('sends a text that matches the template the node names', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: OTP }), { phone: ASHA, payload: 'Your OTP is 482913. - ACME' });
      assert.ok(outcome.sent);
      assert.equal(gateway.sent[0].dltTemplateId, OTP);
    });

    it('fails a text that does not match, with the first difference, before any request', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: OTP }), { phone: ASHA, payload: 'Your code is 482913. - ACME' });
      assert.equal(errorOf(outcome)?.code, 'dlt_template_mismatch');
      assert.equal((outcome.failed?.error as { retryable: boolean }).retryable, false, 'sending it again cannot help');
      assert.equal(errorOf(outcome)?.message, 'the text does not match DLT template 1107000000000000001 (OTP): at character 6: expected "OTP is ", found "code is 482913. - ACME"');
      assert.equal(gateway.sent.length, 0, 'nothing asked of Exotel');
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), [], 'nothing queued');
      assert.deepEqual(status.last, { fill: 'red', text: 'status.countsDltMismatch {"sent":0,"failed":1}' });
    });

    it('fails a variable longer than 30 characters', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: OTP }), { phone: ASHA, payload: `Your OTP is ${'9'.repeat(31)}. - ACME` });
      assert.equal(errorOf(outcome)?.code, 'dlt_template_mismatch');
      assert.match(errorOf(outcome)!.message, /the variable takes 31 characters, more than the 30 it may/);
      assert.equal(gateway.sent.length, 0);
    });

    it('checks the template id of msg.dltTemplateId too', async () => {
      const outcome = await sendThrough(controller(), { phone: ASHA, payload: 'Sale! 20% off today.', dltTemplateId: SALE });
      assert.equal(errorOf(outcome)?.code, 'dlt_template_mismatch');
    });

    it('fails an id the account does not list, when it lists any', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: '1107999999999999999' }), { phone: ASHA, payload: 'Your OTP is 1. - ACME' });
      assert.equal(errorOf(outcome)?.code, 'dlt_template_unknown');
      assert.equal((outcome.failed?.error as { retryable: boolean }).retryable, false);
      assert.match(errorOf(outcome)!.message, /1107999999999999999 is not among the account's templates/);
      assert.equal(gateway.sent.length, 0);
      assert.deepEqual(status.last, { fill: 'red', text: 'status.countsDltUnknown {"sent":0,"failed":1}' });
    });

    it('turns the status back from red once a send goes', async () => {
      const c = controller({ dltTemplateId: OTP });
      await sendThrough(c, { phone: ASHA, payload: 'Hello' });
      assert.equal(status.last.fill, 'red');
      await sendThrough(c, { phone: ASHA, payload: 'Your OTP is 1. - ACME' });
      assert.deepEqual(status.last, { fill: 'yellow', text: 'status.counts {"sent":1,"failed":1}' });
    });

    it('sends as before when the account lists no templates', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: '1107999999999999999' }, { templates: [] }), { phone: ASHA, payload: 'anything' });
      assert.ok(outcome.sent);
    });

    it('reports through done(err) when the failure output is not wired, so that a Catch node sees it', async () => {
      const outcome = await sendThrough(controller({ dltTemplateId: OTP }, { wired: false }), { phone: ASHA, payload: 'Hello' });
      assert.ok(outcome.err);
      assert.equal((outcome.err as Error & { code?: string }).code, 'dlt_template_mismatch');
      assert.equal(gateway.sent.length, 0);
    });
  });

  describe('TRAI’s hours', () => {
    it('holds a promotional send at 22:00 IST until 10:00 IST, in the outbox, and says so under the node', async () => {
      at('2026-03-10T22:00:00');
      const outcome = sendThrough(controller({ dltTemplateId: SALE }), { phone: ASHA, payload: 'Sale! 20% off today. - ACME' });
      await settle();
      assert.equal(gateway.sent.length, 0);
      const [entry] = await store.outboxEntries('send-1', 'queued');
      assert.equal(entry.notBefore, ist('2026-03-11T10:00:00'));
      assert.equal(status.last.fill, 'blue');
      assert.equal(status.last.text, 'status.countsHeld {"sent":0,"failed":0,"held":1,"until":"10:00"}');
      await clock!.tickAsync(12 * HOUR - 1);
      await settle();
      assert.equal(gateway.sent.length, 0, 'still held at 09:59:59.999');
      await clock!.tickAsync(1);
      const { sent } = await outcome;
      assert.ok(sent, 'sent at 10:00 IST');
      assert.equal(gateway.sent.length, 1);
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), []);
      assert.deepEqual(status.last, { fill: 'green', text: 'status.counts {"sent":1,"failed":0}' });
    });

    it('says why the last send failed, held ones waiting or not', async () => {
      at('2026-03-10T22:00:00');
      const c = controller();
      void sendThrough(c, { phone: ASHA, payload: 'Sale! 20% off today. - ACME', dltTemplateId: SALE });
      await settle();
      assert.equal(status.last.fill, 'blue');
      await sendThrough(c, { phone: ASHA, payload: 'Hello', dltTemplateId: OTP });
      assert.deepEqual(status.last, { fill: 'red', text: 'status.countsDltMismatch {"sent":0,"failed":1}' });
      c.stop();
    });

    it('holds across midnight: at 23:59 and 00:00 still held, gone at 10:00', async () => {
      at('2026-03-10T23:59:00');
      const outcome = sendThrough(controller({ dltTemplateId: OFFER }), { phone: ASHA, payload: 'Your offer: 2 for 1. - ACME' });
      await settle();
      await clock!.tickAsync(60_000);
      await settle();
      assert.equal(gateway.sent.length, 0, 'midnight passed: still held');
      await clock!.tickAsync(10 * HOUR);
      assert.ok((await outcome).sent);
    });

    it('holds before 10:00 until 10:00 the same day', async () => {
      at('2026-03-11T07:30:00');
      const outcome = sendThrough(controller({ smsType: 'promotional', dltTemplateId: '1107000000000000009' }, { templates: [] }), { phone: ASHA, payload: 'Sale!' });
      await settle();
      const [entry] = await store.outboxEntries('send-1', 'queued');
      assert.equal(entry.notBefore, ist('2026-03-11T10:00:00'), 'by the node’s SMS type');
      await clock!.tickAsync(2.5 * HOUR);
      assert.ok((await outcome).sent);
    });

    it('sends transactional and service-implicit SMS at any hour', async () => {
      at('2026-03-10T23:00:00');
      assert.ok((await sendThrough(controller({ dltTemplateId: OTP }), { phone: ASHA, payload: 'Your OTP is 1. - ACME' })).sent);
      assert.ok((await sendThrough(controller({ dltTemplateId: BANK }), { phone: ASHA, payload: 'OTP 2 for your payment. - ACME' })).sent);
      assert.ok((await sendThrough(controller({ smsType: 'transactional', dltTemplateId: '1107000000000000009' }, { templates: [] }), { phone: ASHA, payload: 'Your parcel is out' })).sent);
      assert.equal(gateway.sent.length, 3);
    });

    it('sends a promotional SMS at once within the hours, also on a node set to fail outside them', async () => {
      at('2026-03-10T20:59:00');
      assert.ok((await sendThrough(controller({ dltTemplateId: SALE }), { phone: ASHA, payload: 'Sale! 5% off today. - ACME' })).sent);
      assert.ok((await sendThrough(controller({ dltTemplateId: SALE, outsideHours: 'fail' }), { phone: ASHA, payload: 'Sale! 6% off today. - ACME' })).sent);
      clock!.setSystemTime(ist('2026-03-11T10:00:00'));
      assert.ok((await sendThrough(controller({ dltTemplateId: SALE, outsideHours: 'fail' }), { phone: ASHA, payload: 'Sale! 7% off today. - ACME' })).sent, 'from 10:00 sharp');
      assert.equal(gateway.sent.length, 3);
      assert.ok(status.shown.every((shown) => shown.fill !== 'blue'), 'never held');
    });

    it('lets an OTP to the same number go while a promotional SMS is held', async () => {
      at('2026-03-10T22:00:00');
      const c = controller({ textType: 'msg', text: 'payload' });
      void sendThrough(c, { phone: ASHA, payload: 'Sale! 20% off today. - ACME', dltTemplateId: SALE });
      await settle();
      const otp = await sendThrough(c, { phone: ASHA, payload: 'Your OTP is 7. - ACME', dltTemplateId: OTP });
      assert.ok(otp.sent);
      assert.deepEqual(gateway.sent.map((r) => r.body), ['Your OTP is 7. - ACME']);
      c.stop();
    });

    it('fails outside_promotional_hours when the node says so, before any request', async () => {
      at('2026-03-10T21:00:00');
      const outcome = await sendThrough(controller({ dltTemplateId: SALE, outsideHours: 'fail' }), { phone: ASHA, payload: 'Sale! 20% off today. - ACME' });
      assert.equal(errorOf(outcome)?.code, 'outside_promotional_hours');
      assert.equal(errorOf(outcome)?.message, 'not sent: a promotional SMS may go only from 10:00 to 21:00 India time (TRAI), and it is 21:00 IST');
      assert.equal(gateway.sent.length, 0);
      assert.deepEqual(await store.outboxEntries('send-1', 'queued'), []);
    });

    it('keeps a held send through a restart: still held after it, sent once at 10:00', async () => {
      at('2026-03-10T22:00:00');
      const first = controller({ dltTemplateId: SALE });
      const handedOn: Outcome[] = [];
      const stopped = sendThrough(first, { phone: ASHA, payload: 'Sale! 20% off today. - ACME' });
      await settle();
      first.stop();
      handedOn.push(await stopped);
      assert.deepEqual(handedOn, [{ sent: null, failed: null, err: undefined }], 'nothing handed on: it stays in the outbox');
      await clock!.tickAsync(HOUR);
      const second = controller({ dltTemplateId: SALE });
      const resumed: Array<[SendMessage | null, SendMessage | null]> = [];
      const resuming = second.resume((pair) => resumed.push(pair as [SendMessage | null, SendMessage | null]));
      await settle();
      assert.equal(gateway.sent.length, 0, 'still held after the restart');
      assert.match(status.last.text, /"held":1/);
      assert.ok(log.lines.some((line) => line.text === 'log.resumeHeld {"count":1}'), 'the log says what waits');
      await clock!.tickAsync(11 * HOUR);
      await resuming;
      assert.equal(gateway.sent.length, 1);
      assert.equal(resumed.length, 1);
      assert.equal(resumed[0][0]?.payload, 'Sale! 20% off today. - ACME');
    });

    it('sends a send held before a restart at once when the restart comes after 10:00', async () => {
      at('2026-03-10T22:00:00');
      const first = controller({ dltTemplateId: SALE });
      const stopped = sendThrough(first, { phone: ASHA, payload: 'Sale! 20% off today. - ACME' });
      await settle();
      first.stop();
      await stopped;
      clock!.setSystemTime(ist('2026-03-11T11:00:00'));
      const shownBefore = status.shown.length;
      log.lines.length = 0;
      await controller({ dltTemplateId: SALE }).resume(() => undefined);
      assert.equal(gateway.sent.length, 1);
      assert.ok(status.shown.slice(shownBefore).every((shown) => shown.fill !== 'blue'), 'not shown as held');
      assert.ok(!log.lines.some((line) => line.text.startsWith('log.resumeHeld')));
    });
  });
});
