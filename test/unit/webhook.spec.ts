import assert from 'node:assert/strict';
import { parseInbound, parseExotelDate, type ParseResult, type WebhookRequest } from '../../src/exotel/webhook';

const NOW = new Date('2025-02-01T00:00:00Z');
type Fields = Record<string, string>;
const form = (fields: Fields): WebhookRequest => ({ method: 'POST', contentType: 'application/x-www-form-urlencoded', query: '', rawBody: Buffer.from(new URLSearchParams(fields).toString()) });
const json = (fields: Record<string, unknown>): WebhookRequest => ({ method: 'POST', contentType: 'application/json', query: '', rawBody: Buffer.from(JSON.stringify(fields)) });
const get = (fields: Fields): WebhookRequest => ({ method: 'GET', contentType: undefined, query: new URLSearchParams(fields).toString(), rawBody: undefined });

/** The SMS of a result that must be a success. */
function smsOf(result: ParseResult) {
  if (result.ok !== true) assert.fail(`refused: ${JSON.stringify(result)}`);
  return result.sms;
}

describe('inbound webhook parsing', function () {
  const shape1 = { SmsSid: 'inb_sms_abc123', From: '+919876543210', To: '+911140123456', Body: 'YES', DateCreated: '2025-01-15T10:30:00+05:30', AccountSid: 'acct1' };
  const expected1 = { sid: 'inb_sms_abc123', from: '+919876543210', to: '+911140123456', body: 'YES', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: 'acct1' };

  it('shape 1 as a form POST', function () {
    assert.deepEqual(parseInbound(form(shape1), 'IN', NOW), { ok: true, sms: expected1 });
  });
  it('shape 1 as JSON', function () {
    assert.deepEqual(parseInbound(json(shape1), 'IN', NOW), { ok: true, sms: expected1 });
  });
  it('shape 1 as a GET query', function () {
    assert.deepEqual(parseInbound(get(shape1), 'IN', NOW), { ok: true, sms: expected1 });
  });
  it('shape 1 with a 0-prefixed sender and no content type', function () {
    const req = form({ ...shape1, From: '09876543210' });
    req.contentType = undefined;
    assert.deepEqual(parseInbound(req, 'IN', NOW), { ok: true, sms: expected1 });
  });
  it('shape 2: Sender, ReceivedOn, MessageBody, ReceivedTime (JSON)', function () {
    const result = parseInbound(json({ SmsSid: 's2', Direction: 'incoming', Sender: '09876543210', ReceivedOn: '08047123456', MessageBody: 'STOP', ReceivedTime: '2025-01-15 10:30:00' }), 'IN', NOW);
    assert.deepEqual(result, { ok: true, sms: { sid: 's2', from: '+919876543210', to: '+918047123456', body: 'STOP', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: '' } });
  });
  it('shape 3: the legacy applet GET with Date', function () {
    const result = parseInbound(get({ SmsSid: 's3', From: '919876543210', To: '01140123456', Date: '2025-01-15 10:30:00', Body: 'HELP' }), 'IN', NOW);
    assert.deepEqual(result, { ok: true, sms: { sid: 's3', from: '+919876543210', to: '+911140123456', body: 'HELP', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: '' } });
  });
  it('a JSON body sent as text/plain', function () {
    const req = json(shape1);
    req.contentType = 'text/plain';
    assert.deepEqual(parseInbound(req, 'IN', NOW), { ok: true, sms: expected1 });
  });
  it('keeps Unicode text and an empty body', function () {
    assert.deepEqual(smsOf(parseInbound(form({ ...shape1, Body: 'हाँ ✓' }), 'IN', NOW)), { ...expected1, body: 'हाँ ✓' });
    const { Body, ...noBody } = shape1;
    assert.deepEqual(smsOf(parseInbound(form(noBody), 'IN', NOW)), { ...expected1, body: '' });
  });
  it('never takes the token as a field', function () {
    assert.deepEqual(parseInbound({ ...form(shape1), query: 'token=secret' }, 'IN', NOW), { ok: true, sms: expected1 });
    const result = parseInbound({ ...form(shape1), query: 'token=secret&Body=ignored' }, 'IN', NOW);
    assert.deepEqual(result, { ok: false, status: 400, reason: 'field Body is repeated with different values' });
  });
  it('field names in any case', function () {
    assert.deepEqual(smsOf(parseInbound(form({ smssid: 'x', FROM: '9876543210', body: 'hi' }), 'IN', NOW)), {
      sid: 'x', from: '+919876543210', to: '', body: 'hi', receivedAt: NOW.toISOString(), accountSid: '',
    });
  });
  it('a time it cannot read becomes the time of receipt', function () {
    assert.deepEqual(smsOf(parseInbound(form({ ...shape1, DateCreated: 'yesterday-ish' }), 'IN', NOW)), { ...expected1, receivedAt: NOW.toISOString() });
    assert.equal(parseExotelDate(undefined, NOW), NOW.toISOString());
    assert.equal(parseExotelDate('1736917200', NOW), '2025-01-15T05:00:00.000Z');
  });

  const bad: [string, WebhookRequest, number, string][] = [
    ['no SmsSid', form({ From: '9876543210', Body: 'x' }), 400, 'SmsSid is missing'],
    ['no sender', form({ SmsSid: 'a', Body: 'x' }), 400, 'the sender (From) is missing'],
    ['a sender that is no number', form({ SmsSid: 'a', From: "1' OR '1'='1", Body: 'x' }), 400, 'the sender (From) is not a phone number'],
    ['broken JSON', { ...json({}), rawBody: Buffer.from('{"SmsSid":') }, 400, 'the body is not valid JSON'],
    ['a JSON list', { ...json({}), rawBody: Buffer.from('[1,2]') }, 400, 'the JSON body must be an object of fields'],
    ['a nested field', json({ SmsSid: 'a', From: { x: 1 } }), 400, 'field From must be text, not an object'],
    ['a repeated field with two values', { ...form({}), rawBody: Buffer.from('SmsSid=a&From=9876543210&From=9876543211') }, 400, 'field From is repeated with different values'],
    ['XML', { ...form({}), contentType: 'application/xml', rawBody: Buffer.from('<a/>') }, 415, 'content type application/xml is not accepted: send form fields or JSON'],
    ['an SmsSid with control characters', form({ SmsSid: 'a\u0000b', From: '9876543210' }), 400, 'SmsSid is not a valid identifier'],
    ['an SmsSid of 200 characters', form({ SmsSid: 'x'.repeat(200), From: '9876543210' }), 400, 'SmsSid is not a valid identifier'],
  ];
  for (const [what, req, status, reason] of bad) {
    it(`refuses ${what} with ${status}`, function () {
      assert.deepEqual(parseInbound(req, 'IN', NOW), { ok: false, status, reason });
    });
  }
});
