// The keyword presets as the editor offers them (its list and rules are the contract's: the editor
// file has none of its own), each routing the replies customers send to the output a flow expects.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KeywordSwitchController, type KeywordMessage } from '../../src/nodes/keyword-switch/controller';
import { PRESETS, presetRules, SURVEY_ANSWERS, validateRules } from '../../src/nodes/keyword-switch/contract';
import { evaluate, translate } from './fakes';

const editorFile = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'keyword-switch.html'), 'utf8');

/** The output (1-based; rules + 1 is "otherwise") each reply leaves on, and its msg.keyword. */
async function route(rules: ReturnType<typeof presetRules>, reply: string): Promise<{ output: number; keyword?: string }> {
  const node = new KeywordSwitchController({ config: { rules }, evaluate, translate, clone: (msg) => ({ ...msg }) as KeywordMessage });
  const outputs = await node.route({ payload: reply });
  const output = outputs.findIndex((msg) => msg !== null);
  return { output: output + 1, keyword: outputs[output]?.keyword };
}

// reply → [output, msg.keyword] for each preset; the last output of each is "otherwise".
const SAMPLES: Record<(typeof PRESETS)[number], Array<[string, number, string | undefined]>> = {
  optInOut: [
    ['START', 1, 'START'], ['yes', 1, 'START'], ['Haan', 1, 'START'], ['हाँ', 1, 'START'], ['हां', 1, 'START'], ['subscribe', 1, 'START'],
    ['STOP', 2, 'STOP'], [' stop. ', 2, 'STOP'], ['🛑 STOP', 2, 'STOP'], ['Unsubscribe', 2, 'STOP'], ['no', 2, 'STOP'],
    ['help', 3, 'HELP'], ['INFO', 3, 'HELP'],
    ["don't stop", 4, undefined], ['what is this?', 4, undefined],
  ],
  yesNo: [['YES', 1, 'YES'], ['y', 1, 'YES'], ['haan', 1, 'YES'], ['हाँ', 1, 'YES'], ['No', 2, 'NO'], ['nahi', 2, 'NO'], ['नहीं', 2, 'NO'], ['maybe', 3, undefined]],
  survey: [['1', 1, '1'], ['३', 3, '3'], [' 5 ', 5, '5'], ['6', 6, undefined], ['five', 6, undefined]],
  confirm: [['C', 1, 'C'], ['confirm', 1, 'C'], ['r', 2, 'R'], ['Reschedule', 2, 'R'], ['x', 3, undefined]],
};

describe('keyword-switch presets', () => {
  it('the editor lists the contract’s presets and fills in the contract’s rules, with no keyword list of its own', () => {
    assert.match(editorFile, /C\.PRESETS/);
    assert.match(editorFile, /C\.presetRules\(/);
    assert.doesNotMatch(editorFile, /UNSUBSCRIBE|RESCHEDULE|HAAN/, 'keywords written in the editor file would be a second list');
    assert.doesNotMatch(editorFile, /keyword-switch-preset-use/, 'no second step: choosing fills the rules');
  });

  for (const preset of PRESETS) {
    it(`${preset}: valid rules that route customers’ replies where a flow expects them`, async () => {
      const rules = presetRules(preset);
      assert.equal(validateRules(rules), true);
      for (const [reply, output, keyword] of SAMPLES[preset]) {
        assert.deepEqual(await route(rules, reply), { output, keyword }, `"${reply}"`);
      }
    });
  }

  it('the opt-in rule takes HAAN and हाँ, as the yes/no preset does', () => {
    const optIn = String(presetRules('optInOut')[0].v).split(',').map((k) => k.trim());
    const yes = String(presetRules('yesNo')[0].v).split(',').map((k) => k.trim());
    for (const word of ['HAAN', 'HAN', 'हाँ']) {
      assert.ok(yes.includes(word));
      assert.ok(optIn.includes(word), word);
    }
  });

  it('a survey has 2 to 10 answers; nonsense gives the default', () => {
    assert.equal(presetRules('survey', 3).length, 3);
    assert.equal(presetRules('survey', 1).length, SURVEY_ANSWERS.min);
    assert.equal(presetRules('survey', 40).length, SURVEY_ANSWERS.max);
    assert.equal(presetRules('survey', 'x').length, SURVEY_ANSWERS.default);
    assert.deepEqual(presetRules('nothing'), []);
  });
});
