// The edges of the webhook's guards that mutation testing found untested: IPv6 addresses and prefixes
// in the allow-list, the allow-list's separators and secrets compared in turn, and reading a callback's
// body from the stream with its limits.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { allowListEntries, isIPv6Address, parseAllowListEntry } from '../../src/exotel/allow-list';
import { basicPassword, hasWebhookToken, parseAllowList, secretEquals } from '../../src/exotel/auth';
import { BodyError, readRawBody } from '../../src/exotel/request-body';

describe('IPv6 addresses in the allow-list', function () {
  it('takes eight groups, "::" for zeros, and an IPv4 address as the last two groups', function () {
    const good = ['1:2:3:4:5:6:7:8', '2001:db8::', '::1', '::', '2001:db8::8:800:200c:417a', '::ffff:10.1.2.3', '1:2:3:4:5:6:10.1.2.3', 'fe80::1:2:3:4:5:6', 'ABCD:ef01::1'];
    const bad = ['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '1:2:3:4:5:6:7::8', '10.1.2.3::1', '1:2:3:4:5:6:7:10.1.2.3', '::ffff:10.1.2.300', '12345::1', 'g::1', '1:2:3:4:5:6:7:', ':1:2:3:4:5:6:7', '10.1.2.3:1:2:3:4:5:6'];
    for (const text of good) assert.equal(isIPv6Address(text), true, text);
    for (const text of bad) assert.equal(isIPv6Address(text), false, text);
  });

  it('reads prefixes up to 32 for IPv4 and 128 for IPv6, and a lone address as the whole range', function () {
    assert.deepEqual(parseAllowListEntry('10.1.2.3'), { address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseAllowListEntry('2001:db8::1'), { address: '2001:db8::1', prefix: 128, family: 'ipv6' });
    assert.deepEqual(parseAllowListEntry('2001:db8::/128'), { address: '2001:db8::', prefix: 128, family: 'ipv6' });
    assert.deepEqual(parseAllowListEntry('2001:db8::/33'), { address: '2001:db8::', prefix: 33, family: 'ipv6' });
    assert.deepEqual(parseAllowListEntry('10.0.0.0/32'), { address: '10.0.0.0', prefix: 32, family: 'ipv4' });
    for (const text of ['2001:db8::/129', '10.0.0.0/33', '10.0.0.0/x8', '10.0.0.0/8x', '10.0.0.0/0008', '10.0.0.0/-1']) assert.equal(parseAllowListEntry(text), null, text);
  });

  it('splits the list at commas, semicolons and any run of spaces, and names the first bad entry', function () {
    assert.deepEqual(allowListEntries(' 10.0.0.1 ,, ;\n 10.0.0.2\t10.0.0.3 ').entries.map((e) => e.address), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    assert.deepEqual(allowListEntries('10.0.0.1, nonsense, also-bad'), { entries: [{ address: '10.0.0.1', prefix: 32, family: 'ipv4' }], bad: 'nonsense' });
    assert.deepEqual(allowListEntries(undefined), { entries: [], bad: null });
  });

  it('lets an IPv6 caller in by its range, and no caller without an address', function () {
    const list = parseAllowList('2001:db8::/32')!;
    assert.equal(list.allows('2001:db8:1::5'), true);
    assert.equal(list.allows('2001:db9::5'), false);
    assert.equal(list.allows(undefined), false);
    assert.equal(list.allows('not an address'), false);
    const v4 = parseAllowList('10.1.2.3')!;
    assert.equal(v4.allows('::FFFF:10.1.2.3'), true, 'an IPv4-mapped address, in capitals');
    assert.equal(v4.allows('10.1.2.4'), false);
  });
});

describe('secrets and the webhook token', function () {
  it('compares each secret afresh when the expected one changes', function () {
    assert.equal(secretEquals('first-secret', 'first-secret'), true);
    assert.equal(secretEquals('second-secret', 'second-secret'), true);
    assert.equal(secretEquals('second-secret', 'first-secret'), false);
    assert.equal(secretEquals('first-secret', 'first-secret'), true);
    assert.equal(secretEquals('first-secret', undefined), false);
    assert.equal(secretEquals('', ''), true);
  });

  it('takes the token from the query or the Basic password, not from elsewhere in the header', function () {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    assert.equal(hasWebhookToken('tok', 'tok', undefined), true);
    assert.equal(hasWebhookToken('tok', undefined, basic('exotel:tok')), true);
    assert.equal(hasWebhookToken('tok', 'wrong', basic('exotel:tok')), true);
    assert.equal(hasWebhookToken('tok', undefined, basic('tok')), false, 'a user name alone is no password');
    assert.equal(hasWebhookToken('tok', undefined, basic('tok:')), false);
    assert.equal(basicPassword(basic('a:b:c')), 'b:c');
    assert.equal(basicPassword(`basic   ${Buffer.from('u:p').toString('base64')}  `), 'p');
    assert.equal(basicPassword(`Bearer ${Buffer.from('u:p').toString('base64')}`), undefined);
    assert.equal(basicPassword(`xBasic ${Buffer.from('u:p').toString('base64')}`), undefined);
    assert.equal(basicPassword('Basic not*base64'), undefined);
    assert.equal(basicPassword(''), undefined);
  });
});

describe('reading a callback body from the stream', function () {
  type Req = IncomingMessage & { body?: unknown; _body?: boolean };
  function stream(headers: Record<string, string> = {}): PassThrough & Req {
    const s = new PassThrough() as unknown as PassThrough & Req;
    (s as unknown as { headers: Record<string, string> }).headers = headers;
    return s;
  }

  it('reads the chunks as they come, up to the limit exactly', async function () {
    const req = stream();
    const read = readRawBody(req, 10);
    req.write('12345');
    req.end('67890');
    assert.equal((await read).body.toString(), '1234567890');
    assert.equal((await read).contentType, undefined);
  });

  it('refuses one byte over the limit with a 413, and ignores what follows', async function () {
    const req = stream();
    const read = readRawBody(req, 10);
    req.write('123456');
    req.write('78901');
    req.end('more');
    await assert.rejects(read, (err: unknown) => err instanceof BodyError && err.status === 413 && err.message === 'the body is larger than 0.009765625 KB');
  });

  it('refuses by the declared Content-Length before reading, one byte over only', async function () {
    await assert.rejects(readRawBody(stream({ 'content-length': '11' }), 10), { status: 413 });
    const req = stream({ 'content-length': '10' });
    const read = readRawBody(req, 10);
    req.end('1234567890');
    assert.equal((await read).body.length, 10);
  });

  it('answers 400 when the stream fails', async function () {
    const req = stream();
    const read = readRawBody(req, 10);
    req.destroy(new Error('socket hang up'));
    await assert.rejects(read, (err: unknown) => err instanceof BodyError && err.status === 400 && err.message === 'the body could not be read (socket hang up)');
  });

  it('takes a body another parser already read: nothing, a Buffer, a text or an object', async function () {
    const parsed = (body: unknown): Req => Object.assign(stream(), { _body: true, body });
    assert.deepEqual(await readRawBody(parsed(undefined)), { body: Buffer.alloc(0) });
    assert.deepEqual(await readRawBody(parsed(null)), { body: Buffer.alloc(0) });
    assert.deepEqual(await readRawBody(parsed(Buffer.from('a=1'))), { body: Buffer.from('a=1') });
    assert.deepEqual(await readRawBody(parsed('a=1')), { body: Buffer.from('a=1') });
    assert.deepEqual(await readRawBody(parsed({ a: 1 })), { body: Buffer.from('{"a":1}'), contentType: 'application/json' });
    await assert.rejects(readRawBody(parsed('x'.repeat(11)), 10), { status: 413 });
    assert.equal((await readRawBody(parsed('x'.repeat(10)), 10)).body.length, 10);
  });
});
