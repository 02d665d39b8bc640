// The edges of inbound parsing that mutation testing found untested: which fields are read, kept or
// refused; content types; the date forms; field lengths; the sandbox gateway and SendError's JSON.
import assert from 'node:assert/strict';
import { parseInbound, parseExotelDate, type WebhookRequest } from '../../src/exotel/webhook';
import { SandboxGateway, sandboxSid, type SandboxOutbound } from '../../src/exotel/sandbox';
import { SendError } from '../../src/exotel/errors';

const NOW = new Date('2025-02-01T00:00:00Z');
const SHAPE = { SmsSid: 's1', From: '+919876543210', To: '+911140123456', Body: 'YES', DateCreated: '2025-01-15T10:30:00+05:30', AccountSid: 'acct1' };
const EXPECTED = { sid: 's1', from: '+919876543210', to: '+911140123456', body: 'YES', receivedAt: '2025-01-15T05:00:00.000Z', accountSid: 'acct1' };
const raw = (contentType: string | undefined, text: string, query = ''): WebhookRequest => ({ method: 'POST', contentType, query, rawBody: Buffer.from(text) });
const formText = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('inbound parsing at its edges', function () {
  it('reads JSON by its content type, a +json type, or a body that looks like JSON without one', function () {
    const json = JSON.stringify(SHAPE);
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.exotel+json', undefined, ' text/plain ']) {
      assert.deepEqual(parseInbound(raw(type, '  ' + json), 'IN', NOW), { ok: true, sms: EXPECTED }, String(type));
    }
  });

  it('reads a form by its content type, as text, or with none', function () {
    for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'text/plain', undefined]) {
      assert.deepEqual(parseInbound(raw(type, formText(SHAPE)), 'IN', NOW), { ok: true, sms: EXPECTED }, String(type));
    }
  });

  it('refuses another content type with 415, bad JSON and JSON that is not an object with 400', function () {
    assert.deepEqual(parseInbound(raw('text/xml', '<sms/>'), 'IN', NOW), { ok: false, status: 415, reason: 'content type text/xml is not accepted: send form fields or JSON' });
    assert.deepEqual(parseInbound(raw('application/json', '{"SmsSid":'), 'IN', NOW), { ok: false, status: 400, reason: 'the body is not valid JSON' });
    for (const text of ['[1,2]', 'null', '"text"', '42']) {
      assert.deepEqual(parseInbound(raw('application/json', text), 'IN', NOW), { ok: false, status: 400, reason: 'the JSON body must be an object of fields' }, text);
    }
  });

  it('reads the query of a POST with an empty body, and skips empty, null and unknown fields', function () {
    assert.deepEqual(parseInbound(raw('application/x-www-form-urlencoded', '', formText(SHAPE)), 'IN', NOW), { ok: true, sms: EXPECTED });
    const json = JSON.stringify({ ...SHAPE, Sid: 'other', DateCreated: null, To: undefined, Token: 'x'.repeat(300), Unknown: 'y'.repeat(5000) });
    assert.deepEqual(parseInbound(raw('application/json', json), 'IN', NOW), { ok: true, sms: { ...EXPECTED, to: '', receivedAt: NOW.toISOString() } });
    assert.deepEqual(parseInbound(raw('application/json', JSON.stringify({ ...SHAPE, Extra: { nested: true } })), 'IN', NOW), { ok: false, status: 400, reason: 'field Extra must be text, not an object' }, 'an object is refused in any field');
    assert.deepEqual(parseInbound(raw(undefined, formText(SHAPE), 'token=t0k'), 'IN', NOW), { ok: true, sms: EXPECTED }, 'the token is never a field');
    assert.deepEqual(parseInbound(raw('application/json', JSON.stringify({ ...SHAPE, token: { a: 1 } })), 'IN', NOW), { ok: true, sms: EXPECTED });
  });

  it('takes the first non-empty of the names a field goes by', function () {
    const fields = { SmsSid: '', Sid: 'from-sid', From: '9876543210', Body: 'hi' };
    assert.deepEqual(parseInbound(raw('application/x-www-form-urlencoded', formText(fields)), 'IN', NOW), {
      ok: true, sms: { sid: 'from-sid', from: '+919876543210', to: '', body: 'hi', receivedAt: NOW.toISOString(), accountSid: '' },
    });
  });

  it('keeps a To that is not a phone number as written, trimmed, and reads numbers in the default country', function () {
    const fields = { ...SHAPE, From: '07911 123456', To: '  EXSHOP  ' };
    assert.deepEqual(parseInbound(raw(undefined, formText(fields)), 'GB', NOW), { ok: true, sms: { ...EXPECTED, from: '+447911123456', to: 'EXSHOP' } });
  });

  it('refuses a field that is a list or an object, or a field repeated with another value; takes a repeat of the same', function () {
    assert.deepEqual(parseInbound(raw('application/json', JSON.stringify({ ...SHAPE, Body: ['a'] })), 'IN', NOW), { ok: false, status: 400, reason: 'field Body must be text, not a list' });
    assert.deepEqual(parseInbound(raw('application/json', JSON.stringify({ ...SHAPE, From: { n: 1 } })), 'IN', NOW), { ok: false, status: 400, reason: 'field From must be text, not an object' });
    assert.deepEqual(parseInbound(raw(undefined, formText(SHAPE), 'Body=YES'), 'IN', NOW), { ok: true, sms: EXPECTED });
    assert.deepEqual(parseInbound(raw(undefined, formText(SHAPE), 'body=NO'), 'IN', NOW), { ok: false, status: 400, reason: 'field Body is repeated with different values' });
  });

  it('limits each field: the SMS id to 128 characters without control characters, other fields to 256', function () {
    const parse = (fields: Record<string, string>) => parseInbound(raw(undefined, formText({ ...SHAPE, ...fields })), 'IN', NOW);
    assert.equal(parse({ SmsSid: 's'.repeat(128) }).ok, true);
    assert.deepEqual(parse({ SmsSid: 's'.repeat(129) }), { ok: false, status: 400, reason: 'SmsSid is not a valid identifier' });
    assert.deepEqual(parse({ SmsSid: 'a\u0007b' }), { ok: false, status: 400, reason: 'SmsSid is not a valid identifier' });
    assert.equal(parse({ AccountSid: 'a'.repeat(256) }).ok, true);
    assert.deepEqual(parse({ AccountSid: 'a'.repeat(257) }), { ok: false, status: 400, reason: 'field AccountSid is longer than 256 characters' });
    const longName = 'X'.repeat(45);
    assert.deepEqual(parseInbound(raw('application/json', JSON.stringify({ ...SHAPE, [longName]: 'v' })), 'IN', NOW), { ok: true, sms: EXPECTED }, 'an unknown field is ignored');
  });

  it('reads every date form Exotel sends, and the time of receipt for anything else', function () {
    assert.equal(parseExotelDate(' 2025-01-15 10:30:00 ', NOW), '2025-01-15T05:00:00.000Z');
    assert.equal(parseExotelDate('2025-01-15T10:30', NOW), '2025-01-15T05:00:00.000Z');
    assert.equal(parseExotelDate('2025-01-15 10:30:00.5', NOW), '2025-01-15T05:00:00.500Z');
    assert.equal(parseExotelDate('1736917200.5', NOW), '2025-01-15T05:00:00.500Z');
    assert.equal(parseExotelDate('1736917200000', NOW), '2025-01-15T05:00:00.000Z');
    assert.equal(parseExotelDate('x1736917200', NOW), NOW.toISOString());
    assert.equal(parseExotelDate('17369172000', NOW), new Date('17369172000').getTime() ? new Date('17369172000').toISOString() : NOW.toISOString());
    assert.equal(parseExotelDate('2025-01-15 10:30:00Z', NOW), new Date('2025-01-15 10:30:00Z').toISOString(), 'with its own zone, not Indian time');
    assert.equal(parseExotelDate('', NOW), NOW.toISOString());
  });
});

