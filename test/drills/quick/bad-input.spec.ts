// Failure drill "Bad input" (issue 6): 10,000 malformed requests against exotel-inbound (wrong content
// types, invalid UTF-8, huge and empty bodies, missing and repeated fields, numbers in every odd
// format, injection-looking text, NUL bytes, JSON arrays and nested objects, bad HTTP) at a concurrency
// of 50, with a valid callback every 100 requests → no crash, each answered 2xx or 4xx (never 5xx, never
// a reset), every valid callback answered 200 and handed to the flow during the storm, and the inbound
// log holds exactly the requests answered 200.
//
// Each generated request says what it must get: `accept` (200, logged, handed on, with the fields it
// carries), `reject` (a 4xx, optionally a given one; nothing logged), or `either` (a 2xx or a 4xx; if
// 200, it is logged and handed on like any accepted one). What counts as acceptable is written here,
// not derived from the code under test: a number libphonenumber reads as a number is accepted; a form
// field decoded from invalid UTF-8 carries U+FFFD; a query may hold a literal "?" (RFC 3986).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { helper, load, settings, getNode, type FlowNode, type Msg } from '../../support/red';
import { present } from '../../support/present';
import { prng, seedFromEnv, pick, weighted, runPool, until, httpRequest, rawRequest, withStoreFile, seconds, type HttpResult } from '../../support/drills';

/** A status to compare: no answer (a reset) compares as 0, as null did. */
const status = (r: HttpResult): number => r.status ?? 0;

const SEED = seedFromEnv(6003);
const TOTAL = 10_000;
const VALID_EVERY = 100;
const CONCURRENCY = 50;
const TOKEN = 'bad-input-hook-6d2f81';
const ACCOUNT_SID = 'badacct';
const HOOK = '/exotel/sms';
const Q = `?token=${TOKEN}`;
const KB64 = 64 * 1024;
const PHONE = '+919876543210';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

type Expect = 'accept' | 'reject' | 'either';

/** One generated request and what must become of it. */
interface Spec {
  kind?: string;
  index?: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  chunks?: Buffer[];
  /** bytes sent as they are on a socket, instead of an HTTP request */
  raw?: Buffer;
  expect?: Expect;
  status?: number | number[];
  sid?: string;
  want?: { body?: string; phone?: string };
}

type Pair = [string, string];

const enc = (pairs: Pair[]) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
const utf8 = (bytes: number[]) => new TextDecoder('utf-8').decode(Buffer.from(bytes)); // invalid sequences → U+FFFD

const VALID_NUMBERS = [
  ['+91 (987) 654-3210', PHONE], ['0091 98765 43210', PHONE], ['٩٨٧٦٥٤٣٢١٠', PHONE], ['۹۸۷۶۵۴۳۲۱۰', PHONE],
  ['０９８７６５４３２１０', PHONE], ['98765-43210', PHONE], ['+91.98765.43210', PHONE], ['  09876543210  ', PHONE],
  ['919876543210', PHONE], ['9876543210', PHONE], ['+91 98765 43210', PHONE], ['+1 202 555 0143', '+12025550143'],
];
const INVALID_NUMBERS = [
  'abc', "'; DROP TABLE inbound;--", '<script>alert(1)</script>', '0', '+0', '1e10', '0x24CB016EA', '98765\u000043210',
  '+', 'NaN', 'Infinity', 'null', 'undefined', '[object Object]', '9.87654321e9', '+9198765432100000', '   ', '%2B91',
  '9'.repeat(200), '\u202e0123456789',
];
const ODD_NUMBERS = ['-9876543210', '(+91)9876543210', '९८७६५४३२१०', '+91 98765 43210 ext 5', 'tel:+919876543210', '+91 98765 43210 x', '09876 543210#'];
const INJECTION = [
  "'; DROP TABLE inbound;--", "Robert'); DROP TABLE opt_out;--", "STOP' OR '1'='1", '<script>alert(1)</script>', '<img src=x onerror=alert(1)>',
  '${7*7}', '{{constructor.constructor("return process")()}}', '{{#each this}}{{/each}}', '../../../../etc/passwd', '%00%0d%0a',
  '\r\nSet-Cookie: x=1', '\u0000\u0000STOP', 'STOP\u0000', '$(rm -rf /)', '`id`', '{"$gt": ""}', '__proto__', '🛑 STOP 🛑', '\u202eSTOP',
  'A'.repeat(2000),
];
const WRONG_TYPES = ['application/xml', 'text/html', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'image/png', 'text/csv',
  'application/x-www-form-urlencodedx', 'application/javascript', 'text/xml; charset=utf-8', 'video/mp4'];

