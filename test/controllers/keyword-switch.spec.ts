// keyword-switch's controller, without Node-RED.
import assert from 'node:assert/strict';
import { KeywordSwitchController, type KeywordMessage, type KeywordSwitchConfig } from '../../src/nodes/keyword-switch/controller';
import { evaluate, translate } from './fakes';

const controller = (config: KeywordSwitchConfig) =>
  new KeywordSwitchController({ config, evaluate, translate, clone: (msg) => JSON.parse(JSON.stringify(msg)) as KeywordMessage });

describe('keyword-switch controller', () => {
  const rules = [{ t: 'keywords', v: 'STOP, UNSUBSCRIBE' }, { t: 'keywords', v: 'YES' }];

  it('routes a reply to its rule’s output with the canonical keyword, else to "otherwise"', async () => {
    const c = controller({ rules });
    const stop = await c.route({ payload: ' stop ' });
    assert.equal(stop.length, 3);
    assert.equal(stop[0]?.keyword, 'STOP');
    assert.deepEqual(stop.slice(1), [null, null]);
    const other = await c.route({ payload: 'what?', keyword: 'OLD' });
    assert.deepEqual(other.slice(0, 2), [null, null]);
    assert.equal(other[2]?.keyword, undefined, 'a keyword from earlier is removed');
    assert.equal(other[2]?.match?.kind, 'otherwise');
  });

  it('with "all matches", gives each matching rule its own copy', async () => {
    const c = controller({ rules: [{ t: 'keywords', v: 'YES' }, { t: 'any' }], checkall: 'true' });
    const out = await c.route({ payload: 'yes' });
    assert.ok(out[0] && out[1]);
    assert.notEqual(out[0], out[1]);
    assert.equal(out[0]?.match?.rule, 1);
    assert.equal(out[1]?.match?.rule, 2);
  });

  it('says why when the rules are invalid, and routes nothing', async () => {
    const c = controller({ rules: [{ t: 'regex', v: '(' }] });
    assert.ok(c.problem);
    await assert.rejects(c.route({ payload: 'STOP' }), /error\.notRouted/);
  });

  it('refuses a property that is not text', async () => {
    await assert.rejects(controller({ rules }).route({ payload: { text: 'STOP' } }), /error\.notText/);
  });
});
