import assert from 'node:assert/strict';
import { hasWebhookToken, parseAllowList, basicPassword } from '../../src/exotel/auth';

describe('webhook authentication', function () {
  const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
  it('accepts the token in the query or as the Basic password', function () {
    assert.equal(hasWebhookToken('s3cret', 's3cret', undefined), true);
    assert.equal(hasWebhookToken('s3cret', undefined, basic('exotel', 's3cret')), true);
    assert.equal(hasWebhookToken('s3cret', undefined, basic('', 's3cret')), true);
  });
  it('refuses a missing, wrong or partial token', function () {
    assert.equal(hasWebhookToken('s3cret', undefined, undefined), false);
    assert.equal(hasWebhookToken('s3cret', 's3cre', undefined), false);
    assert.equal(hasWebhookToken('s3cret', 's3cret2', undefined), false);
    assert.equal(hasWebhookToken('s3cret', undefined, basic('s3cret', 'x')), false);
    assert.equal(hasWebhookToken('s3cret', undefined, 'Bearer s3cret'), false);
  });
  it('reads passwords with colons', function () {
    assert.equal(basicPassword(basic('u', 'a:b')), 'a:b');
  });
  it('allow-lists IPv4 and IPv6 ranges, including IPv4-mapped addresses', function () {
    const list = parseAllowList('52.74.0.0/16, 10.1.2.3 2001:db8::/32');
    assert.ok(list);
    assert.equal(list.allows('52.74.200.1'), true);
    assert.equal(list.allows('::ffff:52.74.1.1'), true);
    assert.equal(list.allows('10.1.2.3'), true);
    assert.equal(list.allows('10.1.2.4'), false);
    assert.equal(list.allows('2001:db8::1'), true);
    assert.equal(list.allows('2001:db9::1'), false);
    assert.equal(list.allows(undefined), false);
  });
  it('an empty list allows everyone; a bad entry is named', function () {
    assert.equal(parseAllowList(''), null);
    assert.equal(parseAllowList(undefined), null);
    assert.throws(() => parseAllowList('10.0.0.0/33'), /"10.0.0.0\/33" is not an IP address or CIDR range/);
    assert.throws(() => parseAllowList('example.com'), /"example.com"/);
    assert.throws(() => parseAllowList('10.0.0.0/'), /"10.0.0.0\/"/, 'an empty prefix is not /0');
    assert.throws(() => parseAllowList('1.2.3.4/8/9'), /"1.2.3.4\/8\/9"/);
  });
});
