// The edges of one-time codes that mutation testing found untested: the lengths a code may have, the
// stored hash's exact form (codes stored before an upgrade must still verify after it), replies that
// are numbers or not text, a stored hash of the wrong length, and sealed texts in any script.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { codeFor, codeFromReply, codeMatches, generateCode, hashCode, openText, sealText } from '../../src/sms/one-time-code';

describe('one-time codes at their edges', function () {
  it('has 4 to 10 digits, whole numbers only', function () {
    assert.match(generateCode(4), /^\d{4}$/);
    assert.match(generateCode(10), /^\d{10}$/);
    for (const length of [3, 11, 4.5, NaN]) assert.throws(() => generateCode(length), { message: 'a code has 4 to 10 digits' }, String(length));
  });

  it('derives the code of an SMS-caused start from the secret and what names the start: the same again, another for anything else', function () {
    const key = Buffer.alloc(32, 7);
    const code = codeFor(key, ['otp', '+919876543210', 'SM1']);
    assert.match(code, /^\d{6}$/);
    assert.equal(codeFor(key, ['otp', '+919876543210', 'SM1']), code, 'handed on again: the same code');
    // the digits of the HMAC's first 8 bytes, as a number, kept to the length (leading zeros kept)
    const n = createHmac('sha256', key).update('one-time code\u0000otp\u0000+919876543210\u0000SM1').digest().readBigUInt64BE(0);
    assert.equal(code, (n % 1_000_000n).toString().padStart(6, '0'));
    const others = [codeFor(key, ['otp', '+919876543210', 'SM2']), codeFor(key, ['otp', '+919812345678', 'SM1']), codeFor(key, ['survey', '+919876543210', 'SM1']), codeFor(Buffer.alloc(32, 8), ['otp', '+919876543210', 'SM1'])];
    assert.equal(new Set([code, ...others]).size, 5, 'another SMS, customer, conversation or secret: another code');
    // parts are kept apart: ["ab", "c"] is not ["a", "bc"]
    assert.notEqual(codeFor(key, ['ab', 'c', 'SM1'], 10), codeFor(key, ['a', 'bc', 'SM1'], 10));
    assert.match(codeFor(key, ['otp', 'x', 'SM1'], 4), /^\d{4}$/);
    assert.match(codeFor(key, ['otp', 'x', 'SM1'], 10), /^\d{10}$/);
    for (const length of [3, 11, 4.5]) assert.throws(() => codeFor(key, ['otp'], length), { message: 'a code has 4 to 10 digits' });
    const many = Array.from({ length: 2_000 }, (_, i) => codeFor(key, ['otp', '+919876543210', `SM${i}`]));
    assert.ok(new Set(many).size > 1_990, 'spread like random codes');
    assert.ok(many.some((c) => c.startsWith('0')), 'leading zeros kept');
  });

  it('stores the hash in the form earlier releases stored it: salted SHA-256, or "k1:" and an HMAC under the code secret', function () {
    const salt = 'c0ffee';
    const key = randomBytes(32);
    assert.equal(hashCode('123456', salt), createHash('sha256').update('c0ffee\u0000123456').digest('hex'));
    assert.equal(hashCode('123456', salt, key), 'k1:' + createHmac('sha256', key).update('c0ffee\u0000123456').digest('hex'));
    // the separator keeps salt and code apart: "c0ffee1" + "23456" is not "c0ffee" + "123456"
    assert.notEqual(hashCode('23456', 'c0ffee1'), hashCode('123456', salt));
  });

  it('reads a reply that is a number, and no code from one that is not text', function () {
    assert.equal(codeFromReply(123456), '123456');
    assert.equal(codeFromReply(null), '');
    assert.equal(codeFromReply({ code: '123456' }), '');
    assert.equal(codeFromReply(' 12 34-5.6 '), '123456');
    const salt = 'c0ffee';
    assert.equal(codeMatches(123456, hashCode('123456', salt), salt), true);
    assert.equal(codeMatches({ code: '123456' }, hashCode('', salt), salt), true, 'a non-text reply is the empty code (which no generated code is)');
  });

  it('says no, not an exception, for a stored hash of the wrong length, or a keyed hash without its key', function () {
    assert.equal(codeMatches('1234', 'abcd', 'salt'), false);
    const key = randomBytes(32);
    const keyed = hashCode('123456', 'salt', key);
    assert.equal(codeMatches('123456', keyed, 'salt', key), true);
    assert.equal(codeMatches('123456', keyed, 'salt'), false);
    assert.equal(codeMatches('123456', keyed, 'salt', randomBytes(32)), false);
  });

  it('seals and opens a text in any script, and opens nothing without the key', function () {
    const key = randomBytes(32);
    const sealed = sealText('आपका कोड 123456 है ✓', key);
    assert.equal(openText(sealed, key), 'आपका कोड 123456 है ✓');
    assert.equal(openText(sealed, undefined), null);
    assert.equal(openText(sealed, randomBytes(32)), null);
    assert.equal(openText('not sealed', key), null);
  });
});
