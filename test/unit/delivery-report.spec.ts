import assert from 'node:assert/strict';
import { DETAILED_STATUS_CODES, deliveryOf, deliveryReason, normaliseStatus } from '../../src/exotel/delivery-codes';
import { deliveryInfo, parseReport, type ReportParse } from '../../src/exotel/report';
import type { WebhookRequest } from '../../src/exotel/webhook';

const NOW = new Date('2026-11-28T06:00:00Z');
const form = (fields: Record<string, string>, query = ''): WebhookRequest => ({ method: 'POST', contentType: 'application/x-www-form-urlencoded', query, rawBody: Buffer.from(new URLSearchParams(fields).toString()) });
const json = (fields: Record<string, unknown>): WebhookRequest => ({ method: 'POST', contentType: 'application/json', query: '', rawBody: Buffer.from(JSON.stringify(fields)) });

function reportOf(result: ReportParse) {
  if (result.ok !== true) assert.fail(`refused: ${JSON.stringify(result)}`);
  return result.report;
}

describe('delivery report parsing', function () {
  const fields = {
    SmsSid: 'b6c6a98f32682862ce6edf1bdab3526', To: '09876543210', Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET',
    DetailedStatusCode: '20005', DateSent: '2026-11-28 11:30:05', SmsUnits: '2', CustomField: 'smsflow.0123456789abcdef',
  };
  const expected = {
    sid: 'b6c6a98f32682862ce6edf1bdab3526', to: '+919876543210', status: 'sent', delivery: 'delivered', detailedStatus: 'DELIVERED_TO_HANDSET',
    detailedStatusCode: '20005', dateSent: '2026-11-28T06:00:05.000Z', units: 2, customField: 'smsflow.0123456789abcdef', receivedAt: NOW.getTime(),
  };

  it('reads Exotel\'s form fields: the number in E.164, DateSent in Indian time, units as a number', function () {
    assert.deepEqual(parseReport(form(fields), 'IN', NOW), { ok: true, report: expected });
  });

  it('reads the same fields as JSON, numbers as numbers, and ignores the token and fields it does not know', function () {
    const result = parseReport({ ...json({ ...fields, SmsUnits: 2, DetailedStatusCode: 20005, AccountSid: 'x', Price: '0.2' }), query: 'token=secret' }, 'IN', NOW);
    assert.deepEqual(result, { ok: true, report: expected });
  });

  it('takes failed-dnd as failed_dnd and any case of a status; the newer API\'s statuses too', function () {
    assert.deepEqual([reportOf(parseReport(form({ ...fields, Status: 'failed-dnd' }), 'IN', NOW)).status, reportOf(parseReport(form({ ...fields, Status: ' FAILED_DND ' }), 'IN', NOW)).status], ['failed_dnd', 'failed_dnd']);
    const delivered = reportOf(parseReport(form({ ...fields, Status: 'delivered' }), 'IN', NOW));
    assert.equal(delivered.delivery, 'delivered');
    assert.equal(reportOf(parseReport(form({ ...fields, Status: 'expired' }), 'IN', NOW)).delivery, 'failed');
  });

  it('leaves what is missing empty or null, and takes the time it arrived when DateSent is missing', function () {
    const report = reportOf(parseReport(form({ SmsSid: 'abc', Status: 'submitted' }), 'IN', NOW));
    assert.deepEqual(report, { sid: 'abc', to: '', status: 'submitted', delivery: 'pending', detailedStatus: '', detailedStatusCode: '', dateSent: null, units: null, customField: '', receivedAt: NOW.getTime() });
    assert.equal(reportOf(parseReport(form({ ...fields, SmsUnits: 'two' }), 'IN', NOW)).units, null);
  });

  it('refuses a report without SmsSid or Status, or with a status Exotel never sends, saying why', function () {
    const { SmsSid: _sid, ...noSid } = fields;
    const { Status: _status, ...noStatus } = fields;
    assert.deepEqual(parseReport(form(noSid), 'IN', NOW), { ok: false, status: 400, reason: 'SmsSid is missing' });
    assert.deepEqual(parseReport(form(noStatus), 'IN', NOW), { ok: false, status: 400, reason: 'Status is missing' });
    const odd = parseReport(form({ ...fields, Status: 'lost' }), 'IN', NOW);
    assert.equal(odd.ok, false);
    assert.match((odd as { reason: string }).reason, /^Status "lost" is not one of queued, sending, submitted, sent, delivered, failed, failed_dnd, undelivered, expired$/);
    assert.deepEqual(parseReport(form({ ...fields, SmsSid: 'a\nb' }), 'IN', NOW), { ok: false, status: 400, reason: 'SmsSid is not a valid identifier' });
  });

  it('refuses a broken body, a field too long, a field shape Exotel never sends, and other content types', function () {
    assert.deepEqual(parseReport({ method: 'POST', contentType: 'application/json', query: '', rawBody: Buffer.from('{"SmsSid":') }, 'IN', NOW), { ok: false, status: 400, reason: 'the body is not valid JSON' });
    assert.equal((parseReport(form({ ...fields, CustomField: 'x'.repeat(257) }), 'IN', NOW) as { status: number }).status, 400);
    assert.equal((parseReport(json({ ...fields, Status: ['sent'] }), 'IN', NOW) as { status: number }).status, 400);
    assert.equal((parseReport({ method: 'POST', contentType: 'application/xml', query: '', rawBody: Buffer.from('<x/>') }, 'IN', NOW) as { status: number }).status, 415);
  });
});

