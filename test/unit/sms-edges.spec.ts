// The edges of the SMS helpers that mutation testing found untested: the length limits and the cache
// of phone numbers, the "00" prefix from a country that dials out otherwise, lists of numbers as users
// bring them, and message templates.
import assert from 'node:assert/strict';
import { toE164, numberCacheSize, clearNumberCache, MAX_NUMBER_LENGTH } from '../../src/sms/phone';
import { readNumberList } from '../../src/sms/number-list';
import { hasPlaceholders, renderText } from '../../src/sms/template';

describe('phone numbers at their limits', function () {
  /** +91 98765 43210 padded with spaces inside to `length` characters. */
  const padded = (length: number) => '+91' + ' '.repeat(length - 13) + '9876543210';

  it(`takes a number of ${MAX_NUMBER_LENGTH} characters and refuses one of ${MAX_NUMBER_LENGTH + 1}`, function () {
    assert.equal(padded(MAX_NUMBER_LENGTH).length, MAX_NUMBER_LENGTH);
    assert.equal(toE164(padded(MAX_NUMBER_LENGTH)), '+919876543210');
    assert.equal(toE164(padded(MAX_NUMBER_LENGTH + 1)), null);
  });

  it('trims the spaces round a number before counting, up to twice the limit', function () {
    const spaced = (length: number) => '+919876543210' + ' '.repeat(length - 13);
    assert.equal(toE164(spaced(MAX_NUMBER_LENGTH * 2)), '+919876543210');
    assert.equal(toE164(spaced(MAX_NUMBER_LENGTH * 2 + 1)), null);
    assert.equal(toE164(' '.repeat(10)), null);
  });

  it('reads "00" as the international prefix whatever the default country (the US dials 011)', function () {
    assert.equal(toE164('0044 20 7946 0958', 'US'), '+442079460958');
  });

  it('falls back to India for an empty default country, and checks "possible" only when asked', function () {
    assert.equal(toE164('9876543210', ''), '+919876543210');
    assert.equal(toE164('5555555555', 'IN'), null);
    assert.equal(toE164('5555555555', 'IN', 'possible'), '+915555555555');
    assert.equal(toE164(true), null);
    assert.equal(toE164({ toString: () => '9876543210' }), null, 'an object is not a number, whatever its text');
    assert.equal(toE164('call me on 9876543210'), null, 'a number inside other text is not taken out of it');
  });

  it('remembers at most 10,000 answers, forgetting the oldest, and gives the same answers from memory', function () {
    clearNumberCache();
    assert.equal(numberCacheSize(), 0);
    assert.equal(toE164('9876543210'), '+919876543210');
    assert.equal(numberCacheSize(), 1);
    assert.equal(toE164('9876543210'), '+919876543210', 'the remembered answer');
    assert.equal(numberCacheSize(), 1);
    for (let i = 0; i < 10_000; i++) toE164(String(9_000_000_000 + i));
    assert.equal(numberCacheSize(), 10_000);
    assert.equal(toE164('9876543210'), '+919876543210', 'worked out again after it was forgotten');
    assert.equal(numberCacheSize(), 10_000);
    clearNumberCache();
  });
});

describe('lists of numbers', function () {
  it('takes an array of numbers, texts and records with a phone column in any case', function () {
    assert.deepEqual(
      readNumberList(['9876543210', 9812345678, { Phone: '+919800000001' }, { MSISDN: 919800000002 }, { name: 'Asha' }, { number: null }, null, true]),
      ['9876543210', '9812345678', '+919800000001', '919800000002', '', '', '', ''],
    );
  });

  it('reads one number a line, from text or a Buffer, ignoring blank lines, a BOM and Windows line ends', function () {
    assert.deepEqual(readNumberList('\uFEFF9876543210\r\n\r\n  \n9812345678\n'), ['9876543210', '9812345678']);
    assert.deepEqual(readNumberList(Buffer.from('9876543210\n9812345678')), ['9876543210', '9812345678']);
    assert.deepEqual(readNumberList(''), []);
    assert.deepEqual(readNumberList('\n \n'), []);
    assert.equal(readNumberList(42), null);
    assert.equal(readNumberList({ phone: '9876543210' }), null);
  });

  it('reads CSV by its header, whatever the separator, with quoted cells', function () {
    assert.deepEqual(readNumberList('Name,Mobile Number\n"Rao, Asha",9876543210\nRavi , 98123 45678 \n'), ['9876543210', '98123 45678']);
    assert.deepEqual(readNumberList('name;phone\nAsha;9876543210'), ['9876543210']);
    assert.deepEqual(readNumberList('name\tnumber\nAsha\t9876543210'), ['9876543210']);
    assert.deepEqual(readNumberList('phone,name\n"98765 ""43210""",Asha'), ['98765 "43210"']);
    assert.deepEqual(readNumberList('name,phone\nAsha'), [''], 'a row without the column');
  });

  it('takes the first column when the header names none, and a first line with digits as a number', function () {
    assert.deepEqual(readNumberList('contact,name\n9876543210,Asha'), ['9876543210']);
    assert.deepEqual(readNumberList('9876543210,Asha\n9812345678,Ravi'), ['9876543210', '9812345678']);
  });
});

describe('message templates', function () {
  it('fills placeholders from the message without HTML escaping, and leaves plain text alone', function () {
    assert.equal(hasPlaceholders('Hello {{name}}'), true);
    assert.equal(hasPlaceholders('Hello {name}'), false);
    assert.equal(renderText('Order {{order.id}} & co: {{note}}', { order: { id: 'A<1>' }, note: 'Tom & Jerry' }), 'Order A<1> & co: Tom & Jerry');
    assert.equal(renderText('Order {{id}} is ready', {}), 'Order  is ready');
    assert.equal(renderText('Plain text & more', {}), 'Plain text & more');
  });
});
