import assert from 'node:assert/strict';
import { normaliseReply, compileRules, matchReply, withinOneEdit, type RuleDef } from '../../src/sms/keywords';

// A reply node an Indian business might deploy: opt-out, yes/no in English and Hindi, help,
// confirm/reschedule, a three-answer survey, a six-digit code, and empty replies.
const RULES = [
  { t: 'keywords', v: 'STOP, UNSUBSCRIBE, CANCEL, रुको' }, // 1
  { t: 'keywords', v: 'YES, Y, HAAN, हाँ' }, // 2
  { t: 'keywords', v: 'नहीं, NO, N, NAHI' }, // 3: a Hindi keyword first
  { t: 'keywords', v: 'HELP, INFO' }, // 4
  { t: 'keywords', v: 'C' }, // 5
  { t: 'keywords', v: 'R' }, // 6
  { t: 'range', v: '1-3' }, // 7
  { t: 'regex', v: '^\\d{6}$' }, // 8
  { t: 'empty' }, // 9
];

/** Where a reply goes when the node sends to the first matching rule: `KEYWORD (rule n)`, `empty (rule n)` or `otherwise`. */
function route(reply: string, options = {}, rules = RULES) {
  const [first] = matchReply(compileRules(rules, options), reply);
  if (!first) return 'otherwise';
  return `${first.keyword === undefined ? first.kind : first.keyword} (rule ${first.rule})${first.fuzzy ? ' typo' : ''}`;
}

