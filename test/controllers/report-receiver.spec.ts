// The account's delivery-report endpoint without Node-RED: what Exotel is answered, what is recorded,
// and what reaches the send node, for a report posted, refused, unreadable or not recordable.
import assert from 'node:assert/strict';
import { ReportReceiver, type ReportReceiverDeps } from '../../src/nodes/exotel-account/report-receiver';
import type { DeliveryReport } from '../../src/exotel/report';
import { BodyError } from '../../src/exotel/request-body';
import type { SendLogEntry } from '../../src/store';
import type { InboundCall, Reply } from '../../src/nodes/exotel-inbound/controller';
import { LogRecorder, translate } from './fakes';

const TOKEN = 's3cret-token-0123456789';
const NOW = new Date('2026-11-28T06:00:00.000Z');

describe('exotel-account: the delivery-report endpoint', () => {
  let log: LogRecorder;
  let recorded: DeliveryReport[];
  let handed: Array<[string, string]>;
  let events: string[];
  /** what the store says of the next report: new or a repeat, and the send it belongs to */
  let answer: { isNew: boolean; entry: SendLogEntry | null } | Error;

  const entry = { nodeId: 'send-7', customField: 'cf-1', sid: 'SM1' } as SendLogEntry;

  beforeEach(() => {
    log = new LogRecorder();
    recorded = [];
    handed = [];
    events = [];
    answer = { isNew: true, entry };
  });

  function receiver(account: Partial<ReportReceiverDeps['account']> = {}) {
    return new ReportReceiver({
      account: { checkWebhookToken: (given) => given(TOKEN), defaultCountry: 'IN', redact: (t) => t.replaceAll('hunter2', '***'), ...account },
      store: {
        recordDeliveryReport: async (report) => {
          recorded.push(report);
          if (answer instanceof Error) throw answer;
          return answer;
        },
        recordedReports: async () => [],
      },
      handOn: (nodeId, record) => {
        events.push('handed');
        handed.push([nodeId, record.report.sid]);
        assert.equal(record.entry, entry);
      },
      translate,
      log,
      now: () => NOW,
    });
  }

  async function post(r: ReportReceiver, call: Partial<InboundCall>): Promise<Reply> {
    let reply: Reply | undefined;
    await r.receive({ method: 'POST', ip: '10.0.0.1', query: `token=${TOKEN}`, contentType: 'application/x-www-form-urlencoded', readBody: async () => ({ body: Buffer.from('SmsSid=SM1&Status=sent') }), ...call }, (given) => {
      events.push('answered');
      reply = given;
    });
    assert.ok(reply, 'always answered');
    return reply;
  }

  it('answers 200 first, then hands a new report of a logged send to the node that sent it', async () => {
    const body = 'SmsSid=SM1&To=09876543210&Status=delivered&DetailedStatusCode=20005&SmsUnits=2&CustomField=cf-1';
    assert.deepEqual(await post(receiver(), { readBody: async () => ({ body: Buffer.from(body) }) }), { status: 200 });
    assert.deepEqual(events, ['answered', 'handed']);
    assert.deepEqual(handed, [['send-7', 'SM1']]);
    assert.deepEqual([recorded[0].to, recorded[0].status, recorded[0].units, recorded[0].customField, recorded[0].receivedAt], ['+919876543210', 'delivered', 2, 'cf-1', NOW.getTime()]);
  });

  it('reads a report sent as a GET from its query, with the account\'s country', async () => {
    const r = receiver({ defaultCountry: 'US' });
    const reply = await post(r, { method: 'GET', query: `token=${TOKEN}&SmsSid=SM2&Status=failed&To=2025550123`, readBody: async () => assert.fail('a GET has no body') });
    assert.deepEqual(reply, { status: 200 });
    assert.deepEqual([recorded[0].sid, recorded[0].status, recorded[0].to], ['SM2', 'failed', '+12025550123']);
  });

  it('reads a body a parser before it turned into JSON as JSON', async () => {
    const reply = await post(receiver(), { readBody: async () => ({ body: Buffer.from(JSON.stringify({ SmsSid: 'SM3', Status: 'sent' })), contentType: 'application/json' }) });
    assert.deepEqual(reply, { status: 200 });
    assert.equal(recorded[0].sid, 'SM3');
  });

  it('records a repeat or a report of a send it does not know, and hands neither on', async () => {
    answer = { isNew: false, entry };
    assert.deepEqual(await post(receiver(), {}), { status: 200 });
    answer = { isNew: true, entry: null };
    assert.deepEqual(await post(receiver(), {}), { status: 200 });
    assert.equal(recorded.length, 2);
    assert.deepEqual(handed, []);
    assert.deepEqual(log.lines, [], 'nothing went wrong');
  });

  it('refuses every report while the account\'s webhook token cannot work, asking for credentials', async () => {
    const reply = await post(receiver({ webhookProblem: 'noToken' }), {});
    assert.deepEqual(reply, { status: 401, error: 'the Exotel account has no webhook token: open the account in Node-RED, press Generate and deploy', challenge: true });
    assert.deepEqual(recorded, []);
  });

  it('answers a body it cannot read with the body\'s own status and reason, and records nothing', async () => {
    const reply = await post(receiver(), { readBody: async () => { throw new BodyError(413, 'the body is larger than 64 KB'); } });
    assert.deepEqual(reply, { status: 413, error: 'the body is larger than 64 KB' });
    assert.deepEqual(recorded, []);
    assert.deepEqual(log.lines, []);
  });

  it('answers 500 to anything unexpected, and logs it without credentials', async () => {
    const reply = await post(receiver(), { readBody: async () => { throw new Error('socket hunter2 closed'); } });
    assert.deepEqual(reply, { status: 500, error: 'internal error' });
    assert.deepEqual(log.lines, [{ level: 'error', text: 'error.report {"message":"socket *** closed"}' }]);
  });

  it('answers 503 and warns, without credentials, when the store cannot record it', async () => {
    answer = new Error('cannot write: password hunter2');
    assert.deepEqual(await post(receiver(), {}), { status: 503, error: 'the report could not be recorded; try again' });
    assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.recordReport {"sid":"SM1","message":"cannot write: password ***"}' }]);
    assert.deepEqual(handed, []);
  });

  it('records and hands on a made-up report of the sandbox once, as Exotel\'s', async () => {
    const r = receiver();
    const report: DeliveryReport = { sid: 'SM9', to: '+919876543210', status: 'sent', delivery: 'delivered', detailedStatus: '', detailedStatusCode: '20005', dateSent: null, units: 1, customField: 'cf-1', receivedAt: 1 };
    await r.simulate(report);
    answer = { isNew: false, entry };
    await r.simulate(report);
    answer = { isNew: true, entry: null };
    await r.simulate(report);
    assert.equal(recorded.length, 3);
    assert.deepEqual(handed, [['send-7', 'SM9']]);
  });
});
