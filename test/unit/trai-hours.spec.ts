// TRAI's hours for promotional and service-explicit SMS: 10:00 to 21:00 IST, whatever the machine's time zone.
import assert from 'node:assert/strict';
import { istClock, keepsPromotionalHours, promotionalSendAt } from '../../src/sms/trai-hours';

/** A moment given as India's clock shows it. */
const ist = (iso: string) => Date.parse(`${iso}+05:30`);

describe('TRAI promotional hours', () => {
  it('sends at once from 10:00 to 20:59:59 IST', () => {
    for (const at of ['2026-03-10T10:00:00', '2026-03-10T14:30:00', '2026-03-10T20:59:59.999']) {
      assert.equal(promotionalSendAt(ist(at)), ist(at), at);
    }
  });

  it('holds a send before 10:00 until 10:00 the same day', () => {
    assert.equal(promotionalSendAt(ist('2026-03-10T09:59:59.999')), ist('2026-03-10T10:00:00'));
    assert.equal(promotionalSendAt(ist('2026-03-10T00:00:00')), ist('2026-03-10T10:00:00'));
    assert.equal(promotionalSendAt(ist('2026-03-10T03:15:00')), ist('2026-03-10T10:00:00'));
  });

  it('holds a send from 21:00 until 10:00 the next day, across midnight, month and year', () => {
    assert.equal(promotionalSendAt(ist('2026-03-10T21:00:00')), ist('2026-03-11T10:00:00'));
    assert.equal(promotionalSendAt(ist('2026-03-10T23:59:59.999')), ist('2026-03-11T10:00:00'));
    assert.equal(promotionalSendAt(ist('2026-03-31T22:00:00')), ist('2026-04-01T10:00:00'));
    assert.equal(promotionalSendAt(ist('2026-12-31T21:30:00')), ist('2027-01-01T10:00:00'));
  });

  it('reads India’s clock, not UTC’s: 04:29 UTC is 09:59 IST, 15:30 UTC is 21:00 IST', () => {
    assert.equal(promotionalSendAt(Date.parse('2026-03-10T04:29:00Z')), Date.parse('2026-03-10T04:30:00Z'));
    assert.equal(promotionalSendAt(Date.parse('2026-03-10T04:30:00Z')), Date.parse('2026-03-10T04:30:00Z'));
    assert.equal(promotionalSendAt(Date.parse('2026-03-10T15:30:00Z')), Date.parse('2026-03-11T04:30:00Z'));
    // 19:00 UTC on the 10th is already 00:30 on the 11th in India
    assert.equal(promotionalSendAt(Date.parse('2026-03-10T19:00:00Z')), Date.parse('2026-03-11T04:30:00Z'));
  });

  it('before 1970 too (the time of day is never negative)', () => {
    assert.equal(promotionalSendAt(ist('1969-12-31T22:00:00')), ist('1970-01-01T10:00:00'));
  });

  it('shows a time as India’s clock does', () => {
    assert.equal(istClock(ist('2026-03-11T10:00:00')), '10:00');
    assert.equal(istClock(ist('2026-03-11T09:05:59')), '09:05');
    assert.equal(istClock(Date.parse('2026-03-10T18:45:00Z')), '00:15');
  });

  it('applies to promotional and service-explicit sends, by template or SmsType', () => {
    assert.equal(keepsPromotionalHours('promotional', undefined), true);
    assert.equal(keepsPromotionalHours('service-explicit', ''), true);
    assert.equal(keepsPromotionalHours(undefined, 'promotional'), true);
    assert.equal(keepsPromotionalHours(undefined, 'transactional_opt_in'), true);
    assert.equal(keepsPromotionalHours('transactional', 'promotional'), true, 'either one');
    assert.equal(keepsPromotionalHours('transactional', ''), false);
    assert.equal(keepsPromotionalHours('service-implicit', 'transactional'), false);
    assert.equal(keepsPromotionalHours(undefined, undefined), false);
  });
});
