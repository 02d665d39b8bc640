// keyword-switch's controller: which property it reads, what it makes of a value that is not text,
// and what each output's msg.match says (the parts a flow author sees in the debug sidebar).
import assert from 'node:assert/strict';
import { KeywordSwitchController, type KeywordMessage, type KeywordSwitchConfig } from '../../src/nodes/keyword-switch/controller';
import type { Evaluate } from '../../src/nodes/shared/ports';
import { translate } from './fakes';

/** A controller whose property always evaluates to `value`; `asked` records what it was asked for. */
function reading(value: unknown, config: KeywordSwitchConfig = {}) {
  const asked: Array<[string, string]> = [];
  const evaluate: Evaluate = async (property, type) => {
    asked.push([property, type]);
    return value;
  };
  let clones = 0;
  const c = new KeywordSwitchController({
    config: { rules: [{ t: 'keywords', v: 'YES' }, { t: 'any' }], ...config },
    evaluate,
    translate,
    clone: (msg) => {
      clones++;
      return { ...msg };
    },
  });
  return { c, asked, clones: () => clones };
}

describe('keyword-switch controller: the property it reads', () => {
  it('reads msg.payload unless told otherwise, else the configured property and type', async () => {
    const plain = reading('yes');
    await plain.c.route({});
    assert.deepEqual(plain.asked, [['payload', 'msg']]);
    const chosen = reading('yes', { property: 'reply', propertyType: 'flow' });
    await chosen.c.route({});
    assert.deepEqual(chosen.asked, [['reply', 'flow']]);
  });

  it('treats a missing value as an empty reply (to "otherwise" unless a rule takes any reply)', async () => {
    for (const value of [undefined, null]) {
      const out = await reading(value, { rules: [{ t: 'keywords', v: 'YES' }] }).c.route({ keyword: 'OLD' });
      assert.deepEqual(out[0], null);
      assert.deepEqual(out[1]?.match, { rule: null, kind: 'otherwise', text: '', fuzzy: false });
      assert.equal('keyword' in (out[1] ?? {}), false, 'an old msg.keyword is removed');
    }
  });

  it('reads a number as its digits', async () => {
    const rules = [{ t: 'keywords', v: '1' }, { t: 'keywords', v: '2' }];
    assert.equal((await reading(2, { rules }).c.route({}))[1]?.keyword, '2');
    assert.equal((await reading(BigInt(1), { rules }).c.route({}))[0]?.keyword, '1');
  });

  it('names the property and the kind of value when the value is not text', async () => {
    const cases: Array<[unknown, KeywordSwitchConfig, string, string]> = [
      [['YES'], {}, 'msg.payload', 'kind.array'],
      [Buffer.from('YES'), { propertyType: 'flow', property: 'answer' }, 'flow.answer', 'kind.buffer'],
      [{ text: 'YES' }, { propertyType: 'global', property: 'g' }, 'global.g', 'kind.object'],
      [true, { propertyType: 'env', property: 'REPLY' }, 'property.env {"name":"REPLY"}', 'kind.other {"type":"boolean"}'],
      [Symbol('x'), { propertyType: 'jsonata', property: 'x' }, 'property.expression', 'kind.other {"type":"symbol"}'],
    ];
    for (const [value, config, property, kind] of cases) {
      await assert.rejects(reading(value, config).c.route({}), (err: Error) => {
        assert.equal(err.message, `error.notText ${JSON.stringify({ property, kind })}`);
        return true;
      });
    }
  });
});

describe('keyword-switch controller: msg.match and the copies', () => {
  it('sends the first matching rule only, on the message itself, unless "all matches" is on', async () => {
    const { c, clones } = reading('yes');
    const msg: KeywordMessage = {};
    const out = await c.route(msg);
    assert.equal(out[0], msg);
    assert.deepEqual(out.slice(1), [null, null]);
    assert.deepEqual(msg.match, { rule: 1, kind: 'keywords', text: 'yes', fuzzy: false });
    assert.equal(msg.keyword, 'YES');
    assert.equal(clones(), 0);
  });

  it('with "all matches" (saved as true or "true"), the first output keeps the message and the others get copies', async () => {
    for (const checkall of [true, 'true']) {
      const { c, clones } = reading('yes', { checkall });
      const msg: KeywordMessage = {};
      const out = await c.route(msg);
      assert.equal(out[0], msg);
      assert.ok(out[1] && out[1] !== msg);
      assert.equal(out[1]?.match?.rule, 2);
      assert.equal(out[1]?.keyword, undefined, 'a rule without a keyword sets none');
      assert.equal(clones(), 1);
    }
    assert.equal((await reading('yes', { checkall: 'false' }).c.route({}))[1], null);
  });

  it('forgives a typo only when typos are on (saved as true or "true")', async () => {
    const rules = [{ t: 'keywords', v: 'STOP' }];
    assert.equal((await reading('stpo', { rules }).c.route({}))[0], null);
    for (const typos of [true, 'true']) {
      const out = await reading('stpo', { rules, typos }).c.route({});
      assert.equal(out[0]?.keyword, 'STOP');
      assert.equal(out[0]?.match?.fuzzy, true);
    }
  });

  it('matches the first word only in first-word mode', async () => {
    const rules = [{ t: 'keywords', v: 'YES' }];
    assert.equal((await reading('yes please', { rules }).c.route({}))[0], null);
    assert.equal((await reading('yes please', { rules, matchMode: 'first-word' }).c.route({}))[0]?.keyword, 'YES');
  });

  it('with no rules saved (or rules that are not a list), says so and routes nothing', async () => {
    for (const rules of [undefined, 'YES' as unknown as []]) {
      const c = new KeywordSwitchController({ config: { rules }, evaluate: async () => 'yes', translate, clone: (m) => m });
      assert.match(c.problem, /no rules/);
      await assert.rejects(c.route({}), (err: Error) => err.message === `error.notRouted ${JSON.stringify({ problem: c.problem })}`);
    }
  });
});
