import assert from 'node:assert/strict';
import { exampleHarness } from '../support/conversation-test';
import { present } from '../support/present';

const HOOK = '/exotel/sms';

describe('example "06 - All scenarios on one number.json"', function () {
  const h = exampleHarness('06 - All scenarios on one number.json');
  beforeEach(() => h.setUp());
  afterEach(() => h.tearDown());

  it('routes replies to the conversation the customer is in, one after another', async function () {
    h.click('Send survey');
    await h.expectText('How was your experience? Reply 1 for Great, 2 for Good, 3 for Poor.');
    await h.reply(HOOK, '1');
    await h.expectText('Thank you for your feedback! We are glad you had a great experience.');

    h.click('Schedule appointment');
    await h.expectText('Your appointment is scheduled for Jan 20 at 3 PM. Reply C to confirm, R to reschedule.');
    await h.reply(HOOK, 'C');
    await h.expectText('Your appointment on Jan 20 at 3 PM is confirmed. See you then!');

    h.click('Send verification code');
    const [codeSms] = await h.expectTexts(1);
    const code = present(/code is (\d{6})/.exec(codeSms), 'a code in the SMS')[1];
    await h.reply(HOOK, code);
    await h.expectText('Your account has been verified successfully.');

    await h.reply(HOOK, 'ORDER');
    await h.expectText('Please reply with your order ID.');
    await h.reply(HOOK, 'A77');
    await h.expectText('Your order A77 status: Shipped. Expected delivery: Jan 22.');

    await h.reply(HOOK, 'hello');
    await h.expectText(/did not understand.*ORDER.*HELP.*STOP/);
  });

  it('handles STOP, START and HELP first, whatever conversation is active', async function () {
    h.click('Send survey');
    await h.expectTexts(1);
    await h.reply(HOOK, 'HELP');
    await h.expectText(/reply ORDER for your order status/);
    // the survey is still open
    await h.reply(HOOK, '2');
    await h.expectText(/good experience/);

    h.click('Schedule appointment');
    await h.expectTexts(1);
    await h.reply(HOOK, 'STOP');
    await h.expectText(/unsubscribed from ExampleStore.*Reply START to subscribe again/);
    const requests = h.mock.requests.length;
    assert.equal(h.mock.requests[requests - 1].form.To, '+919876543210', 'the confirmation went to the customer');
    // opted out: the conversation's answers and new messages reach nobody
    await h.reply(HOOK, 'C');
    await h.expectNothing();
    h.click('Send survey');
    await h.expectNothing();
    assert.deepEqual(h.mock.requests.slice(requests).map((r) => r.form.To), [], 'the API never saw a message to the opted-out number');

    await h.reply(HOOK, 'START');
    await h.expectText('You are now subscribed to messages from ExampleStore. Reply STOP to unsubscribe.');
    assert.equal(h.mock.requests.length, requests + 1);
  });

  it('answers a stranger helpfully', async function () {
    await h.reply(HOOK, 'Is the shop open today?', { from: '+919812345678' });
    await h.expectText(/did not understand/);
    assert.equal(h.mock.sent[0].To, '+919812345678');
  });
});
