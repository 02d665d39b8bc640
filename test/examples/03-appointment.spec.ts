import assert from 'node:assert/strict';
import sinon from 'sinon';
import { exampleHarness } from '../support/conversation-test';

const ASK = 'Your appointment is scheduled for Jan 20 at 3 PM. Reply C to confirm, R to reschedule.';

describe('example "03 - Appointment confirmation.json"', function () {
  const h = exampleHarness('03 - Appointment confirmation.json');
  let clock: sinon.SinonFakeTimers;
  beforeEach(async function () {
    // fake time that runs on its own, so that an hour can be skipped
    clock = sinon.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    await h.setUp();
  });
  afterEach(async function () {
    await h.tearDown();
    clock.restore();
  });

  it('confirms on C with the date and time from the inject node', async function () {
    h.click('Schedule appointment');
    await h.expectText(ASK);
    await h.reply('/exotel/appointment', 'C');
    await h.expectText('Your appointment on Jan 20 at 3 PM is confirmed. See you then!');
  });

  it('reschedules on R: asks for a new time, then confirms it', async function () {
    h.click('Schedule appointment');
    await h.expectText(ASK);
    await h.reply('/exotel/appointment', 'r');
    await h.expectText('Please reply with a new date and time for your appointment.');
    await h.reply('/exotel/appointment', 'Jan 21, 11 AM');
    await h.expectText('Your appointment is moved to Jan 21, 11 AM. It is confirmed. See you then!');
  });

  it('sends one reminder when no reply comes within the hour', async function () {
    h.click('Schedule appointment');
    await h.expectText(ASK);
    await clock.tickAsync(59 * 60_000);
    await h.expectNothing(100);
    await clock.tickAsync(2 * 60_000);
    await h.expectText('Reminder: your appointment is scheduled for Jan 20 at 3 PM. Reply C to confirm, R to reschedule.');
    await clock.tickAsync(3 * 60 * 60_000);
    await h.expectNothing(100);
    await h.reply('/exotel/appointment', 'C');
    await h.expectText(/is confirmed/);
  });

  it('keeps going after a restart in the middle, and fires a deadline missed while stopped', async function () {
    h.click('Schedule appointment');
    await h.expectText(ASK);
    await h.restart();
    await h.reply('/exotel/appointment', 'R');
    await h.expectText(/new date and time/);
    await h.restart();
    await clock.tickAsync(61 * 60_000);
    await h.expectText(/^Reminder/);
    await h.reply('/exotel/appointment', 'Jan 22 at 10 AM');
    await h.expectText(/moved to Jan 22 at 10 AM/);
  });

  it('asks for C or R on anything else', async function () {
    h.click('Schedule appointment');
    await h.expectText(ASK);
    await h.reply('/exotel/appointment', 'maybe');
    await h.expectText(/Please reply C to confirm your appointment on Jan 20 at 3 PM, or R to reschedule/);
    assert.ok(true);
  });
});
