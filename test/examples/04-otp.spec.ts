import assert from 'node:assert/strict';
import sinon from 'sinon';
import { exampleHarness } from '../support/conversation-test';
import { present } from '../support/present';

const CODE_SMS = /^Your verification code is (\d{6})\. Reply with the code to verify your account\.$/;

describe('example "04 - OTP verification by reply.json"', function () {
  const h = exampleHarness('04 - OTP verification by reply.json');
  afterEach(() => h.tearDown());

  async function sendCode() {
    h.click('Send verification code');
    const text = await h.expectText(CODE_SMS);
    return present(CODE_SMS.exec(text), 'a code in the SMS')[1];
  }
  const other = (code: string) => (code === '111111' ? '222222' : '111111');

  describe('in real time', function () {
    beforeEach(() => h.setUp());

    it('verifies the right code', async function () {
      const code = await sendCode();
      await h.reply('/exotel/otp', code);
      await h.expectText('Your account has been verified successfully.');
    });

    it('a wrong code gets a retry message; the right one still works', async function () {
      const code = await sendCode();
      await h.reply('/exotel/otp', other(code));
      await h.expectText('That code is not right. Please try again (2 attempts left).');
      await h.reply('/exotel/otp', code);
      await h.expectText(/verified successfully/);
    });

    it('three wrong codes: too many attempts, and the right one is refused after', async function () {
      const code = await sendCode();
      await h.reply('/exotel/otp', other(code));
      await h.expectText(/2 attempts left/);
      await h.reply('/exotel/otp', other(code));
      await h.expectText(/1 attempts left/);
      await h.reply('/exotel/otp', other(code));
      await h.expectText(/expired or was entered wrongly too many times/);
      await h.reply('/exotel/otp', code);
      await h.expectText(/ask for a new code/);
    });

    it('a callback repeated by Exotel verifies once and sends nothing more', async function () {
      const code = await sendCode();
      const sid = await h.reply('/exotel/otp', code);
      await h.expectText(/verified successfully/);
      await h.reply('/exotel/otp', code, { sid });
      await h.expectNothing();
    });

    it('a repeated wrong code uses one attempt, not two', async function () {
      const code = await sendCode();
      const sid = await h.reply('/exotel/otp', other(code));
      await h.expectText(/2 attempts left/);
      await h.reply('/exotel/otp', other(code), { sid });
      await h.expectNothing();
      await h.reply('/exotel/otp', other(code));
      await h.expectText(/1 attempts left/);
    });

    it('each code is new, and a new code replaces the one before', async function () {
      const first = await sendCode();
      const second = await sendCode();
      // Two random 6-digit codes are the same once in a million runs; a generator that repeats fails here.
      assert.notEqual(second, first, 'a second code, not the first again');
      await h.reply('/exotel/otp', first);
      await h.expectText('That code is not right. Please try again (2 attempts left).');
      await h.reply('/exotel/otp', second);
      await h.expectText('Your account has been verified successfully.');
    });
  });

  describe('with time skipped', function () {
    let clock: sinon.SinonFakeTimers;
    beforeEach(async function () {
      clock = sinon.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      await h.setUp();
    });
    afterEach(() => clock.restore());

    it('an expired code is refused', async function () {
      const code = await sendCode();
      await clock.tickAsync(11 * 60_000);
      await h.reply('/exotel/otp', code);
      await h.expectText('Your verification code has expired or was entered wrongly too many times. Please ask for a new code.');
    });
  });
});