describe('the sandbox gateway', function () {
  it('delivers to the sandbox with an id of its own and answers as Exotel would', async function () {
    const delivered: SandboxOutbound[] = [];
    let dispatched = 0;
    const gateway = new SandboxGateway(async (sms) => void delivered.push(sms));
    const result = await gateway.send({ from: 'EXSHOP', to: '+919876543210', body: 'नमस्ते', encoding: 'unicode', customField: 'smsflow-1' }, () => void dispatched++);
    assert.match(result.sid, /^sandbox-out-[0-9a-f]{16}$/);
    assert.deepEqual({ ...result, sid: 'x' }, { sid: 'x', status: 'sent', detailedStatus: 'DELIVERED_TO_SANDBOX', detailedStatusCode: null, segments: 1, encoding: 'unicode' });
    assert.deepEqual(delivered, [{ sid: result.sid, customField: 'smsflow-1', to: '+919876543210', from: 'EXSHOP', body: 'नमस्ते', segments: 1, encoding: 'unicode' }]);
    assert.equal(dispatched, 1);
    assert.match(sandboxSid('in'), /^sandbox-in-[0-9a-f]{16}$/);
    assert.notEqual(sandboxSid('in'), sandboxSid('in'));
  });
});

describe('SendError', function () {
  it('is named, and carries in JSON only what is set', function () {
    const bare = new SendError({ code: 'queue_full', message: 'full', retryable: true });
    assert.equal(bare.name, 'SendError');
    assert.equal(String(bare), 'SendError: full');
    assert.deepEqual(bare.toJSON(), { code: 'queue_full', message: 'full', retryable: true });
    const full = new SendError({ code: 'rate_limited', message: 'slow down', retryable: true, httpStatus: 429, retryAfterMs: 2000, maybeSent: true });
    assert.deepEqual(full.toJSON(), { code: 'rate_limited', message: 'slow down', retryable: true, httpStatus: 429, maybeSent: true });
    assert.equal(full.retryAfterMs, 2000);
  });
});