describe('msg.delivery and the detailed status codes', function () {
  const report = reportOf(parseReport(form({ SmsSid: 's1', To: '+919876543210', Status: 'failed', DetailedStatus: 'DLT_TEMPLATE_DOES_NOT_MATCH', DetailedStatusCode: '23185', SmsUnits: '1', DateSent: '2026-11-28 11:30:05' }), 'IN', NOW));

  it('hands on the status, Exotel\'s words, the code as a number and a readable reason', function () {
    assert.deepEqual(deliveryInfo(report), {
      status: 'failed', exotelStatus: 'failed', code: 23185, detail: 'DLT_TEMPLATE_DOES_NOT_MATCH',
      reason: 'Not delivered: the text does not match its registered DLT template.', sid: 's1', units: 1, at: '2026-11-28T06:00:05.000Z',
    });
    assert.deepEqual([deliveryInfo({ ...report, detailedStatusCode: '' }).code, deliveryInfo({ ...report, detailedStatusCode: 'X1' }).code], [null, 'X1']);
    assert.equal(deliveryInfo({ ...report, dateSent: null }).at, NOW.toISOString());
  });

  it('explains DND, the DLT template errors, invalid and unavailable numbers, spam and operator errors', function () {
    const reasons = ['23005', '23181', '23182', '23183', '23185', '24120', '23035', '23015', '24110'].map((code) => deliveryReason('failed', code, ''));
    assert.deepEqual(reasons.map((r) => /DND|DLT template id is invalid|not registered|inactive|does not match|invalid, inactive|unavailable|spam|operator/.test(r)), reasons.map(() => true));
    for (const [code, { name, reason }] of Object.entries(DETAILED_STATUS_CODES)) {
      assert.equal(deliveryReason('failed', '', name), reason, `${code} found by its name`);
      assert.match(reason, code.startsWith('2000') ? /^Delivered/ : code.startsWith('210') ? /^On its way/ : /^Not delivered: /, code);
    }
  });

  it('falls back on the status when the code is not known', function () {
    assert.equal(deliveryReason('failed_dnd', '', ''), DETAILED_STATUS_CODES['23005'].reason);
    assert.equal(deliveryReason('sent', '', ''), 'Delivered.');
    assert.equal(deliveryReason('submitted', '99', 'QUEUED_AT_GATEWAY'), 'On its way: Exotel has it as submitted (QUEUED_AT_GATEWAY).');
    assert.equal(deliveryReason('failed', '29999', 'SOMETHING_NEW'), 'Not delivered: Exotel gave no known reason (SOMETHING_NEW).');
    assert.equal(deliveryReason('expired', '', ''), 'Not delivered: it expired before the phone could take it.');
  });

  it('maps each status to delivered, failed or pending, and refuses others', function () {
    assert.deepEqual(['queued', 'sending', 'submitted', 'sent', 'failed', 'failed_dnd'].map(deliveryOf), ['pending', 'pending', 'pending', 'delivered', 'failed', 'failed']);
    assert.deepEqual([normaliseStatus('Failed-DND'), normaliseStatus('bounced'), normaliseStatus('constructor')], ['failed_dnd', null, null]);
  });
});
