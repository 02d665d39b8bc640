// TRAI's hours for promotional and service-explicit SMS: 10:00 to 21:00 IST, whatever the machine's time zone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { istClock, promotionalKind, promotionalSendAt } from '../../src/sms/trai-hours';

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
    assert.equal(promotionalKind('promotional', undefined), 'promotional');
    assert.equal(promotionalKind('service-explicit', ''), 'service-explicit');
    assert.equal(promotionalKind(undefined, 'promotional'), 'promotional');
    assert.equal(promotionalKind(undefined, 'transactional_opt_in'), 'service-explicit', 'Exotel’s name for it');
    assert.equal(promotionalKind('service-explicit', 'promotional'), 'service-explicit', 'the template’s category first');
    assert.equal(promotionalKind('transactional', 'promotional'), 'promotional', 'either one');
    assert.equal(promotionalKind('transactional', ''), null);
    assert.equal(promotionalKind('service-implicit', 'transactional'), null);
    assert.equal(promotionalKind(undefined, 'toString'), null, 'not a property of every object');
    assert.equal(promotionalKind(undefined, undefined), null);
  });

  it('gives the same answers whatever the machine’s time zone (run in three others)', function () {
    this.timeout(60_000);
    const moments = ['2026-03-10T09:59:00Z', '2026-03-10T18:29:00Z', '2026-03-10T18:31:00Z', '2026-10-25T01:30:00Z', '2026-03-29T01:30:00Z'].map(Date.parse);
    const expected = moments.map((moment) => [promotionalSendAt(moment), istClock(moment)]);
    const module = path.join(__dirname, '..', '..', 'src', 'sms', 'trai-hours.ts');
    const script = `const h = require(${JSON.stringify(module)}); console.log(JSON.stringify(${JSON.stringify(moments)}.map((m) => [h.promotionalSendAt(m), h.istClock(m)])))`;
    // UTC+14, UTC-8/-7 with daylight saving, UTC+1/+2 with daylight saving (the moments straddle the changes)
    for (const zone of ['Pacific/Kiritimati', 'America/Los_Angeles', 'Europe/Berlin']) {
      const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env: { ...process.env, TZ: zone }, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), expected, zone);
    }
  });
});
