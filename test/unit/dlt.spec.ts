// The DLT template matcher: what operators accept (fixed parts exactly, each {#var#} at most 30
// characters) and how the first difference is told to the user.
import assert from 'node:assert/strict';
import { describeDifference, matchTemplate, MAX_VARIABLE_LENGTH, typedTextCouldMatch, variableCount } from '../../src/sms/dlt';

const OTP = 'Your OTP is {#var#}. Valid for 10 minutes. - ACME';

describe('DLT template matcher', () => {
  describe('matches', () => {
    it('a text whose variable is filled in', () => {
      assert.equal(matchTemplate(OTP, 'Your OTP is 482913. Valid for 10 minutes. - ACME'), null);
    });

    it('a template without variables only by the same text', () => {
      assert.equal(matchTemplate('Thanks for shopping with us', 'Thanks for shopping with us'), null);
      assert.notEqual(matchTemplate('Thanks for shopping with us', 'Thanks for shopping with us!'), null);
      assert.notEqual(matchTemplate('Thanks for shopping with us', 'thanks for shopping with us'), null, 'case counts');
      assert.notEqual(matchTemplate('Thanks for shopping with us', 'Thanks  for shopping with us'), null, 'spaces count');
    });

    it('variables of 0 to 30 characters, not 31', () => {
      const template = 'Hi {#var#}, bye';
      assert.equal(matchTemplate(template, 'Hi , bye'), null, 'an empty variable');
      assert.equal(matchTemplate(template, `Hi ${'x'.repeat(MAX_VARIABLE_LENGTH)}, bye`), null, '30 characters');
      const diff = matchTemplate(template, `Hi ${'x'.repeat(MAX_VARIABLE_LENGTH + 1)}, bye`);
      assert.deepEqual(diff && { position: diff.position, variableLength: diff.variableLength, variableLimit: diff.variableLimit }, { position: 4, variableLength: 31, variableLimit: 30 });
    });

    it('variables at the start and at the end', () => {
      const template = '{#var#} is your code for {#var#}';
      assert.equal(matchTemplate(template, '1234 is your code for login'), null);
      assert.equal(matchTemplate(template, ' is your code for '), null);
      const tooLong = matchTemplate(template, `1234 is your code for ${'y'.repeat(31)}`);
      assert.ok(tooLong);
      assert.equal(tooLong.expected, '', 'the template ends there');
      assert.equal(tooLong.afterVariable, true);
      assert.equal(tooLong.position, 23 + 30, 'the text goes on after the 30 characters the variable may take');
      assert.equal(tooLong.found, 'y');
    });

    it('adjacent variables, up to 30 characters each', () => {
      const template = 'Code {#var#}{#var#} ok';
      assert.equal(matchTemplate(template, `Code ${'a'.repeat(60)} ok`), null);
      const diff = matchTemplate(template, `Code ${'a'.repeat(61)} ok`);
      assert.equal(diff?.variableLength, 61);
      assert.equal(diff?.variableLimit, 60);
    });

    it('several variables, each within its own limit', () => {
      const template = 'Dear {#var#}, your order {#var#} ships on {#var#}.';
      assert.equal(matchTemplate(template, 'Dear Asha, your order A-1029 ships on 12 Jan.'), null);
      assert.equal(variableCount(template), 3);
      assert.notEqual(matchTemplate(template, 'Dear Asha, your order A-1029 ships on 12 Jan'), null, 'the full stop is fixed');
    });

    it('a variable that takes what looks like fixed text', () => {
      assert.equal(matchTemplate('Hi {#var#}, bye', 'Hi a, b, bye'), null, 'the variable is "a, b"');
    });

    it('the pre-tagged variables and no others', () => {
      assert.equal(matchTemplate('Call {#cbn#} or see {#url#}, pay {#numeric#}', 'Call 1800123 or see https://x.in, pay 20'), null);
      assert.equal(variableCount('Hi {#VAR#} {#var #} {var}'), 0, 'case-sensitive, exact spelling');
      assert.equal(matchTemplate('Hi {#VAR#}', 'Hi {#VAR#}'), null, 'an unknown spelling is fixed text');
      assert.notEqual(matchTemplate('Hi {#VAR#}', 'Hi Asha'), null);
    });

    it('regular-expression characters in the fixed text are plain characters', () => {
      const template = 'Pay Rs.{#var#} (incl. 18% GST) [ref: {#var#}] via $upi* ^now? a|b \\ +91';
      assert.equal(matchTemplate(template, 'Pay Rs.499 (incl. 18% GST) [ref: X1] via $upi* ^now? a|b \\ +91'), null);
      assert.notEqual(matchTemplate(template, 'Pay Rsx499 (incl. 18% GST) [ref: X1] via $upi* ^now? a|b \\ +91'), null, '"." is not any character');
    });

    it('Hindi and emoji, counted as the characters they are', () => {
      const template = 'नमस्ते {#var#}, आपका ऑर्डर भेज दिया गया है 🎉';
      assert.equal(matchTemplate(template, 'नमस्ते आशा, आपका ऑर्डर भेज दिया गया है 🎉'), null);
      // 30 emoji are 60 UTF-16 units, but 30 characters
      assert.equal(matchTemplate('Hi {#var#}!', `Hi ${'😀'.repeat(30)}!`), null);
      assert.notEqual(matchTemplate('Hi {#var#}!', `Hi ${'😀'.repeat(31)}!`), null);
      const diff = matchTemplate(template, 'नमस्ते आशा, आपका आर्डर भेज दिया गया है 🎉');
      assert.ok(diff);
      assert.equal(diff.expected.startsWith('ऑर्डर'), true, 'the difference is at the changed vowel sign');
      assert.equal(diff.found.startsWith('आर्डर'), true);
      assert.equal(diff.position, Array.from('नमस्ते आशा, आपका ').length + 1);
    });

    it('GSM and Unicode texts alike', () => {
      assert.equal(matchTemplate('Price: €{#var#} [{#var#}]', 'Price: €12 [ok]'), null);
      assert.notEqual(matchTemplate('Price: €{#var#}', 'Price: ₹12'), null);
    });

    it('an empty template only by an empty text', () => {
      assert.equal(matchTemplate('', ''), null);
      assert.deepEqual(matchTemplate('', 'x'), { position: 1, expected: '', found: 'x', afterVariable: false });
    });
  });

  describe('the first difference', () => {
    it('in the fixed text: where, what the template wants, what the text has', () => {
      assert.deepEqual(matchTemplate('Dear customer, your bill is ready', 'Dear customer, you bill is ready'), {
        position: 19, expected: 'r bill is ready', found: ' bill is ready', afterVariable: false,
      });
    });

    it('after a variable: where most of the fixed text follows', () => {
      const diff = matchTemplate(OTP, 'Your OTP is 482913. Valid for 15 minutes. - ACME');
      assert.deepEqual(diff, { position: 32, expected: '0 minutes. - ACME', found: '5 minutes. - ACME', afterVariable: false });
    });

    it('after a variable when none of the fixed text follows: from the variable on', () => {
      const diff = matchTemplate(OTP, 'Your OTP is 482913, valid for 10 minutes');
      assert.deepEqual(diff, { position: 13, expected: '. Valid for 10 minutes. - ACME', found: '482913, valid for 10 minutes', afterVariable: true });
    });

    it('a text that ends too soon', () => {
      assert.deepEqual(matchTemplate('Hello there', 'Hello'), { position: 6, expected: ' there', found: '', afterVariable: false });
    });

    it('a text that goes on after the template', () => {
      assert.deepEqual(matchTemplate('Hello', 'Hello there'), { position: 6, expected: '', found: ' there', afterVariable: false });
    });

    it('where the longest part of the fixed text follows, after a variable', () => {
      assert.deepEqual(matchTemplate('x {#var#}. Valid', 'x 12. Vaxid'), { position: 9, expected: 'lid', found: 'xid', afterVariable: false });
      assert.deepEqual(matchTemplate('{#var#}abc', 'zabd'), { position: 4, expected: 'c', found: 'd', afterVariable: false });
      assert.deepEqual(matchTemplate('Hi {#var#}, bye', 'Hi Asha, by'), { position: 12, expected: 'e', found: '', afterVariable: false });
      assert.deepEqual(matchTemplate('Hi {#var#}, bye', 'Hi Asha; bye'), { position: 4, expected: ', bye', found: 'Asha; bye', afterVariable: true });
    });

    it('how long a variable that is too long is, in characters, from where it starts', () => {
      assert.deepEqual(matchTemplate('Hi {#var#}, bye', `Hi ${'😀'.repeat(40)}, bye`), {
        position: 4, expected: ', bye', found: `${'😀'.repeat(40)}, bye`, afterVariable: true, variableLength: 40, variableLimit: 30,
      });
      assert.deepEqual(matchTemplate('{#var#}{#var#}X', `${'y'.repeat(61)}X`), {
        position: 1, expected: 'X', found: `${'y'.repeat(61)}X`, afterVariable: true, variableLength: 61, variableLimit: 60,
      });
      const early = matchTemplate('ab {#var#} cd {#var#}!', `ab x cd ${'z'.repeat(31)}!`);
      assert.equal(early?.position, 9, 'the second variable starts after "cd "');
      assert.equal(early?.variableLength, 31);
    });

    it('in words', () => {
      assert.equal(
        describeDifference(matchTemplate('Dear customer, your bill is ready', 'Dear customer, you bill is ready')!),
        'at character 19: expected "r bill is ready", found " bill is ready"',
      );
      assert.equal(
        describeDifference(matchTemplate(OTP, 'Your OTP is 482913, valid for 10 minutes')!),
        'at character 13: expected a variable of at most 30 characters, then ". Valid for 10 minutes. …", found "482913, valid for 10 min…"',
      );
      assert.equal(describeDifference(matchTemplate('Hello there', 'Hello')!), 'at character 6: expected " there", found the end of the text');
      assert.equal(describeDifference(matchTemplate('Hello', 'Hello there')!), 'at character 6: expected the end of the text, found " there"');
      assert.equal(describeDifference(matchTemplate('Hello', `Hello ${'x'.repeat(23)}`)!), `at character 6: expected the end of the text, found " ${'x'.repeat(23)}"`, '24 characters are shown whole');
      assert.equal(
        describeDifference(matchTemplate('Code {#var#}', `Code ${'1'.repeat(31)}`)!),
        'at character 36: expected the end of the text (the variable before it takes at most 30 characters), found "1"',
      );
      assert.equal(
        describeDifference(matchTemplate('Hi {#var#}, bye', `Hi ${'x'.repeat(40)}, bye`)!),
        'at character 4: the variable takes 40 characters, more than the 30 it may (found "xxxxxxxxxxxxxxxxxxxxxxxx…")',
      );
    });
  });

  describe('a typed text with {{placeholders}} (the send dialog)', () => {
    it('may match when its placeholders can fill the variables', () => {
      assert.equal(typedTextCouldMatch(OTP, 'Your OTP is {{conversation.code}}. Valid for 10 minutes. - ACME'), null);
      assert.equal(typedTextCouldMatch('Dear {#var#}, your order ships on {#var#}.', 'Dear {{{data.name}}}, your order ships on {{data.date}}.'), null);
    });

    it('may match when a placeholder renders fixed text of the template too', () => {
      assert.equal(typedTextCouldMatch('Dear customer, your code is {#var#}', '{{greeting}}, your code is {{code}}'), null);
      assert.equal(typedTextCouldMatch('Hi {#var#}', '{{whole}}'), null);
    });

    it('cannot match when its fixed text contradicts the template', () => {
      const diff = typedTextCouldMatch(OTP, 'Your code is {{conversation.code}}. Valid for 10 minutes. - ACME');
      assert.ok(diff);
      assert.equal(diff.position, 6);
      assert.equal(diff.expected, 'OTP is ');
      assert.equal(diff.found.startsWith('code is {{…}}'), true, 'a placeholder is shown as {{…}}');
    });

    it('cannot match when typed text in a variable is longer than 30 characters', () => {
      assert.notEqual(typedTextCouldMatch('Hi {#var#} {#var#}', `Hi {{name}} ${'x'.repeat(31)}`), null);
      assert.equal(typedTextCouldMatch('Hi {#var#} {#var#}', `Hi {{name}} ${'x'.repeat(30)}`), null);
    });

    it('cannot match when its end contradicts the template', () => {
      assert.equal(typedTextCouldMatch('Hi {#var#}, thanks', 'Hi {{name}}'), null, 'the placeholder may render ", thanks"');
      // the variable may take the "!": the text then ends where the template goes on
      assert.deepEqual(typedTextCouldMatch('Hi {#var#}, thanks', 'Hi {{name}}!'), { position: 13, expected: ', thanks', found: '', afterVariable: true });
    });

    it('says where the typed text gets furthest, counting a placeholder as the characters typed', () => {
      assert.deepEqual(typedTextCouldMatch('Dear {#var#}, your bill', 'Dear {{n}}, you bill'), { position: 21, expected: ', your bill', found: '', afterVariable: true });
      assert.deepEqual(typedTextCouldMatch('AB', 'A{{x}}C'), { position: 7, expected: '', found: 'C', afterVariable: false });
      assert.deepEqual(typedTextCouldMatch('Your OTP is {#var#}', `Your OTP is ${'1'.repeat(30)}{{x}}1`), { position: 48, expected: '', found: '1', afterVariable: true });
      assert.deepEqual(typedTextCouldMatch('Hello {{x}} there', 'Hi {{x}}'), { position: 2, expected: 'ello {{x}} there', found: 'i {{…}}', afterVariable: false });
    });

    it('counts the typed characters a variable takes, not those of a placeholder beside them', () => {
      assert.equal(typedTextCouldMatch('A{#var#}B', `A${'x'.repeat(30)}{{y}}B`), null);
      assert.notEqual(typedTextCouldMatch('A{#var#}B', `A${'x'.repeat(31)}{{y}}B`), null);
      assert.equal(typedTextCouldMatch('A{#var#}B{#var#}C', `A{{y}}${'x'.repeat(30)}B${'z'.repeat(30)}C`), null);
      assert.notEqual(typedTextCouldMatch('A{#var#}B{#var#}C', `A{{y}}${'x'.repeat(31)}C`), null, 'the placeholder cannot take the first variable’s typed text and "B"');
      assert.equal(typedTextCouldMatch('A{#var#}B{#var#}C', `A{{y}}${'x'.repeat(30)}C`), null, 'the placeholder renders the first variable and "B", the 30 go into the second');
    });

    it('without placeholders is the runtime check', () => {
      assert.deepEqual(typedTextCouldMatch('Hello there', 'Hello'), matchTemplate('Hello there', 'Hello'));
      assert.equal(typedTextCouldMatch('Hello', 'Hello'), null);
    });

    it('is not checked with sections or partials, whose text may or may not be there', () => {
      assert.equal(typedTextCouldMatch('Hello', 'Bye {{#vip}}dear{{/vip}}'), null);
      assert.equal(typedTextCouldMatch('Hello', '{{> footer}}'), null);
    });

    it('is not checked when text and template are too long to check at once', () => {
      assert.equal(typedTextCouldMatch(`${'a'.repeat(1500)}{#var#}`, `${'b'.repeat(1500)}{{x}}`), null);
    });
  });
});
