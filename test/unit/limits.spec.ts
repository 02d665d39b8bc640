// What the webhook refuses before parsing (oversized fields and bodies, shapes Exotel never sends),
// and the reply normalisation staying linear on hostile input.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { parseInbound, MAX_BODY_CHARS } from '../../src/exotel/webhook';
import { readRawBody, MAX_CALLBACK_BYTES, BodyError } from '../../src/exotel/request-body';
import { toE164, numberCacheSize, MAX_NUMBER_LENGTH } from '../../src/sms/phone';
import { normaliseReply, compileRules, matchReply, MAX_REGEX_INPUT } from '../../src/sms/keywords';

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  contentType: 'application/x-www-form-urlencoded',
  query: '',
  rawBody: Buffer.from(new URLSearchParams(fields).toString()),
});

describe('webhook limits', function () {
  it('accepts a body of 2,000 characters and refuses 2,001 with a 400 that says so', function () {
    const ok = parseInbound(form({ SmsSid: 's1', From: '09876543210', To: '08030752400', Body: 'x'.repeat(MAX_BODY_CHARS) }));
    assert.equal(ok.ok, true);
    const long = parseInbound(form({ SmsSid: 's1', From: '09876543210', To: '08030752400', Body: 'x'.repeat(MAX_BODY_CHARS + 1) }));
    assert.deepEqual(long, { ok: false, status: 400, reason: 'field Body is longer than 2,000 characters' });
  });

  it('refuses a 1,000-character sender before parsing it, and does not remember it', function () {
    const before = numberCacheSize();
    const result = parseInbound(form({ SmsSid: 's2', From: '9'.repeat(1000), To: '08030752400', Body: 'hi' }));
    assert.deepEqual(result, { ok: false, status: 400, reason: `field From is longer than ${MAX_NUMBER_LENGTH} characters` });
    for (let i = 0; i < 200; i++) assert.equal(toE164(`${i}`.padStart(100, '9'), 'IN', 'possible'), null);
    assert.equal(numberCacheSize(), before, 'refused oversized numbers were cached');
  });

  it('refuses a field shape Exotel never sends (a[b]=c parsed into an object) with a 400', function () {
    const result = parseInbound({ method: 'POST', contentType: 'application/json', query: '', rawBody: Buffer.from(JSON.stringify({ SmsSid: 's3', From: '09876543210', a: { b: 'c' } })) });
    assert.deepEqual(result, { ok: false, status: 400, reason: 'field a must be text, not an object' });
  });
});

type FakeRequest = IncomingMessage & { body?: unknown; _body?: boolean };

function parsedRequest(body: unknown, contentLength?: number): FakeRequest {
  const stream = new PassThrough();
  stream.end();
  stream.resume();
  const req = stream as unknown as FakeRequest;
  Object.assign(req, { headers: contentLength === undefined ? {} : { 'content-length': String(contentLength) }, body, _body: true });
  return req;
}

describe('readRawBody after another body parser', function () {
  it('answers 413 from Content-Length although Node-RED\'s parser already read the body', async function () {
    const req = parsedRequest({ SmsSid: 'x', Body: 'y'.repeat(70_000) }, 70_100);
    await assert.rejects(readRawBody(req), (err: unknown) => err instanceof BodyError && err.status === 413 && /larger than 64 KB/.test(err.message));
  });

  it('answers 413 from the parsed size when no Content-Length was sent (chunked)', async function () {
    const req = parsedRequest({ Body: 'y'.repeat(MAX_CALLBACK_BYTES) });
    await assert.rejects(readRawBody(req), (err: unknown) => err instanceof BodyError && err.status === 413);
  });

  it('passes a small parsed body on as JSON', async function () {
    const raw = await readRawBody(parsedRequest({ SmsSid: 'x' }, 20));
    assert.equal(raw.contentType, 'application/json');
    assert.equal(raw.body.toString(), '{"SmsSid":"x"}');
  });
});

describe('reply normalisation on hostile input', function () {
  it('normalises a long run of spaces inside a reply in linear time', function () {
    const reply = 'yes' + ' '.repeat(100_000) + 'no!';
    const started = process.hrtime.bigint();
    assert.equal(normaliseReply(reply), 'yes no');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // linear: a few ms; the old `[^…]+$` took tens of seconds on this input
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });

  it('keeps trailing letters, marks and digits of every script', function () {
    assert.equal(normaliseReply('  हाँ!! '), 'हां');
    assert.equal(normaliseReply('...१२ '), '12');
    assert.equal(normaliseReply('ok 😀 '), 'ok');
  });

  it('runs a regular-expression rule on the first 1,000 characters only', function () {
    const rules = compileRules([{ t: 'regex', v: 'END$' }]);
    assert.equal(matchReply(rules, 'a'.repeat(MAX_REGEX_INPUT - 3) + 'END').length, 1);
    assert.equal(matchReply(rules, 'a'.repeat(MAX_REGEX_INPUT) + 'END').length, 0);
  });
});