/** The request generator: one spec per index, from the seeded source. */
function generator(random: () => number) {
  let n = 0;
  const sid = (tag: string) => `bad-${tag}-${++n}-${Math.floor(random() * 1e9).toString(36)}`;
  const post = (spec: Spec): Spec => ({ method: 'POST', path: `${HOOK}${Q}`, ...spec });
  const formPost = (pairs: Pair[], spec: Spec = {}) => post({ headers: { 'content-type': FORM }, body: enc(pairs), ...spec });
  const base = (id: string, extra: Pair[] = []): Pair[] => [['SmsSid', id], ['From', '09876543210'], ['To', '08047123456'], ['Body', 'hello'], ['AccountSid', ACCOUNT_SID], ...extra];

  const valid = () => {
    const id = sid('valid');
    const body = pick(random, ['YES', 'STOP', 'ORDER', '1', 'Thanks!']);
    return formPost(base(id).map(([k, v]) => [k, k === 'Body' ? body : v]), { kind: 'valid', expect: 'accept', sid: id, want: { body, phone: PHONE } });
  };

  const kinds: Record<string, () => Spec> = {
    wrongContentType() {
      const id = sid('ctype');
      return post({ headers: { 'content-type': pick(random, WRONG_TYPES) }, body: enc(base(id)), expect: 'reject', status: 415 });
    },
    contentTypeVariants() {
      const id = sid('ctype-ok');
      const type = pick(random, ['APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8', 'application/x-www-form-urlencoded;charset=utf-8', ' application/x-www-form-urlencoded ']);
      return post({ headers: { 'content-type': type }, body: enc(base(id)), expect: 'accept', sid: id, want: { body: 'hello' } });
    },
    formAsJson() {
      return post({ headers: { 'content-type': JSON_TYPE }, body: enc(base(sid('formjson'))), expect: 'reject', status: 400 });
    },
    textPlainForm() {
      const id = sid('textplain');
      return post({ headers: { 'content-type': 'text/plain' }, body: enc(base(id)), expect: 'either', sid: id });
    },
    invalidUtf8Body() {
      const id = sid('utf8body');
      const bad = pick(random, [[0xff, 0xfe], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]);
      const raw = Buffer.concat([Buffer.from(`SmsSid=${id}&From=09876543210&Body=ok`), Buffer.from(bad), Buffer.from('end')]);
      return post({ headers: { 'content-type': FORM }, body: raw, expect: 'accept', sid: id, want: { body: `ok${utf8(bad)}end` } });
    },
    invalidUtf8Percent() {
      const id = sid('utf8pct');
      return post({ headers: { 'content-type': FORM }, body: `SmsSid=${id}&From=09876543210&Body=%FF%FE%C3%28x`, expect: 'accept', sid: id, want: { body: `${utf8([0xff, 0xfe, 0xc3, 0x28])}x` } });
    },
    invalidUtf8From() {
      const raw = Buffer.concat([Buffer.from(`SmsSid=${sid('utf8from')}&From=98765`), Buffer.from([0xff, 0xfe]), Buffer.from('43210&Body=x')]);
      return post({ headers: { 'content-type': FORM }, body: raw, expect: 'reject', status: 400 });
    },
    invalidUtf8Sid() {
      const prefix = sid('utf8sid');
      const bad = [0xff, 0xc3, 0x28];
      const raw = Buffer.concat([Buffer.from(`SmsSid=${prefix}`), Buffer.from(bad), Buffer.from('&From=09876543210&Body=x')]);
      return post({ headers: { 'content-type': FORM }, body: raw, expect: 'either', sid: `${prefix}${utf8(bad)}` });
    },
    invalidUtf8Json() {
      const id = sid('utf8json');
      const raw = Buffer.concat([Buffer.from(`{"SmsSid":"${id}","From":"09876543210","Body":"a`), Buffer.from([0xff, 0x80]), Buffer.from('b"}')]);
      return post({ headers: { 'content-type': JSON_TYPE }, body: raw, expect: 'either', sid: id });
    },
    emptyBody() {
      return post({ headers: { 'content-type': pick(random, [FORM, JSON_TYPE, 'text/plain']) }, body: '', expect: 'reject', status: 400 });
    },
    noContentTypeEmpty() {
      return post({ headers: {}, body: '', expect: 'reject', status: 400 });
    },
    body64kPlus1() {
      const id = sid('64k1');
      const head = enc(base(id)) + '&Pad=';
      return post({ headers: { 'content-type': FORM }, body: head + 'x'.repeat(KB64 + 1 - head.length), expect: 'reject', status: 413 });
    },
    body64kExactly() {
      const id = sid('64k');
      const head = enc(base(id)) + '&Pad=';
      return post({ headers: { 'content-type': FORM }, body: head + 'x'.repeat(KB64 - head.length), expect: 'accept', sid: id });
    },
    body1mb() {
      return post({ headers: { 'content-type': FORM }, body: `SmsSid=${sid('1mb')}&From=09876543210&Body=${'y'.repeat(1024 * 1024)}`, expect: 'reject', status: 413 });
    },
    body1mbChunked() {
      const chunk = Buffer.alloc(16 * 1024, 'z');
      return post({ headers: { 'content-type': FORM }, chunks: [Buffer.from(`SmsSid=${sid('1mbc')}&From=09876543210&Body=`), ...Array(64).fill(chunk)], expect: 'reject', status: 413 });
    },
    missingSid() {
      return formPost(base('').filter(([k]) => k !== 'SmsSid'), { expect: 'reject', status: 400 });
    },
    emptySid() {
      return formPost(base(''), { expect: 'reject', status: 400 });
    },
    missingFrom() {
      return formPost(base(sid('nofrom')).filter(([k]) => k !== 'From'), { expect: 'reject', status: 400 });
    },
    emptyFrom() {
      return formPost(base(sid('emptyfrom')).map(([k, v]) => [k, k === 'From' ? '' : v]), { expect: 'reject', status: 400 });
    },
    onlyBody() {
      return formPost([['Body', 'STOP']], { expect: 'reject', status: 400 });
    },
    repeatedDifferent() {
      const id = sid('rep');
      const field = pick(random, ['SmsSid', 'From', 'Body', 'To', 'AccountSid'] as const);
      const second = { SmsSid: `${id}-b`, From: '09876543211', Body: 'NO', To: '08047000000', AccountSid: ACCOUNT_SID + 'x' }[field];
      return formPost([...base(id), [field, second]], { expect: 'reject', status: field === 'AccountSid' ? [400, 403] : 400 });
    },
    repeatedSame() {
      const id = sid('repsame');
      return formPost([...base(id), ['SmsSid', id], ['From', '09876543210'], ['smssid', id]], { expect: 'accept', sid: id });
    },
    repeatedQueryAndBody() {
      const id = sid('repqb');
      return post({ path: `${HOOK}${Q}&SmsSid=${id}-q`, headers: { 'content-type': FORM }, body: enc(base(id)), expect: 'reject', status: 400 });
    },
    repeatedCaseJson() {
      const id = sid('repcase');
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"SmsSid":"${id}","smssid":"${id}-2","From":"09876543210"}`, expect: 'reject', status: 400 });
    },
    duplicateJsonKey() {
      const id = sid('dupkey');
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"SmsSid":"${id}-first","SmsSid":"${id}","From":"09876543210","Body":"x"}`, expect: 'either', sid: id });
    },
    repeatedToken() {
      return post({ path: `${HOOK}${Q}&token=${TOKEN}`, headers: { 'content-type': FORM }, body: enc(base(sid('reptoken'))), expect: 'reject', status: 401 });
    },
    validNumber() {
      const id = sid('num');
      const [raw, phone] = pick(random, VALID_NUMBERS);
      return formPost(base(id).map(([k, v]) => [k, k === 'From' ? raw : v]), { expect: 'accept', sid: id, want: { phone } });
    },
    invalidNumber() {
      const raw = pick(random, INVALID_NUMBERS);
      return formPost(base(sid('badnum')).map(([k, v]) => [k, k === 'From' ? raw : v]), { expect: 'reject', status: 400 });
    },
    oddNumber() {
      const id = sid('oddnum');
      const raw = pick(random, ODD_NUMBERS);
      return formPost(base(id).map(([k, v]) => [k, k === 'From' ? raw : v]), { expect: 'either', sid: id });
    },
    jsonNumbers() {
      const id = sid('jsonnum');
      const [from, expect] = pick<[string, Expect]>(random, [['9876543210', 'accept'], ['9.87654321e9', 'accept'], ['919876543210', 'accept'], ['1e21', 'reject'], ['-0', 'reject'], ['true', 'reject'], ['0', 'reject']]);
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"SmsSid":"${id}","From":${from},"Body":"x"}`, expect, ...(expect === 'accept' ? { sid: id, want: { phone: PHONE } } : { status: 400 }) });
    },
    numericSid() {
      const id = String(Math.floor(random() * 1e15) + n++ * 1e15);
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"SmsSid":${id},"From":"09876543210","Body":"x"}`, expect: 'accept', sid: id });
    },
    injectionBody() {
      const id = sid('inject');
      const text = pick(random, INJECTION);
      const json = random() < 0.3;
      return json
        ? post({ headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ SmsSid: id, From: '09876543210', Body: text }), expect: 'accept', sid: id, want: { body: text } })
        : formPost(base(id).map(([k, v]) => [k, k === 'Body' ? text : v]), { expect: 'accept', sid: id, want: { body: text } });
    },
    injectionSid() {
      const id = `${sid('injsid')}${pick(random, ["'; DROP TABLE inbound;--", '<script>', '" OR 1=1 --', '../..', '%', '☃'])}`;
      return formPost(base(id), { expect: 'either', sid: id });
    },
    crlfSid() {
      return formPost(base(`${sid('crlf')}\r\nSet-Cookie: a=b`), { expect: 'reject', status: 400 });
    },
    nulInBody() {
      const id = sid('nulbody');
      const raw = Buffer.concat([Buffer.from(`SmsSid=${id}&From=09876543210&Body=a`), Buffer.from([0]), Buffer.from('b')]);
      return post({ headers: { 'content-type': FORM }, body: raw, expect: 'accept', sid: id, want: { body: 'a\u0000b' } });
    },
    nulInSid() {
      return formPost(base(`${sid('nulsid')}\u0000x`), { expect: 'reject', status: 400 });
    },
    longSid() {
      const len = pick(random, [129, 500, 10_000, 60_000]);
      return formPost(base('L'.repeat(len)), { expect: 'reject', status: len > KB64 - 100 ? [400, 413] : 400 });
    },
    sid128() {
      const id = (sid('128') + 'x'.repeat(128)).slice(0, 128);
      return formPost(base(id), { expect: 'accept', sid: id });
    },
    jsonArray() {
      return post({ headers: { 'content-type': JSON_TYPE }, body: JSON.stringify([{ SmsSid: sid('arr'), From: '09876543210' }]), expect: 'reject', status: 400 });
    },
    jsonNested() {
      const field = pick(random, ['SmsSid', 'From', 'Body', 'AccountSid', 'Extra']);
      const value = pick(random, [{ a: 1 }, [1, 2], { $gt: '' }, [], {}]);
      const obj = { SmsSid: sid('nested'), From: '09876543210', Body: 'x', [field]: value };
      return post({ headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(obj), expect: 'reject', status: 400 });
    },
    jsonProto() {
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"__proto__":{"SmsSid":"${sid('proto')}"},"From":"09876543210"}`, expect: 'reject', status: 400 });
    },
    jsonDeep() {
      const depth = pick(random, [100, 5000, 20_000]);
      return post({ headers: { 'content-type': JSON_TYPE }, body: `{"SmsSid":"${sid('deep')}","From":"09876543210","X":${'['.repeat(depth)}${']'.repeat(depth)}}`, expect: 'reject', status: [400, 413] });
    },
    jsonScalar() {
      return post({ headers: { 'content-type': JSON_TYPE }, body: pick(random, ['"x"', 'null', '123', 'true', '', ' ', '{', '{"SmsSid":', '{"SmsSid":"x",}', "{'SmsSid':'x'}"]), expect: 'reject', status: 400 });
    },
    jsonNoType() {
      const id = sid('jsonnotype');
      return post({ headers: {}, body: JSON.stringify({ SmsSid: id, From: '09876543210', Body: 'x' }), expect: 'accept', sid: id });
    },
    jsonShape2() {
      const id = sid('shape2');
      return post({ headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ SmsSid: id, Direction: 'incoming', Sender: '+91 98765 43210', ReceivedOn: '08047123456', MessageBody: 'STOP', ReceivedTime: 'not a time' }), expect: 'accept', sid: id, want: { body: 'STOP', phone: PHONE } });
    },
    weirdDates() {
      const id = sid('date');
      const date = pick(random, ['2025-13-45 99:99:99', 'yesterday', '0', '-1', '99999999999999999999', '1e400', '9999999999999', '2025-02-30 10:00:00', '', '\u0000']);
      return formPost(base(id, [['DateCreated', date]]), { expect: date === '\u0000' ? 'either' : 'accept', sid: id });
    },
    weirdForm() {
      const id = sid('weirdform');
      const [body, expect, want] = pick<[string, Expect, Spec['want']?]>(random, [
        [`SmsSid=${id}&&&&From=09876543210&Body=x`, 'accept', { body: 'x' }],
        [`SmsSid=${id}&From=%2B919876543210&Body=a+b`, 'accept', { body: 'a b', phone: PHONE }],
        [`SmsSid=${id}&From=+919876543210&Body=x`, 'accept', { phone: PHONE }],
        ['=&=&=', 'reject'],
        [`SmsSid[]=${id}&From=09876543210`, 'reject'],
        [`SmsSid=${id}&From=09876543210&Body=%`, 'accept', { body: '%' }],
        [`SmsSid=${id}&From=09876543210&Body=%zz%`, 'accept', { body: '%zz%' }],
        ['&'.repeat(5000), 'reject'],
        [`${'a=1&'.repeat(3000)}SmsSid=${id}&From=09876543210`, 'accept'],
      ]);
      return post({ headers: { 'content-type': FORM }, body, expect, ...(expect === 'accept' ? { sid: id, want } : { status: 400 }) });
    },
    literalQuestionMark() {
      // RFC 3986 allows "?" in a query: everything after the first "?" is the query
      const id = sid('qmark');
      const form = random() < 0.5;
      return form
        ? { method: 'GET', path: `${HOOK}${Q}&SmsSid=${id}&From=09876543210&Body=${encodeURIComponent('Is it open')}?%20today`, headers: {}, expect: 'accept', sid: id, want: { body: 'Is it open? today' } }
        : { method: 'GET', path: `${HOOK}?SmsSid=${id}&From=09876543210&Body=why?&token=${TOKEN}`, headers: {}, expect: 'accept', sid: id, want: { body: 'why?' } };
    },
    getShape() {
      const id = sid('get');
      return { method: 'GET', path: `${HOOK}${Q}&${enc(base(id))}`, headers: {}, expect: 'accept', sid: id };
    },
    getEmpty() {
      return { method: 'GET', path: `${HOOK}${Q}`, headers: {}, expect: 'reject', status: 400 };
    },
    getWithBody() {
      const id = sid('getbody');
      return { method: 'GET', path: `${HOOK}${Q}&${enc(base(id))}`, headers: { 'content-type': FORM }, body: enc(base(`${id}-body`)), expect: 'either', sid: id };
    },
    head() {
      return { method: 'HEAD', path: `${HOOK}${Q}`, headers: {}, expect: 'either', status: 200 };
    },
    otherMethods() {
      return { method: pick(random, ['PUT', 'DELETE', 'PATCH']), path: `${HOOK}${Q}`, headers: { 'content-type': FORM }, body: enc(base(sid('method'))), expect: 'reject' };
    },
    options() {
      return { method: 'OPTIONS', path: `${HOOK}${Q}`, headers: {}, expect: 'either' };
    },
    noToken() {
      return { method: 'POST', path: HOOK, headers: { 'content-type': FORM }, body: enc(base(sid('notoken'))), expect: 'reject', status: 401 };
    },
    wrongToken() {
      const token = pick(random, ['x', '', TOKEN.slice(0, -1), TOKEN.toUpperCase(), `${TOKEN}x`, encodeURIComponent(' ' + TOKEN)]);
      return { method: 'POST', path: `${HOOK}?token=${token}`, headers: { 'content-type': FORM }, body: enc(base(sid('badtoken'))), expect: 'reject', status: 401 };
    },
    basicWrong() {
      return { method: 'POST', path: HOOK, headers: { 'content-type': FORM, authorization: pick(random, ['Basic !!!', 'Basic ' + Buffer.from('u:wrong').toString('base64'), 'Bearer ' + TOKEN, 'Basic ' + Buffer.from(TOKEN).toString('base64')]) }, body: enc(base(sid('basic'))), expect: 'reject', status: 401 };
    },
    otherAccount() {
      return formPost(base(sid('acct')).map(([k, v]) => [k, k === 'AccountSid' ? pick(random, ['otheracct', 'BADACCT', `${ACCOUNT_SID} `]) : v]), { expect: 'reject', status: 403 });
    },
    bigHeader() {
      return post({ headers: { 'content-type': FORM, 'x-padding': 'p'.repeat(pick(random, [20_000, 70_000])) }, body: enc(base(sid('bighdr'))), expect: 'reject', status: 431 });
    },
    rawHttp() {
      const id = sid('raw');
      const body = enc(base(id));
      const bytes = pick(random, [
        'GARBAGE\r\n\r\n',
        `POST ${HOOK}${Q} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`,
        `POST ${HOOK}${Q} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `POST ${HOOK}${Q} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: ${FORM}\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
        `POST ${HOOK}${Q} HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n`,
        `POST ${HOOK}${Q} HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n`,
        `POST ${HOOK}?token=${TOKEN}&SmsSid=a b HTTP/1.1\r\nHost: x\r\n\r\n`,
        `POST ${HOOK}${Q} HTTP/9.9\r\nHost: x\r\n\r\n`,
      ]);
      return { raw: Buffer.from(bytes, 'latin1'), expect: 'reject' };
    },
  };

  const table: [number, string][] = [
    [6, 'wrongContentType'], [2, 'contentTypeVariants'], [2, 'formAsJson'], [1, 'textPlainForm'],
    [3, 'invalidUtf8Body'], [2, 'invalidUtf8Percent'], [2, 'invalidUtf8From'], [1, 'invalidUtf8Sid'], [1, 'invalidUtf8Json'],
    [3, 'emptyBody'], [1, 'noContentTypeEmpty'], [1, 'body64kPlus1'], [0.5, 'body64kExactly'], [0.2, 'body1mb'], [0.1, 'body1mbChunked'],
    [3, 'missingSid'], [1, 'emptySid'], [3, 'missingFrom'], [1, 'emptyFrom'], [1, 'onlyBody'],
    [4, 'repeatedDifferent'], [2, 'repeatedSame'], [1, 'repeatedQueryAndBody'], [1, 'repeatedCaseJson'], [1, 'duplicateJsonKey'], [1, 'repeatedToken'],
    [5, 'validNumber'], [5, 'invalidNumber'], [2, 'oddNumber'], [2, 'jsonNumbers'], [1, 'numericSid'],
    [5, 'injectionBody'], [2, 'injectionSid'], [1, 'crlfSid'], [2, 'nulInBody'], [1, 'nulInSid'], [2, 'longSid'], [1, 'sid128'],
    [3, 'jsonArray'], [3, 'jsonNested'], [1, 'jsonProto'], [1, 'jsonDeep'], [3, 'jsonScalar'], [1, 'jsonNoType'], [1, 'jsonShape2'],
    [2, 'weirdDates'], [3, 'weirdForm'], [2, 'literalQuestionMark'], [2, 'getShape'], [1, 'getEmpty'], [1, 'getWithBody'],
    [1, 'head'], [1, 'otherMethods'], [0.5, 'options'],
    [2, 'noToken'], [2, 'wrongToken'], [1, 'basicWrong'], [2, 'otherAccount'], [0.3, 'bigHeader'], [2, 'rawHttp'],
  ];
  return (i: number): Spec => {
    if (i % VALID_EVERY === VALID_EVERY / 2) return { ...valid(), index: i };
    const kind = weighted(random, table);
    return { kind, ...kinds[kind](), index: i };
  };
}

describe('drill: bad input — 10,000 malformed requests, and the webhook keeps serving', function () {
  this.timeout(120_000);
  let dir: string;
  let server: http.Server;
  let base: string;
  let agent: http.Agent;
  const received = new Map<string, Msg[]>(); // sid → [msg]
  const failures: string[] = [];
  const onUncaught = (err: Error | undefined) => failures.push(`uncaught: ${err?.stack ?? err}`);
  const onUnhandled = (err: Error | undefined) => failures.push(`unhandled rejection: ${err?.stack ?? err}`);
  let results: HttpResult[];
  let specs: Spec[];
  let ms: number;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bad-input-drill-'));
    settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db'), replayWindowMs: 50 } });
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      { id: 'acc', type: 'exotel-account', accountSid: ACCOUNT_SID, apiBaseUrl: 'http://127.0.0.1:9', defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200 },
      { id: 'in', z: 'tab', type: 'exotel-inbound', account: 'acc', path: HOOK, allowList: '', wires: [['out']] },
      { id: 'out', z: 'tab', type: 'helper' },
    ];
    const app = await load(flow, { acc: { apiKey: 'bad-key-1', apiToken: 'bad-token-2', webhookToken: TOKEN } });
    getNode('out').on('input', (msg: Msg) => {
      if (!received.has(msg.sms.sid)) received.set(msg.sms.sid, []);
      received.get(msg.sms.sid)?.push(msg);
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);

    const next = generator(prng(SEED));
    specs = Array.from({ length: TOTAL }, (_, i) => next(i));
    const started = Date.now();
    const { port } = server.address() as AddressInfo;
    results = (await runPool(specs, CONCURRENCY, (spec) =>
      spec.raw
        ? rawRequest({ host: '127.0.0.1', port, bytes: spec.raw })
        : httpRequest({
          url: `${base}${spec.path}`,
          method: spec.method,
          headers: spec.body !== undefined && !spec.chunks ? { ...spec.headers, 'content-length': Buffer.byteLength(spec.body) } : spec.headers,
          body: spec.body,
          chunks: spec.chunks,
          agent,
        }),
    )) as HttpResult[];
    ms = Date.now() - started;
    // the last handed-on messages, and their handled marks once the replay window (50 ms) has passed
    await new Promise((resolve) => setTimeout(resolve, 400));
  });

  after(async function () {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
    agent?.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
    await helper.unload();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (results) {
      const byStatus: Record<string, number> = {};
      for (const r of results) byStatus[String(r.status ?? r.error)] = (byStatus[String(r.status ?? r.error)] ?? 0) + 1;
      const valid = results.filter((_, i) => specs[i].kind === 'valid').map((r) => r.ms).sort((a, b) => a - b);
      console.log(`      bad-input drill (seed ${SEED}): ${TOTAL} requests at ${CONCURRENCY} at once in ${seconds(ms)}; answers ${JSON.stringify(byStatus)}; ` +
        `${valid.length} valid callbacks: p50 ${valid[Math.floor(valid.length / 2)]} ms, max ${valid[valid.length - 1]} ms; ${received.size} SmsSids handed to the flow`);
    }
  });

  const describeSpec = (spec: Spec) => `#${spec.index} ${spec.kind} ${spec.method ?? 'RAW'} ${String(spec.path ?? spec.raw?.toString('latin1').split('\r\n')[0]).slice(0, 90)}`;

  it('answers every request 2xx or 4xx: never 5xx, never a reset; nothing thrown', function () {
    const bad = results.map((r, i): [HttpResult, Spec] => [r, specs[i]]).filter(([r]) => !(status(r) >= 200 && status(r) < 300) && !(status(r) >= 400 && status(r) < 500))
      .map(([r, spec]) => `${describeSpec(spec)} → ${r.status ?? r.error}`);
    assert.deepEqual(bad.slice(0, 30), [], `${bad.length} requests answered neither 2xx nor 4xx`);
    assert.deepEqual(failures, []);
    const errors = helper.log().args.filter(([entry]) => entry.level <= 20).map(([entry]) => String(entry.msg));
    assert.deepEqual(errors.slice(0, 10), [], 'errors logged');
  });

  it('answers each kind of request as it should', function () {
    const wrong: string[] = [];
    results.forEach((r, i) => {
      const spec = specs[i];
      const ok = status(r) >= 200 && status(r) < 300;
      if (spec.expect === 'accept' && r.status !== 200) wrong.push(`${describeSpec(spec)}: must be accepted, got ${r.status ?? r.error} ${r.body?.toString().slice(0, 80) ?? ''}`);
      if (spec.expect === 'reject' && ok) wrong.push(`${describeSpec(spec)}: must be refused, got ${r.status}`);
      const statuses = spec.status === undefined ? null : ([] as number[]).concat(spec.status);
      if (spec.expect === 'reject' && statuses && r.status !== null && !statuses.includes(r.status)) wrong.push(`${describeSpec(spec)}: must be ${statuses.join(' or ')}, got ${r.status} ${r.body?.toString().slice(0, 80) ?? ''}`);
    });
    const byKind: Record<string, string[]> = {};
    for (const line of wrong) {
      const kind = line.split(' ')[1];
      (byKind[kind] ??= []).push(line);
    }
    const summary = Object.entries(byKind).map(([kind, lines]) => `${kind}: ${lines.length} wrong, e.g. ${lines[0]}`);
    assert.deepEqual(summary, []);
  });

  it('answers every valid callback 200 within Exotel’s 10 s during the storm, and hands each to the flow once', function () {
    const valid = specs.map((spec, i): [Spec, HttpResult] => [spec, results[i]]).filter(([spec]) => spec.kind === 'valid');
    assert.equal(valid.length, TOTAL / VALID_EVERY);
    for (const [spec, r] of valid) {
      assert.equal(r.status, 200, `${describeSpec(spec)} → ${r.status ?? r.error}`);
      assert.ok(r.ms < 10_000, `${describeSpec(spec)} took ${r.ms} ms`);
      const msgs = received.get(present(spec.sid)) ?? [];
      assert.equal(msgs.length, 1, `${spec.sid} reached the flow ${msgs.length} times`);
      assert.equal(msgs[0].payload, spec.want?.body);
      assert.equal(msgs[0].phone, PHONE);
    }
  });

  it('logs and hands on exactly the callbacks answered 200, with what they carried', function () {
    const callback = (spec: Spec) => spec.method === 'POST' || spec.method === 'GET';
    const accepted = new Map<string | undefined, Spec>();
    results.forEach((r, i) => {
      const spec = specs[i];
      if (r.status === 200 && callback(spec)) accepted.set(spec.sid, spec);
    });
    const logged = withStoreFile(path.join(dir, 'exotel-sms.db'), (s) => ({ rows: s.inbound(), unhandled: s.unhandled() }));
    const loggedSids = new Set(logged.rows.map((row) => row.sid));
    const notLogged = [...accepted.keys()].filter((sid) => !loggedSids.has(sid)).map((sid) => `${describeSpec(present(accepted.get(sid)))} (sid ${JSON.stringify(sid).slice(0, 60)})`);
    const notAccepted = [...loggedSids].filter((sid) => !accepted.has(sid)).map((sid) => JSON.stringify(sid).slice(0, 80));
    assert.deepEqual(notLogged.slice(0, 20), [], `${notLogged.length} answered 200 but not in the inbound log under the SmsSid sent`);
    assert.deepEqual(notAccepted.slice(0, 20), [], `${notAccepted.length} in the inbound log but not answered 200`);
    assert.equal(logged.unhandled, 0);

    const problems: string[] = [];
    for (const [sid, spec] of accepted) {
      const msgs = received.get(sid ?? '') ?? [];
      if (msgs.length !== 1) {
        problems.push(`${describeSpec(spec)}: handed on ${msgs.length} times`);
        continue;
      }
      const msg = msgs[0];
      if (!/^\+[1-9]\d{6,14}$/.test(msg.phone)) problems.push(`${describeSpec(spec)}: msg.phone ${JSON.stringify(msg.phone)} is not E.164`);
      if (Number.isNaN(Date.parse(msg.sms.receivedAt)) || new Date(msg.sms.receivedAt).toISOString() !== msg.sms.receivedAt) problems.push(`${describeSpec(spec)}: receivedAt ${msg.sms.receivedAt}`);
      if (typeof msg.payload !== 'string') problems.push(`${describeSpec(spec)}: payload is ${typeof msg.payload}`);
      if (spec.want?.body !== undefined && msg.payload !== spec.want.body) problems.push(`${describeSpec(spec)}: body ${JSON.stringify(msg.payload).slice(0, 60)}, sent ${JSON.stringify(spec.want.body).slice(0, 60)}`);
      if (spec.want?.phone !== undefined && msg.phone !== spec.want.phone) problems.push(`${describeSpec(spec)}: phone ${msg.phone}, sent ${spec.want.phone}`);
    }
    const byKind: Record<string, string[]> = {};
    for (const line of problems) (byKind[line.split(' ')[1]] ??= []).push(line);
    assert.deepEqual(Object.entries(byKind).map(([kind, lines]) => `${kind}: ${lines.length}, e.g. ${lines[0]}`), []);
  });

  it('still serves a valid callback after the storm', async function () {
    const sid = `after-storm-${SEED}`;
    const r = await httpRequest({ url: `${base}${HOOK}${Q}`, headers: { 'content-type': FORM }, body: enc([['SmsSid', sid], ['From', '09876543210'], ['Body', 'YES']]), agent });
    assert.equal(r.status, 200);
    await until(() => received.has(sid), 3000, 'the last callback to reach the flow');
    const tables = withStoreFile(path.join(dir, 'exotel-sms.db'), (s) => s.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    for (const table of ['inbound', 'opt_out', 'opt_out_history', 'conversation']) assert.ok(tables.includes(table), `table ${table} is gone`);
  });
});