describe('keyword matching', function () {
  describe('normaliseReply', function () {
    const cases = [
      ['STOP', 'stop'],
      [' Stop ', 'stop'],
      ['STOP.', 'stop'],
      ['Stop!!', 'stop'],
      ['"stop"', 'stop'],
      ['“Stop”', 'stop'],
      ['🛑 STOP', 'stop'],
      ['STOP 🙏🏽', 'stop'],
      ['ｓｔｏｐ', 'stop'],
      ['STOP\n', 'stop'],
      ['please   stop\t sending', 'please stop sending'],
      ["don't stop", "don't stop"],
      ['y e s', 'y e s'],
      ['१२३', '123'],
      ['৩', '3'], // Bengali
      ['੪', '4'], // Gurmukhi
      ['૫', '5'], // Gujarati
      ['୬', '6'], // Odia
      ['௭', '7'], // Tamil
      ['౮', '8'], // Telugu
      ['೯', '9'], // Kannada
      ['൧൦', '10'], // Malayalam
      ['٣', '3'], // Arabic-Indic
      ['۴', '4'], // Extended Arabic-Indic (Urdu)
      ['３', '3'],
      ['#1', '1'],
      ['1.', '1'],
      ['1️⃣', '1'], // keycap emoji
      ['नहीं।', 'नहीं'], // the danda is punctuation
      ['हाँ', 'हां'], // candrabindu and anusvara are one
      ['ST\u200BOP', 'stop'], // a zero-width space pasted in
      ['\u200Fyes\u200E', 'yes'], // direction marks
      ['👍', ''],
      ['❤️', ''],
      ['   ', ''],
      ['', ''],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, function () {
        assert.equal(normaliseReply(input), expected);
      });
    }

    it('keeps the vowel signs Devanagari needs', function () {
      assert.equal(normaliseReply(' रुको! '), 'रुको');
      assert.notEqual(normaliseReply('रुको'), normaliseReply('रक'));
    });
  });

  describe('real-world replies, whole message, no typos', function () {
    const replies = [
      ['STOP', 'STOP (rule 1)'],
      ['stop', 'STOP (rule 1)'],
      [' Stop ', 'STOP (rule 1)'],
      ['STOP.', 'STOP (rule 1)'],
      ['Stop!!', 'STOP (rule 1)'],
      ['"stop"', 'STOP (rule 1)'],
      ['🛑 STOP', 'STOP (rule 1)'],
      ['STOP 🙏', 'STOP (rule 1)'],
      ['ｓｔｏｐ', 'STOP (rule 1)'],
      ['Unsubscribe', 'STOP (rule 1)'],
      ['cancel.', 'STOP (rule 1)'],
      ['रुको', 'STOP (rule 1)'],
      ['Yes!', 'YES (rule 2)'],
      ['yes', 'YES (rule 2)'],
      ['YES.', 'YES (rule 2)'],
      ['Y', 'YES (rule 2)'],
      ['haan', 'YES (rule 2)'],
      ['हाँ', 'YES (rule 2)'],
      ['हां', 'YES (rule 2)'],
      ['NO', 'नहीं (rule 3)'],
      ['no.', 'नहीं (rule 3)'],
      ['नहीं', 'नहीं (rule 3)'],
      ['Help?', 'HELP (rule 4)'],
      ['info', 'HELP (rule 4)'],
      ['C', 'C (rule 5)'],
      ['c', 'C (rule 5)'],
      ['R', 'R (rule 6)'],
      ['r.', 'R (rule 6)'],
      ['१', '1 (rule 7)'],
      ['२', '2 (rule 7)'],
      ['3', '3 (rule 7)'],
      ['３', '3 (rule 7)'],
      ['#1', '1 (rule 7)'],
      ['1.', '1 (rule 7)'],
      ['02', '2 (rule 7)'],
      ['1️⃣', '1 (rule 7)'],
      ['४५६७८९', '456789 (rule 8)'],
      ['456789', '456789 (rule 8)'],
      ['', 'empty (rule 9)'],
      ['   ', 'empty (rule 9)'],
      ['👍', 'empty (rule 9)'],
      // must not match
      ['y e s', 'otherwise'],
      ["don't stop", 'otherwise'],
      ['please stop sending', 'otherwise'],
      ['stop it', 'otherwise'],
      ['STOP STOP', 'otherwise'],
      ['Yes please', 'otherwise'],
      ['STPO', 'otherwise'],
      ['STOPP', 'otherwise'],
      ['SOTP', 'otherwise'],
      ['NOO', 'otherwise'],
      ['4', 'otherwise'],
      ['0', 'otherwise'],
      ['10', 'otherwise'],
      ['1 2', 'otherwise'],
      ['45678', 'otherwise'],
      ['4567890', 'otherwise'],
      ['Hello, is my order shipped?', 'otherwise'],
      ['CR', 'otherwise'],
    ];
    for (const [reply, expected] of replies) {
      it(`${JSON.stringify(reply)} → ${expected}`, function () {
        assert.equal(route(reply), expected);
      });
    }
  });

  describe('typo tolerance', function () {
    const typos = { typos: true };
    const replies = [
      ['STPO', 'STOP (rule 1) typo'], // two neighbours swapped
      ['STOPP', 'STOP (rule 1) typo'], // a letter too many
      ['SOTP', 'STOP (rule 1) typo'],
      ['STP', 'STOP (rule 1) typo'], // a letter missing
      ['SHOP', 'STOP (rule 1) typo'], // a letter wrong
      ['unsubscrbe', 'STOP (rule 1) typo'],
      ['रको', 'STOP (rule 1) typo'], // the vowel sign forgotten
      ['HEPL', 'HELP (rule 4) typo'],
      ['STOP', 'STOP (rule 1)'],
      ['NOO', 'otherwise'], // NO is too short for typos
      ['YESS', 'otherwise'], // so is YES
      ['STOOPP', 'otherwise'], // two edits
      ['TSOP', 'STOP (rule 1) typo'],
      ['12', 'otherwise'], // numbers never
      ['456780', '456780 (rule 8)'],
    ];
    for (const [reply, expected] of replies) {
      it(`${JSON.stringify(reply)} → ${expected}`, function () {
        assert.equal(route(reply, typos), expected);
      });
    }

    it('are off by default', function () {
      assert.equal(route('STPO'), 'otherwise');
      assert.equal(route('SHOP'), 'otherwise');
    });

    it('sends an exact keyword to its own rule, not to an earlier rule one typo away', function () {
      const rules = [{ t: 'keywords', v: 'SHOP, STORE' }, { t: 'keywords', v: 'STOP' }];
      assert.equal(route('STOP', typos, rules), 'STOP (rule 2)');
      assert.equal(route('SHOP', typos, rules), 'SHOP (rule 1)');
      assert.equal(route('STPO', typos, rules), 'STOP (rule 2) typo');
      assert.deepEqual(matchReply(compileRules(rules, typos), 'STOP').map((m) => m.rule), [2], 'not to both, even when all matches are wanted');
    });

    it('keeps the order of rules between a typo and "any text"', function () {
      assert.equal(route('STPO', typos, [{ t: 'keywords', v: 'STOP' }, { t: 'any' }]), 'STOP (rule 1) typo');
      assert.equal(route('STPO', typos, [{ t: 'any' }, { t: 'keywords', v: 'STOP' }]), 'any (rule 1)');
    });

    it('never forgives a typo in a keyword with digits', function () {
      const rules = [{ t: 'keywords', v: 'OFFER50' }];
      assert.equal(route('offer50', typos, rules), 'OFFER50 (rule 1)');
      assert.equal(route('OFFER51', typos, rules), 'otherwise');
    });

    it('counts one edit as optimal string alignment does', function () {
      assert.equal(withinOneEdit('stop', 'stop'), true);
      assert.equal(withinOneEdit('stop', 'stpo'), true);
      assert.equal(withinOneEdit('stop', 'sop'), true);
      assert.equal(withinOneEdit('stop', 'stops'), true);
      assert.equal(withinOneEdit('stop', 'xtop'), true);
      assert.equal(withinOneEdit('stop', 'tsop'), true);
      assert.equal(withinOneEdit('stop', 'tops'), false);
      assert.equal(withinOneEdit('stop', 'spot'), false);
      assert.equal(withinOneEdit('stop', 'st'), false);
      assert.equal(withinOneEdit('', 'a'), true);
    });
  });

  describe('first-word mode', function () {
    const firstWord = { matchMode: 'first-word' };
    const replies = [
      ['stop it', 'STOP (rule 1)'],
      ['STOP please', 'STOP (rule 1)'],
      ['Stop, thanks', 'STOP (rule 1)'],
      ['stop!!! 🙏', 'STOP (rule 1)'],
      ['yes, that works', 'YES (rule 2)'],
      ['हाँ जी', 'YES (rule 2)'],
      ['2 stars', '2 (rule 7)'],
      ['२ - ठीक था', '2 (rule 7)'],
      ["don't stop", 'otherwise'],
      ['please stop sending', 'otherwise'],
      ['stopped', 'otherwise'],
      ['2.5', 'otherwise'],
      ['25 days', 'otherwise'],
      ['2nd', 'otherwise'],
      ['Cancelled my order', 'otherwise'],
    ];
    for (const [reply, expected] of replies) {
      it(`${JSON.stringify(reply)} → ${expected}`, function () {
        assert.equal(route(reply, firstWord), expected);
      });
    }

    it('matches a keyword of several words against as many first words', function () {
      const rules = [{ t: 'keywords', v: 'opt out, opt-out' }];
      assert.equal(route('Opt out now', firstWord, rules), 'OPT OUT (rule 1)');
      assert.equal(route('opt-out pls', firstWord, rules), 'OPT OUT (rule 1)');
      assert.equal(route('opt in', firstWord, rules), 'otherwise');
    });

    it('forgives a typo in the first word when typos are on', function () {
      assert.equal(route('stpo now', { ...firstWord, typos: true }), 'STOP (rule 1) typo');
      assert.equal(route('stpo now', firstWord), 'otherwise');
    });
  });

  describe('rule kinds', function () {
    it('names a rule by its first keyword as written, in capitals for Latin script', function () {
      assert.equal(route('unsubscribe', {}, [{ t: 'keywords', v: ' Stop! , unsubscribe' }]), 'STOP (rule 1)');
      assert.equal(route('हां', {}, [{ t: 'keywords', v: 'हाँ, haan' }]), 'हाँ (rule 1)');
      assert.equal(route('ha', {}, [{ t: 'keywords', v: 'ha' }]), 'HA (rule 1)');
    });

    it('accepts several numbers and ranges in one rule, in any script', function () {
      const rules = [{ t: 'range', v: '१-३, 5' }];
      assert.equal(route('2', {}, rules), '2 (rule 1)');
      assert.equal(route('5', {}, rules), '5 (rule 1)');
      assert.equal(route('4', {}, rules), 'otherwise');
      assert.equal(route('7', {}, [{ t: 'range', v: '7' }]), '7 (rule 1)');
      assert.equal(route('7', {}, [{ t: 'range', v: '5 – 9' }]), '7 (rule 1)');
    });

    it('tests a regular expression against the reply as read, ignoring case, and returns what it matched', function () {
      assert.equal(route('My code is ४५६७८९.', {}, [{ t: 'regex', v: '\\d{6}' }]), '456789 (rule 1)');
      assert.equal(route('ORDER 1234', {}, [{ t: 'regex', v: '^order \\d+$' }]), 'order 1234 (rule 1)');
      assert.equal(route('STOP!', {}, [{ t: 'regex', v: '^stop$' }]), 'stop (rule 1)');
      assert.equal(route('Hi', {}, [{ t: 'regex', v: '^\\p{Script=Devanagari}+$' }]), 'otherwise');
      assert.equal(route('हाँ', {}, [{ t: 'regex', v: '^\\p{Script=Devanagari}+$' }]), 'हां (rule 1)');
    });

    it('"any text" matches every reply, the empty one too; "empty" only an empty one', function () {
      const rules = [{ t: 'empty' }, { t: 'any' }];
      assert.equal(route('anything at all', {}, rules), 'any (rule 2)');
      assert.equal(route('👍', {}, rules), 'empty (rule 1)');
      assert.equal(route('👍', {}, [{ t: 'any' }]), 'any (rule 1)');
    });

    it('returns every matching rule in order, with the reply as read', function () {
      const matches = matchReply(compileRules([{ t: 'keywords', v: 'STOP' }, { t: 'regex', v: 'op' }, { t: 'empty' }, { t: 'any' }]), ' Stop! ');
      assert.deepEqual(matches, [
        { rule: 1, kind: 'keywords', keyword: 'STOP', text: 'stop', fuzzy: false },
        { rule: 2, kind: 'regex', keyword: 'op', text: 'stop', fuzzy: false },
        { rule: 4, kind: 'any', text: 'stop', fuzzy: false },
      ]);
    });
  });

  describe('compileRules refuses a bad rule and names it', function () {
    const bad: [RuleDef[], RegExp][] = [
      [[], /no rules/],
      [[{ t: 'keywords', v: 'STOP' }, { t: 'keywords', v: '' }], /^Rule 2: the keyword list is empty/],
      [[{ t: 'keywords', v: ' , ,' }], /^Rule 1: the keyword list is empty/],
      [[{ t: 'keywords' }], /^Rule 1: the keyword list is empty/],
      [[{ t: 'keywords', v: 'STOP, 🛑' }], /^Rule 1: the keyword "🛑" has no letters or digits/],
      [[{ t: 'any' }, { t: 'range', v: '3-1' }], /^Rule 2: the range "3-1" runs backwards: write the smaller number first, as in 1-3/],
      [[{ t: 'range', v: 'one' }], /^Rule 1: "one" is not a number or a range/],
      [[{ t: 'range', v: '1-' }], /^Rule 1: "1-" is not a number or a range/],
      [[{ t: 'range', v: '' }], /^Rule 1: the number is empty/],
      [[{ t: 'empty' }, { t: 'empty' }, { t: 'regex', v: '(' }], /^Rule 3: the regular expression "\(" is not valid/],
      [[{ t: 'regex', v: '' }], /^Rule 1: the regular expression is empty/],
      [[{ t: 'contains', v: 'x' }], /^Rule 1: unknown kind of rule "contains"/],
    ];
    for (const [rules, message] of bad) {
      it(`${JSON.stringify(rules)} → ${message}`, function () {
        assert.throws(() => compileRules(rules), { message });
      });
    }

    it('compiles the four presets', function () {
      for (const rules of [
        [{ t: 'keywords', v: 'START, YES, UNSTOP, SUBSCRIBE' }, { t: 'keywords', v: 'STOP, NO, UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT, REVOKE' }, { t: 'keywords', v: 'HELP, INFO' }],
        [{ t: 'keywords', v: 'YES, Y, HAAN, HAN, हाँ' }, { t: 'keywords', v: 'NO, N, NAHI, NAHIN, नहीं' }],
        [1, 2, 3, 4, 5].map((n) => ({ t: 'range', v: String(n) })),
        [{ t: 'keywords', v: 'C, CONFIRM' }, { t: 'keywords', v: 'R, RESCHEDULE' }],
      ]) {
        assert.equal(compileRules(rules, { typos: true }).rules.length, rules.length);
      }
    });
  });
});
