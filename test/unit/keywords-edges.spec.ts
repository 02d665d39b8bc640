// The edges of keyword matching that mutation testing found untested: one typo exactly (not two),
// emoji after a word, first-word mode for keywords of several words and numbers, and the exact
// problem each bad rule reports.
import assert from 'node:assert/strict';
import { compileRules, matchReply, normaliseReply, ruleProblems, withinOneEdit, type RuleDef } from '../../src/sms/keywords';

describe('keyword matching at its edges', function () {
  it('counts one substitution, insertion, deletion or swap of neighbours as one typo, and no more', function () {
    const cases: Array<[string, string, boolean]> = [
      ['stop', 'stop', true],
      ['stop', 'stap', true], // substitution
      ['stop', 'sto', true], // deletion at the end
      ['sto', 'stop', true], // insertion at the end
      ['stop', 'tsop', true], // swap at the start
      ['stop', 'stpo', true], // swap at the end
      ['stop', 'sotp', true], // swap inside
      ['stop', 'xstop', true], // insertion at the start
      ['xstop', 'stop', true],
      ['stop', 'spot', false], // two substitutions
      ['stop', 'st', false], // two deletions
      ['stop', 'stopxx', false],
      ['stop', 'tspo', false], // two swaps
      ['stop', 'tsox', false], // a swap and a substitution
      ['stop', 'xtoq', false],
      ['abcd', 'bacx', false],
      ['abcd', 'abdx', false],
      ['abcd', 'acbd', true],
      ['abcd', 'acbe', false],
      ['हाँजी', 'हाजी', true], // whole characters, not UTF-16 halves
      ['😀ab', '😀ba', true],
      ['ab😀', 'ab😁', true],
    ];
    for (const [a, b, expected] of cases) assert.equal(withinOneEdit(a, b), expected, `${a} / ${b}`);
  });

  it('drops emoji and punctuation after the last word, whole characters at a time', function () {
    assert.equal(normaliseReply('yes 😀'), 'yes');
    assert.equal(normaliseReply('yes😀😀!'), 'yes');
    assert.equal(normaliseReply('😀'), '');
    assert.equal(normaliseReply('a😀b'), 'a😀b');
    assert.equal(normaliseReply('x𝟘'), 'x0', 'a digit outside the basic plane ends a word');
    assert.equal(normaliseReply('  stop   now  '), 'stop now');
    assert.equal(normaliseReply(undefined as unknown as string), '');
  });

  it('matches a keyword of several words against as many first words of the reply, in first-word mode', function () {
    const rules: RuleDef[] = [{ t: 'keywords', v: 'order status' }, { t: 'keywords', v: 'stop' }, { t: 'range', v: '1-5' }];
    const firstWord = compileRules(rules, { matchMode: 'first-word' });
    assert.deepEqual(matchReply(firstWord, 'Order   status please').map((m) => [m.rule, m.keyword]), [[1, 'ORDER STATUS']]);
    assert.deepEqual(matchReply(firstWord, 'stop it now').map((m) => [m.rule, m.keyword]), [[2, 'STOP']]);
    assert.deepEqual(matchReply(firstWord, '4 stars').map((m) => [m.rule, m.keyword]), [[3, '4']]);
    assert.deepEqual(matchReply(firstWord, '44 stars'), []);
    assert.deepEqual(matchReply(firstWord, '4.5 stars'), []);
    assert.deepEqual(matchReply(firstWord, 'about 4'), [], 'the number must come first');
    const whole = compileRules(rules);
    assert.deepEqual(matchReply(whole, 'order status please'), []);
    assert.deepEqual(matchReply(whole, 'order status').map((m) => m.rule), [1]);
    assert.deepEqual(matchReply(whole, '4 stars'), []);
    assert.equal(compileRules(rules, { matchMode: 'nonsense' as 'whole' }).matchMode, 'whole');
  });

  it('takes numbers of up to 15 digits', function () {
    const rules = compileRules([{ t: 'range', v: '0-999999999999999' }]);
    assert.deepEqual(matchReply(rules, '999999999999999').map((m) => m.keyword), ['999999999999999']);
    assert.deepEqual(matchReply(rules, '9999999999999999'), []);
    const firstWord = compileRules([{ t: 'range', v: '0-999999999999999' }], { matchMode: 'first-word' });
    assert.deepEqual(matchReply(firstWord, '9999999999999999 x'), []);
  });

  it('gives what a regular expression matched as the keyword, and none when it matched nothing', function () {
    const rules = compileRules([{ t: 'regex', v: 'x*' }, { t: 'regex', v: '[0-9]+' }, { t: 'empty', v: '' }]);
    assert.deepEqual(matchReply(rules, 'order 42').map((m) => [m.rule, m.keyword]), [[1, undefined], [2, '42']]);
    assert.deepEqual(matchReply(rules, '').map((m) => [m.rule, m.kind]), [[1, 'regex'], [3, 'empty']]);
  });

  it('names each bad rule with its problem, key and parameters', function () {
    const problems = ruleProblems([
      { t: 'range', v: '1-5, x' },
      { t: 'range', v: '  ' },
      { t: 'regex', v: '' },
      { t: 'regex', v: '(' },
      { t: 'colour', v: 'red' },
      { t: 'keywords', v: 7 },
      { t: 'keywords', v: null },
      { t: 'range', v: '12' },
      null,
      { t: 'keywords', v: 'x'.repeat(45) + ', !!' },
    ]);
    assert.deepEqual(problems.map((p) => [p.rule, p.key, p.params]), [
      [1, 'range', { range: 'x' }],
      [2, 'rangeEmpty', {}],
      [3, 'regexEmpty', {}],
      [4, 'regex', { reason: 'Unterminated group' }],
      [5, 'kind', {}],
      [7, 'keywordsEmpty', {}],
      [9, 'kind', {}],
      [10, 'keywordNoLetters', { keyword: '!!' }],
    ]);
    assert.equal(problems[0].message, 'Rule 1: "1-5, x" is not a number or a range: write a number such as 2, a range such as 1-5, or several separated by commas');
    assert.equal(problems[1].message, 'Rule 2: the number is empty: write a number such as 2 or a range such as 1-5');
    assert.equal(problems[2].message, 'Rule 3: the regular expression is empty');
    assert.equal(problems[4].message, 'Rule 5: unknown kind of rule "colour"');
    assert.equal(problems[6].message, 'Rule 9: unknown kind of rule "undefined"');
    const long = ruleProblems([{ t: 'range', v: '9'.repeat(45) + 'x' }])[0];
    assert.equal(long.message, `Rule 1: "${'9'.repeat(39)}…" is not a number or a range: write a number such as 2, a range such as 1-5, or several separated by commas`);
    const forty = ruleProblems([{ t: 'range', v: '9'.repeat(39) + 'x' }])[0];
    assert.match(forty.message, new RegExp(`^Rule 1: "${'9'.repeat(39)}x" is not`));
  });
});
