// The operators' view (the SMS tab) without Node-RED, on a real store in memory: what an operator
// sees in each section and what each button does, and the input it refuses.
import assert from 'node:assert/strict';
import { SqliteStore, IN_MEMORY, StoreUnavailableError, type OutboxEntry } from '../../src/store';
import { optOutCsv, numbersOfCsv, parseCsv } from '../../src/plugins/operators/csv';
import { decodeCursor, encodeCursor, OperatorsView, purgeOldLogs, PURGE_BATCH, REQUEUE_TRIES, sendStatus, ViewError, type ViewAccount } from '../../src/plugins/operators/view';

const A = '+919876543210';
const B = '+919876543211';
const HOUR = 3_600_000;

const ACCOUNTS: ViewAccount[] = [
  { id: 'acc-1', name: 'Shop', accountSid: 'shop-sid', mode: 'live', defaultCountry: 'IN' },
  { id: 'acc-2', name: 'Clinic', accountSid: 'clinic-sid', mode: 'live', defaultCountry: 'IN' },
];

async function rejects(promise: Promise<unknown>, status: number, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ViewError, String(err));
    assert.equal(err.status, status, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("the operators' view", () => {
  let store: SqliteStore;
  let view: OperatorsView;
  let resent: OutboxEntry[];
  let deployed: Set<string>;

  beforeEach(() => {
    store = new SqliteStore(IN_MEMORY);
    resent = [];
    deployed = new Set(['send-1']);
    view = new OperatorsView({
      store,
      accounts: () => ACCOUNTS,
      sendNode: (id) => (deployed.has(id) ? { name: `node ${id}` } : null),
      resend: (entry) => resent.push(entry),
    });
  });
  afterEach(() => store.close());

  const setTime = (table: string, column: string, at: number, where: string) => store.db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where}`).run(at);
  async function received(sid: string, from: string, body: string, at: number, accountSid = 'shop-sid'): Promise<void> {
    await store.recordInbound({ sid, endpoint: '/sms', from, to: '+918000000000', body, receivedAt: '', accountSid });
    setTime('inbound', 'recorded_at', at, `sid = '${sid}'`);
  }
  async function sent(customField: string, phone: string, body: string, at: number, account = 'acc-1'): Promise<void> {
    await store.logSendStart({ customField, nodeId: 'send-1', account, phone, body, templateId: null, message: {} });
    setTime('send_log', 'created_at', at, `custom_field = '${customField}'`);
  }

  describe('the log', () => {
    it('shows what came in and what went out, newest first, with their statuses, and pages on without a gap or a repeat', async () => {
      await received('in-1', A, 'YES', 1_000);
      await sent('cf-1', A, 'Thanks!', 1_000);
      await received('in-2', A, 'STOP', 2_000);
      await sent('cf-2', A, 'You will get no more SMS', 3_000);
      await store.logSendAccepted('cf-1', 'sid-1', 'queued', 1);
      await store.markInboundHandled(['in-1']);
      const first = await view.log({ limit: '2' });
      assert.deepEqual(first.items.map((l) => `${l.direction} ${l.body} ${l.status}`), ['out You will get no more SMS sending', 'in STOP received']);
      assert.ok(first.next);
      const second = await view.log({ limit: '2', after: first.next });
      assert.deepEqual(second.items.map((l) => `${l.direction} ${l.body} ${l.status}`), ['out Thanks! sent', 'in YES received'], 'the same millisecond: out first');
      assert.equal(second.next, null);
      assert.deepEqual([second.items[0].account, second.items[0].node, second.items[1].account], ['Shop', { id: 'send-1', name: 'node send-1' }, 'Shop']);
    });

    it('takes a number typed any way for that customer, other text for a search, and filters by direction, time and account', async () => {
      await received('in-1', A, 'hello', 1_000);
      await received('in-2', B, 'order 98765', 2_000, 'clinic-sid');
      await sent('cf-1', B, 'Your order', 3_000, 'acc-2');
      const bodies = async (query: Record<string, unknown>) => (await view.log(query)).items.map((l) => l.body);
      assert.deepEqual(await bodies({ q: '98765 43210' }), ['hello'], 'a number written as people write it');
      assert.deepEqual(await bodies({ q: '098765 43211' }), ['Your order', 'order 98765']);
      assert.deepEqual(await bodies({ q: '98765' }), ['Your order', 'order 98765', 'hello'], 'digits alone search texts and numbers');
      assert.deepEqual(await bodies({ q: '43210' }), ['hello'], 'the end of a number');
      assert.deepEqual(await bodies({ q: 'ORDER', direction: 'in' }), ['order 98765']);
      assert.deepEqual(await bodies({ direction: 'out' }), ['Your order']);
      assert.deepEqual(await bodies({ since: '1500', until: '3000' }), ['order 98765']);
      assert.deepEqual(await bodies({ account: 'acc-2' }), ['Your order', 'order 98765']);
      assert.deepEqual(await bodies({ phone: A }), ['hello']);
    });

    it('shows a refused callback as rejected, with its reason, among the SMS received and sent, and pages on through lines of one millisecond', async () => {
      const refused = (at: number, extra: Record<string, unknown> = {}) =>
        store.logRefusal({
          endpoint: '/sms', accountSid: 'shop-sid', at, status: 401, code: 'bad_token', reason: 'the webhook token is missing or wrong',
          from: A, body: 'STOP', sid: 'forged', remote: '203.0.113.9', dropped: 0, ...extra,
        });
      await received('in-1', A, 'YES', 1_000);
      await sent('cf-1', A, 'Thanks!', 1_000);
      await refused(1_000);
      await refused(1_000, { from: null, body: null, sid: null, code: 'too_large', status: 413, reason: 'the body is larger than 64 KB', dropped: 41 });
      await received('in-2', B, 'hello', 2_000, 'clinic-sid');
      await refused(500, { from: B, body: 'Hi', accountSid: 'clinic-sid' });
      const all = await view.log({});
      const seen = (lines: typeof all.items) => lines.map((l) => `${l.at} ${l.direction} ${l.status} ${l.body}`);
      assert.deepEqual(seen(all.items), ['2000 in received hello', '1000 out sending Thanks!', '1000 in received YES', '1000 in rejected ', '1000 in rejected STOP', '500 in rejected Hi']);
      const [flood, forged] = all.items.slice(3, 5);
      assert.deepEqual(
        { ...forged, id: '' },
        {
          direction: 'in', id: '', sid: 'forged', at: 1_000, phone: A, body: 'STOP', status: 'rejected',
          reason: { code: 'bad_token', message: 'the webhook token is missing or wrong', httpStatus: 401 }, duplicates: 0, dropped: 0, remote: '203.0.113.9',
          account: 'Shop', node: null,
        },
      );
      assert.deepEqual([flood.phone, flood.dropped, flood.reason?.code], ['', 41, 'too_large']);
      for (const size of [1, 2, 4]) {
        const pages: string[] = [];
        let after: string | null | undefined;
        do {
          const page = await view.log({ limit: String(size), after: after ?? undefined });
          pages.push(...seen(page.items));
          after = page.next;
        } while (after);
        assert.deepEqual(pages, seen(all.items), `pages of ${size}: every line once, in order`);
      }
      const bodies = async (query: Record<string, unknown>) => (await view.log(query)).items.map((l) => `${l.status} ${l.body}`);
      assert.deepEqual(await bodies({ q: '98765 43211' }), ['received hello', 'rejected Hi'], "a customer's refused callbacks are on their page");
      assert.deepEqual(await bodies({ q: 'LARGER than' }), ['rejected '], 'found by the reason');
      assert.deepEqual(await bodies({ direction: 'out' }), ['sending Thanks!']);
      assert.deepEqual(await bodies({ account: 'acc-2' }), ['received hello', 'rejected Hi']);
      assert.deepEqual(await bodies({ until: '1000' }), ['rejected Hi']);
      await rejects(view.log({ after: encodeCursor([1, 'sideways', 'x']) }), 400, /cursor/);
    });

    it('says why a send failed: the send node\'s error, or the delivery report', () => {
      const entry = { state: 'sent', delivery: null, error: null, exotelStatus: 'sent', detail: null, code: null } as unknown as Parameters<typeof sendStatus>[0];
      assert.deepEqual(sendStatus(entry), { status: 'sent', reason: null });
      assert.deepEqual(sendStatus({ ...entry, delivery: 'delivered' }), { status: 'delivered', reason: null });
      assert.deepEqual(sendStatus({ ...entry, delivery: 'failed', exotelStatus: 'failed_dnd', detail: 'FAILED_DND', code: '21004' }), { status: 'failed', reason: { code: 'failed_dnd', message: 'FAILED_DND 21004' } });
      assert.deepEqual(sendStatus({ ...entry, state: 'failed', error: { code: 'opted_out', message: 'opted out' } }), { status: 'failed', reason: { code: 'opted_out', message: 'opted out' } });
      assert.deepEqual(sendStatus({ ...entry, state: 'sending' }), { status: 'sending', reason: null });
    });

    it('refuses what it cannot read: a limit, a direction, a cursor not its own, an unknown account', async () => {
      await rejects(view.log({ limit: '0' }), 400, /limit/);
      await rejects(view.log({ limit: '500' }), 400, /limit/);
      await rejects(view.log({ direction: 'sideways' }), 400, /direction/);
      await rejects(view.log({ after: 'bm90IG91cnM' }), 400, /cursor/);
      await rejects(view.log({ after: encodeCursor([1, 'in']) }), 400, /cursor/);
      await rejects(view.log({ since: '-5' }), 400, /since/);
      await rejects(view.log({ account: 'nobody' }), 404);
      await rejects(view.log({ q: ['a', 'b'] }), 400);
      assert.deepEqual(decodeCursor(encodeCursor([5, 'in', 'x']), 'nss'), [5, 'in', 'x']);
    });
  });

  describe('opt-outs', () => {
    it('opts a number out and in by hand, as manual, with who did it, and shows its history newest first', async () => {
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
      const record = await view.setOptStatus({ phone: '98765 43210', status: 'opted-in' }, 'alice');
      assert.deepEqual([record.phone, record.status, record.source], [A, 'opted-in', 'manual']);
      const { history } = await view.optOutHistory('+91 98765 43210');
      assert.deepEqual(history.map((h) => [h.status, h.source, h.by, h.keyword]), [['opted-in', 'manual', 'alice', null], ['opted-out', 'sms-1', null, 'STOP']]);
      await rejects(view.setOptStatus({ phone: A, status: 'maybe' }, null), 400, /status/);
      await rejects(view.setOptStatus({ phone: 'call me', status: 'opted-out' }, null), 400, /phone/);
    });

    it('lists the opted-out numbers, finds them by digits typed with spaces, and pages', async () => {
      for (let i = 0; i < 5; i++) await store.setOptStatus({ phone: `+91987654320${i}`, status: 'opted-out', source: 'manual' });
      await store.setOptStatus({ phone: B, status: 'opted-in', source: 'manual' });
      const first = await view.optOuts({ limit: '3' });
      const second = await view.optOuts({ limit: '3', after: first.next });
      assert.equal(first.items.length + second.items.length, 5);
      assert.equal(second.next, null);
      assert.ok(first.items.concat(second.items).every((r) => r.status === 'opted-out'));
      assert.deepEqual((await view.optOuts({ q: '4320 3' })).items.map((r) => r.phone), ['+919876543203']);
      assert.deepEqual((await view.optOuts({ status: 'opted-in' })).items.map((r) => r.phone), [B]);
      await rejects(view.optOuts({ status: 'gone' }), 400);
    });

    it('exports a CSV a spreadsheet opens, and imports one back, saying which rows it refused', async () => {
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP, please', source: 'sms-1' });
      await store.setOptStatus({ phone: B, status: 'opted-in', keyword: '=HYPERLINK("x")', source: 'sms-2' });
      const csv = await view.optOutCsv();
      const rows = parseCsv(csv);
      assert.deepEqual(rows[0], ['phone', 'status', 'keyword', 'source', 'changed_at']);
      assert.deepEqual(rows.slice(1).map((r) => r.slice(0, 4)), [[A, 'opted-out', 'STOP, please', 'sms-1'], [B, 'opted-in', `'=HYPERLINK("x")`, 'sms-2']]);
      assert.match(rows[1][4], /^\d{4}-\d\d-\d\dT/);

      const result = await view.importOptOuts('\uFEFFname,Phone,Status\r\nAsha,"+91 98765 43212",opted-out\nRavi,09876543213,\nX,not a number,\nY,+919876543214,maybe\n\n', undefined, 'bob');
      assert.deepEqual(result, { changed: 2, unchanged: 0, refused: [{ line: 4, value: 'not a number', why: 'number' }, { line: 5, value: 'maybe', why: 'status' }], refusedCount: 2 });
      assert.equal(await store.isOptedOut('+919876543212'), true);
      assert.equal(await store.isOptedOut('+919876543213'), true, 'no status: the one asked for');
      assert.deepEqual((await store.optOutHistory('+919876543213')).map((h) => [h.source, h.by]), [['import', 'bob']]);
      const back = await view.importOptOuts(csv, 'opted-out', null);
      assert.deepEqual([back.changed, back.unchanged], [0, 2], 'an export imports back as it was');
      const optIn = await view.importOptOuts('+919876543212\n', 'opted-in', null);
      assert.equal(optIn.changed, 1);
      await rejects(view.importOptOuts('', undefined, null), 400, /empty/);
      await rejects(view.importOptOuts('phone\n', undefined, null), 400, /no number/);
      await rejects(view.importOptOuts('+919876543212', 'later', null), 400, /status/);
    });

    it('reads a CSV as Excel and people write it', () => {
      assert.deepEqual(parseCsv('a,"b ""quoted"", c"\r\n1;2\t3'), [['a', 'b "quoted", c'], ['1', '2', '3']]);
      const numbers = numbersOfCsv('+919876543210\n+919876543211', 'opted-in');
      assert.deepEqual([...numbers.byStatus.get('opted-in')!].map((r) => r.line), [1, 2], 'no header: the first row is a number');
      assert.equal(optOutCsv([]), 'phone,status,keyword,source,changed_at\r\n');
    });
  });

  describe('conversations', () => {
    it('shows the active ones with age, data and time to timeout, and ends one by hand', async () => {
      let now = 0;
      view = new OperatorsView({ store, accounts: () => ACCOUNTS, sendNode: () => null, resend: () => undefined, now: () => now });
      await store.startConversation({ name: 'survey', key: A, step: 'q1', data: { rating: 5 }, maxAgeMs: HOUR, timeoutMs: 60_000 });
      await store.startConversation({ name: 'order', key: B, step: 'ask', data: {}, maxAgeMs: HOUR });
      now = Date.now() + 1_000; // the tab is looked at a second after both started
      const page = await view.conversations({});
      const survey = page.items.find((c) => c.name === 'survey')!;
      assert.deepEqual([survey.key, survey.step, survey.data], [A, 'q1', { rating: 5 }]);
      assert.ok(survey.ageMs >= 1_000 && survey.ageMs < 5_000, String(survey.ageMs));
      assert.ok(survey.timeoutInMs! > 50_000 && survey.timeoutInMs! <= 59_000, String(survey.timeoutInMs));
      assert.equal(page.items.find((c) => c.name === 'order')!.timeoutInMs, null);
      assert.ok(!('code' in survey));
      assert.deepEqual((await view.conversations({ name: 'order' })).items.map((c) => c.key), [B]);
      const ended = await view.endConversation({ name: 'survey', key: A });
      assert.equal(ended.step, 'q1');
      assert.equal(await store.getConversation('survey', A), null);
      await rejects(view.endConversation({ name: 'survey', key: A }), 404);
      await rejects(view.endConversation({ name: 'survey' }), 400);
    });
  });

  describe('the outbox', () => {
    async function failed(nodeId: string, body: string, error: object = { code: 'server_error', message: 'Exotel had an error' }): Promise<number> {
      const id = (await store.addToOutbox({ nodeId, phone: A, request: { to: A, body }, message: { payload: body }, claimKey: null, confirmation: false }))!;
      await store.failOutboxEntry(id, 3, error);
      return id;
    }

    it('lists sends with their reason, and sends a failed one again through its own node', async () => {
      const id = await failed('send-1', 'Your order shipped', { code: 'timeout', message: 'no answer', maybeSent: true });
      await failed('send-1', 'Exotel said no', { code: 50000, message: 'Exotel: mock error 500', httpStatus: 500 });
      const [exotel, line] = (await view.outbox({ state: 'failed' })).items;
      assert.deepEqual(exotel.reason, { code: '50000', message: 'Exotel: mock error 500', httpStatus: 500 }, "Exotel's own code, and its HTTP status");
      assert.deepEqual([line.id, line.body, line.state, line.attempts, line.reason, line.maybeSent, line.holdsCode, line.node], [
        id, 'Your order shipped', 'failed', 3, { code: 'timeout', message: 'no answer' }, true, false, { id: 'send-1', name: 'node send-1', deployed: true },
      ]);
      const again = await view.retry(String(id));
      assert.deepEqual([again.state, again.attempts, again.reason], ['queued', 0, null]);
      assert.deepEqual(resent.map((e) => [e.id, e.state]), [[id, 'queued']]);
      await rejects(view.retry(String(id)), 409, /only a failed send/);
    });

    it('does not send again what it cannot: a masked one-time code, a node no longer deployed, an unknown id', async () => {
      const code = await failed('send-1', 'Your code is ••••');
      await rejects(view.retry(String(code)), 409, /one-time code/);
      const gone = await failed('send-9', 'Hello');
      await rejects(view.retry(String(gone)), 409, /no longer deployed/);
      await rejects(view.retry('12345'), 404);
      await rejects(view.retry('abc'), 400);
      assert.deepEqual(resent, []);
      assert.equal((await store.outboxEntry(gone))?.state, 'failed', 'left as it was');
    });

    it('shows a send held for TRAI\'s hours as held, until when', async () => {
      const later = Date.now() + 3 * HOUR;
      await store.addToOutbox({ nodeId: 'send-1', phone: A, request: { to: A, body: 'Sale!' }, message: null, claimKey: null, confirmation: false, notBefore: later });
      await store.addToOutbox({ nodeId: 'send-1', phone: B, request: { to: B, body: 'Now' }, message: null, claimKey: null, confirmation: false });
      const lines = (await view.outbox({})).items;
      assert.deepEqual(lines.map((line) => [line.body, line.state, line.heldUntil]), [['Now', 'queued', null], ['Sale!', 'held', later]]);
    });

    describe('"send again" whose answer the database lost after it committed', () => {
      // PostgreSQL queues the entry again, then the connection drops before its answer arrives: the
      // entry is no longer failed, and nothing hands it to its send node unless the request finds it.
      /** the store: the first requeue commits and its answer is lost; then `down` more calls fail without reaching it */
      function losingAnswer(down: number) {
        const lossy = Object.create(store) as SqliteStore;
        let calls = 0;
        lossy.requeueOutboxEntry = async (id, attempt) => {
          calls++;
          if (calls > 1 && calls <= 1 + down) throw new StoreUnavailableError(new Error('ECONNREFUSED'));
          const queued = await store.requeueOutboxEntry(id, attempt);
          if (calls === 1) throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
          return queued;
        };
        return new OperatorsView({ store: lossy, accounts: () => ACCOUNTS, sendNode: (id) => (deployed.has(id) ? { name: `node ${id}` } : null), resend: (entry) => resent.push(entry), storeRetryMs: 1 });
      }

      it('the request asks again with its key, and is answered the entry it queued: sent once', async () => {
        const id = await failed('send-1', 'Your order shipped');
        const again = await losingAnswer(0).retry(String(id));
        assert.deepEqual([again.id, again.state, again.attempts], [id, 'queued', 0]);
        assert.deepEqual(resent.map((e) => [e.id, e.state]), [[id, 'queued']]);
      });

      it('an outage longer than the request: 503, and the operator\'s next "send again" is answered the entry, once', async () => {
        const id = await failed('send-1', 'Your order shipped');
        const lossy = losingAnswer(REQUEUE_TRIES - 1);
        await assert.rejects(lossy.retry(String(id)), { code: 'store_unavailable' });
        assert.equal(resent.length, 0);
        assert.equal((await store.outboxEntry(id))?.state, 'queued', 'queued all the same, with nobody to send it');
        const again = await lossy.retry(String(id));
        assert.deepEqual([again.id, again.state], [id, 'queued']);
        assert.deepEqual(resent.map((e) => e.id), [id]);
        await rejects(view.retry(String(id)), 409, /only a failed send/);
        await rejects(lossy.retry(String(id)), 409, /only a failed send/);
        assert.equal(resent.length, 1, 'once');
      });
    });

    it('discards a failed send, and nothing else', async () => {
      const id = await failed('send-1', 'Hello');
      const queued = (await store.addToOutbox({ nodeId: 'send-1', phone: B, request: {}, message: null, claimKey: null, confirmation: false }))!;
      await view.discard(String(id));
      assert.equal(await store.outboxEntry(id), null);
      await rejects(view.discard(String(queued)), 409);
      await rejects(view.discard(String(id)), 404);
    });
  });

  describe('at a glance', () => {
    it("counts today's SMS in and out, per hour and per account, with the opt-outs, conversations and outbox", async () => {
      const now = Date.now();
      const hourStart = now - (now % HOUR);
      const start = hourStart - 23 * HOUR;
      await received('in-now', A, 'hi', now - 10);
      await received('in-hour-ago', A, 'hi', hourStart - 10, 'clinic-sid');
      await sent('cf-now', A, 'hello', now - 5);
      await store.logSendAccepted('cf-now', 'sid-now', 'queued', 1);
      await store.recordDeliveryReport({ sid: 'sid-now', to: A, status: 'sent', delivery: 'delivered', detailedStatus: 'DELIVERED_TO_HANDSET', detailedStatusCode: '20005', dateSent: null, units: 1, customField: '', receivedAt: now });
      await sent('cf-failed', B, 'hello', now - 5, 'acc-2');
      await store.logSendFailed('cf-failed', { code: 'timeout' });
      await store.setOptStatus({ phone: B, status: 'opted-out', source: 'manual' });
      await store.startConversation({ name: 'survey', key: A, step: 'q1', data: {}, maxAgeMs: HOUR });
      const glance = await view.glance({ day: String(hourStart - 2 * HOUR), start: String(start) });
      assert.deepEqual(glance.today, { received: 2, sent: 1, delivered: 1, failed: 1 });
      assert.equal(glance.hours.received.length, 24);
      assert.deepEqual([glance.hours.received.at(-1), glance.hours.received.at(-2), glance.hours.sent.at(-1), glance.hours.failed.at(-1)], [1, 1, 1, 1]);
      assert.deepEqual([glance.optedOut, glance.activeConversations, glance.outbox], [1, 1, { queued: 0, sending: 0, failed: 0 }]);
      const clinic = await view.glance({ day: String(hourStart - 2 * HOUR), start: String(start), account: 'acc-2' });
      assert.deepEqual(clinic.today, { received: 1, sent: 0, delivered: 0, failed: 1 });
      await rejects(view.glance({ day: String(now + HOUR) }), 400, /day/);
      await rejects(view.glance({ start: String(now - 40 * HOUR) }), 400, /start/);
    });
  });

  describe("a customer's data request", () => {
    it('exports everything held about the number, then erases it but for the opt-out', async () => {
      await received('in-1', A, 'STOP', 1_000);
      await store.setOptStatus({ phone: A, status: 'opted-out', keyword: 'STOP', source: 'in-1' });
      await sent('cf-1', A, 'Bye', 2_000);
      const data = await view.numberData('98765 43210');
      assert.deepEqual([data.phone, data.inbound.length, data.sent.length, data.optOut?.status], [A, 1, 1, 'opted-out']);
      assert.match(data.exportedAt, /^\d{4}-/);
      const erased = await view.eraseNumber(A);
      assert.deepEqual(erased, { phone: A, inbound: 1, conversations: 0, outbox: 0, sandbox: 0, sent: 1, refused: 0, other: 0 });
      assert.equal(await store.isOptedOut(A), true);
      assert.deepEqual((await view.log({ q: A })).items, []);
      await rejects(view.eraseNumber('nobody'), 400);
    });
  });

  describe('retention', () => {
    it('purges the inbound log and the refused callbacks a batch at a time until nothing old is left', async () => {
      const calls: string[] = [];
      const left = { inbound: PURGE_BATCH * 2 + 3, refused: PURGE_BATCH };
      let pauses = 0;
      const batch = (kind: 'inbound' | 'refused') => async (before: number, limit: number) => {
        calls.push(`${kind} ${before}`);
        const purged = Math.min(limit, left[kind]);
        left[kind] -= purged;
        return purged;
      };
      const purged = await purgeOldLogs({ purgeInboundLog: batch('inbound'), purgeRefusals: batch('refused') }, 123, async () => void pauses++);
      assert.deepEqual(purged, { inbound: PURGE_BATCH * 2 + 3, refused: PURGE_BATCH });
      assert.deepEqual(calls, ['inbound 123', 'inbound 123', 'inbound 123', 'refused 123', 'refused 123']);
      assert.equal(pauses, 3, 'the event loop breathes between batches');
    });
  });
});
