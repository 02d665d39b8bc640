import assert from 'node:assert/strict';
import { toE164 } from '../../src/sms/phone';

describe('phone numbers to E.164', function () {
  const valid = [
    // Indian forms, default country IN
    ['9876543210', '+919876543210'],
    ['09876543210', '+919876543210'],
    ['+919876543210', '+919876543210'],
    ['+91 98765 43210', '+919876543210'],
    ['+91-98765-43210', '+919876543210'],
    ['919876543210', '+919876543210'],
    ['00919876543210', '+919876543210'],
    ['0091 98765 43210', '+919876543210'],
    ['(0)98765 43210', '+919876543210'],
    ['98765 43210', '+919876543210'],
    [' 9876543210 ', '+919876543210'],
    ['011 4012 3456', '+911140123456'],
    ['01140123456', '+911140123456'],
    ['+91 80 4712 3456', '+918047123456'],
    [9876543210, '+919876543210'],
    // international
    ['+1 415 555 2671', '+14155552671'],
    ['+44 7911 123456', '+447911123456'],
    ['0044 7911 123456', '+447911123456'],
    ['+971 50 123 4567', '+971501234567'],
    ['+65 8123 4567', '+6581234567'],
  ];
  for (const [input, expected] of valid) {
    it(`${JSON.stringify(input)} → ${expected}`, function () {
      assert.equal(toE164(input, 'IN'), expected);
    });
  }

  const invalid = ['', '   ', 'hello', '12345', '+91 12345', '98765432', '+999 123456789', null, undefined, {}, '9'.repeat(50)];
  for (const input of invalid) {
    it(`${JSON.stringify(input)} is not a number`, function () {
      assert.equal(toE164(input, 'IN'), null);
    });
  }

  it('reads national numbers in the default country', function () {
    assert.equal(toE164('07911 123456', 'GB'), '+447911123456');
    assert.equal(toE164('07911 123456', 'gb'), '+447911123456');
  });

  it('accepts a merely possible number for inbound SMS but not for sending', function () {
    // 55555 55555 is the right length for India but not an allocated range
    assert.equal(toE164('5555555555', 'IN', 'valid'), null);
    assert.equal(toE164('5555555555', 'IN', 'possible'), '+915555555555');
  });
});
