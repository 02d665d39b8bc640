import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { NodeStatus } from 'node-red';
import type { RuleDef } from '../../src/sms/keywords';
import { helper, load, nextMessage, collect, wait, getNode, type FlowNode, type Msg, type TestNode } from '../support/red';
import { core } from '../support/examples';
import { present } from '../support/present';

const catchNode = core('common/25-catch.js');

/** The keyword switch's properties a spec sets over the defaults of `flow()`. */
interface FlowProps {
  rules?: RuleDef[];
  [property: string]: unknown;
}

const OPT_IN_OUT: RuleDef[] = [
  { t: 'keywords', v: 'START, YES, UNSTOP, SUBSCRIBE' },
  { t: 'keywords', v: 'STOP, NO, UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT, REVOKE' },
  { t: 'keywords', v: 'HELP, INFO' },
];

describe('keyword-switch', function () {
  afterEach(async function () {
    await helper.unload();
  });

  /** A keyword switch with one helper node per output: out1, out2, … and the last one is otherwise. */
  function flow(props: FlowProps = {}): FlowNode[] {
    const rules = props.rules || OPT_IN_OUT;
    const outs = rules.map((_, i: number) => `out${i + 1}`).concat('otherwise');
    return [
      { id: 'f1', type: 'tab' },
      { id: 'ks', z: 'f1', type: 'keyword-switch', property: 'payload', propertyType: 'msg', matchMode: 'whole', typos: false, checkall: 'false', outputs: rules.length + 1, ...props, rules, wires: outs.map((id) => [id]) },
      ...outs.map((id) => ({ id, z: 'f1', type: 'helper' })),
    ];
  }

  /** Every message each output received, by output name, after the node has had time to send. */
  async function routeAll(replies: unknown[], props?: FlowProps) {
    await load(flow(props));
    const rules = (props && props.rules) || OPT_IN_OUT;
    const outs = rules.map((_, i: number) => `out${i + 1}`).concat('otherwise');
    const got: Record<string, Msg[]> = Object.fromEntries(outs.map((id: string) => [id, collect(getNode(id))]));
    for (const reply of replies) getNode('ks').receive(typeof reply === 'object' && reply !== null ? (reply as Msg) : { payload: reply });
    await wait(50);
    return got;
  }

  function statusesOf(node: TestNode) {
    return node.status.getCalls().filter((call) => call.thisValue === node).map((call) => call.args[0] as NodeStatus);
  }

  it('sends each reply to its rule’s output with msg.keyword and msg.match', async function () {
    await load(flow());
    const stopped = nextMessage(getNode('out2'));
    getNode('ks').receive({ payload: 'Stop!', phone: '+919876543210' });
    const msg = await stopped;
    assert.equal(msg.keyword, 'STOP');
    assert.deepEqual(msg.match, { rule: 2, kind: 'keywords', text: 'stop', fuzzy: false });
    assert.equal(msg.payload, 'Stop!', 'the reply itself is left as the customer wrote it');
    assert.equal(msg.phone, '+919876543210');
  });

  it('routes the opt-in / opt-out / help preset as carriers do', async function () {
    const got = await routeAll(['START', 'yes.', 'UNSUBSCRIBE', 'cancel', '🛑 STOP', 'help?', 'Info', "don't stop", 'Hello', 'STPO']);
    assert.deepEqual(got.out1.map((m) => [m.payload, m.keyword]), [['START', 'START'], ['yes.', 'START']]);
    assert.deepEqual(got.out2.map((m) => [m.payload, m.keyword]), [['UNSUBSCRIBE', 'STOP'], ['cancel', 'STOP'], ['🛑 STOP', 'STOP']]);
    assert.deepEqual(got.out3.map((m) => [m.payload, m.keyword]), [['help?', 'HELP'], ['Info', 'HELP']]);
    assert.deepEqual(got.otherwise.map((m) => m.payload), ["don't stop", 'Hello', 'STPO']);
  });

  it('sends an unknown reply to otherwise, without a keyword', async function () {
    await load(flow());
    const other = nextMessage(getNode('otherwise'));
    getNode('ks').receive({ payload: '  Where is my ORDER? ', keyword: 'STOP' });
    const msg = await other;
    assert.equal('keyword' in msg, false, 'an old msg.keyword must not survive');
    assert.deepEqual(msg.match, { rule: null, kind: 'otherwise', text: 'where is my order', fuzzy: false });
  });

  it('sends a copy to every matching rule when asked, each with its own keyword and match', async function () {
    const rules = [{ t: 'keywords', v: 'STOP' }, { t: 'regex', v: '^s' }, { t: 'empty' }, { t: 'any' }];
    const got = await routeAll(['stop', '👍'], { rules, checkall: 'true' });
    assert.deepEqual(got.out1.map((m) => [m.keyword, m.match.rule]), [['STOP', 1]]);
    assert.deepEqual(got.out2.map((m) => [m.keyword, m.match.rule, m.match.kind]), [['s', 2, 'regex']]);
    assert.deepEqual(got.out3.map((m) => [m.payload, 'keyword' in m, m.match.kind]), [['👍', false, 'empty']]);
    assert.deepEqual(got.out4.map((m) => [m.payload, 'keyword' in m, m.match.rule]), [['stop', false, 4], ['👍', false, 4]]);
    assert.equal(got.otherwise.length, 0);
  });

  it('sends to the first matching rule only by default', async function () {
    const rules = [{ t: 'keywords', v: 'STOP' }, { t: 'any' }];
    const got = await routeAll(['stop', 'other'], { rules });
    assert.deepEqual(got.out1.map((m) => m.payload), ['stop']);
    assert.deepEqual(got.out2.map((m) => m.payload), ['other']);
  });

  it('matches the first word when set to, and only the whole reply otherwise', async function () {
    const whole = await routeAll(['stop it', 'STOP']);
    assert.deepEqual(whole.out2.map((m) => m.payload), ['STOP']);
    assert.deepEqual(whole.otherwise.map((m) => m.payload), ['stop it']);
    await helper.unload();
    const firstWord = await routeAll(['stop it', 'STOP', 'please stop'], { matchMode: 'first-word' });
    assert.deepEqual(firstWord.out2.map((m) => [m.payload, m.keyword]), [['stop it', 'STOP'], ['STOP', 'STOP']]);
    assert.deepEqual(firstWord.otherwise.map((m) => m.payload), ['please stop']);
  });

  it('forgives one typo when typos are on, and says so in msg.match', async function () {
    const got = await routeAll(['STPO', 'STOPP', 'NOO'], { typos: true });
    assert.deepEqual(got.out2.map((m) => [m.payload, m.keyword, m.match.fuzzy]), [['STPO', 'STOP', true], ['STOPP', 'STOP', true]]);
    assert.deepEqual(got.otherwise.map((m) => m.payload), ['NOO']);
  });

  it('routes survey answers in any script, and numbers that are not text', async function () {
    const rules = [1, 2, 3].map((n) => ({ t: 'range', v: String(n) }));
    const got = await routeAll(['१', '2.', '３', 3, '4', '10'], { rules });
    assert.deepEqual(got.out1.map((m) => m.keyword), ['1']);
    assert.deepEqual(got.out2.map((m) => m.keyword), ['2']);
    assert.deepEqual(got.out3.map((m) => [m.payload, m.keyword]), [['３', '3'], [3, '3']]);
    assert.deepEqual(got.otherwise.map((m) => m.payload), ['4', '10']);
  });

  it('reads the reply from another property when told to', async function () {
    const got = await routeAll([{ payload: 'ignored', sms: { body: 'HELP' } }, { payload: 'STOP', sms: { body: 'hi' } }], { property: 'sms.body', propertyType: 'msg' });
    assert.deepEqual(got.out3.map((m) => [m.payload, m.keyword]), [['ignored', 'HELP']]);
    assert.deepEqual(got.otherwise.map((m) => m.payload), ['STOP']);
  });

  it('can read the reply with a JSONata expression', async function () {
    const got = await routeAll([{ payload: { text: 'Stop' } }], { property: 'payload.text', propertyType: 'jsonata' });
    assert.deepEqual(got.out2.map((m) => m.keyword), ['STOP']);
  });

  it('treats a missing reply as empty', async function () {
    const rules = [{ t: 'empty' }, { t: 'any' }];
    const got = await routeAll([{ phone: '+919876543210' }, { payload: null }, { payload: '' }], { rules });
    assert.equal(got.out1.length, 3);
    assert.deepEqual(got.out1[0].match, { rule: 1, kind: 'empty', text: '', fuzzy: false });
  });

  it('reports a reply that is not text to a Catch node', async function () {
    const f = flow();
    f.push({ id: 'catcher', z: 'f1', type: 'catch', wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper' });
    await load(f, {}, [catchNode]);
    const caught = nextMessage(getNode('caught'));
    getNode('ks').receive({ payload: { body: 'STOP' } });
    const msg = await caught;
    assert.equal(msg.error.source.id, 'ks');
    assert.equal(msg.error.message, 'Error: msg.payload is an object, not text: keyword switch matches the text of an SMS reply');
  });

  it('shows a red status and errors, without crashing, when a rule is bad', async function () {
    const rules = [{ t: 'keywords', v: 'STOP' }, { t: 'regex', v: '([0-9]+' }];
    const f = flow({ rules });
    f.push({ id: 'catcher', z: 'f1', type: 'catch', wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper' });
    await load(f, {}, [catchNode]);
    const node = getNode('ks');
    assert.deepEqual(statusesOf(node).pop(), { fill: 'red', shape: 'ring', text: 'invalid rule' });
    const errors = helper.log().args.filter((a) => a[0].level === 20).map((a) => a[0].msg);
    assert.ok(errors.some((m) => /Rule 2: the regular expression "\(\[0-9\]\+" is not valid/.test(m)), JSON.stringify(errors));

    const caught = nextMessage(getNode('caught'));
    const outputs = ['out1', 'out2', 'otherwise'].map((id) => collect(getNode(id)));
    node.receive({ payload: 'STOP' });
    const msg = await caught;
    assert.match(msg.error.message, /not routed: Rule 2: the regular expression/);
    await wait(20);
    assert.deepEqual(outputs.map((o) => o.length), [0, 0, 0]);
  });

  it('shows no status when its rules are good', async function () {
    await load(flow());
    await wait(20);
    assert.deepEqual(statusesOf(getNode('ks')), []);
  });
});

describe('keyword-switch editor', function () {
  // Runs the editor's script with a stand-in RED, to check what the user sees before deploy.
  const nodesDir = path.join(__dirname, '..', '..', 'nodes');
  const catalogue = JSON.parse(fs.readFileSync(path.join(nodesDir, 'locales', 'en-US', 'keyword-switch.json'), 'utf8'));
  /** What the editor script registers (the parts these specs read). */
  interface EditorDefinition {
    category: string;
    paletteLabel(): string;
    outputLabels(this: { rules: RuleDef[] }, index: number): string;
    defaults: {
      rules: { value: RuleDef[]; validate(this: object, rules: RuleDef[], options: object): unknown };
      outputs: { value: number };
      checkall: { value: string; validate(value: string): unknown };
      matchMode: { value: string; validate(value: string | undefined): unknown };
      typos: { value: boolean };
    };
  }
  let def: EditorDefinition;
  before(function () {
    const html = fs.readFileSync(path.join(nodesDir, 'keyword-switch.html'), 'utf8');
    const script = present(html.match(/<script type="text\/javascript">([\s\S]*?)<\/script>/), 'the editor script')[1];
    const translate = (key: string, options: Record<string, unknown> = {}) => {
      const [ns, rest] = key.split(':');
      assert.equal(ns, '@smsflow/node-red-exotel/keyword-switch');
      const text = rest.split('.').reduce((at: Record<string, unknown> | undefined, part) => at && (at[part] as Record<string, unknown> | undefined), catalogue) as unknown as string;
      assert.equal(typeof text, 'string', `missing message ${rest}`);
      return text.replace(/__(\w+)__/g, (_, name: string) => String(options[name]));
    };
    const RED = {
      _: translate,
      validators: { typedInput: () => () => true },
      nodes: { registerType: (type: string, d: EditorDefinition) => { assert.equal(type, 'keyword-switch'); def = d; } },
    };
    // The editor reads the contracts bundle and the shared helpers, as Node-RED loads them (resources/).
    const sandbox: Record<string, unknown> = { RED, $: () => { throw new Error('no DOM here'); } };
    sandbox.window = sandbox;
    vm.createContext(sandbox);
    for (const file of ['contracts.js', 'editor.js']) vm.runInContext(fs.readFileSync(path.join(__dirname, '..', '..', 'resources', file), 'utf8'), sandbox);
    vm.runInContext(script, sandbox);
  });

  // The script runs in another realm: copy its answers into this one for deepEqual.
  const here = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
  function validateRules(rules: RuleDef[]) {
    return here(def.defaults.rules.validate.call({}, rules, {}));
  }

  it('is in the Exotel SMS category with one output per rule plus otherwise', function () {
    assert.equal(def.category, 'Exotel SMS');
    assert.deepEqual(here(def.defaults.rules.value), [{ t: 'keywords', v: '' }]);
    assert.equal(def.defaults.outputs.value, 2);
    assert.equal(def.defaults.checkall.value, 'false');
    assert.equal(def.defaults.matchMode.value, 'whole');
    assert.equal(def.defaults.typos.value, false);
    assert.equal(def.paletteLabel(), 'keyword switch');
  });

  it('labels each output with its rule’s keywords, and the last one otherwise', function () {
    const node = { rules: [...OPT_IN_OUT, { t: 'range', v: '1-3' }, { t: 'regex', v: '^\\d{6}$' }, { t: 'any' }, { t: 'empty' }] };
    const labels = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => def.outputLabels.call(node, i));
    assert.deepEqual(labels, [
      'START, YES, UNSTOP, SUBSCRIBE',
      'STOP, NO, UNSUBSCRIBE, CANCEL, END, QUI…',
      'HELP, INFO',
      'number 1-3',
      'matches /^\\d{6}$/',
      'any text',
      'empty reply',
      'otherwise',
    ]);
  });

  it('accepts good rules', function () {
    assert.equal(validateRules(OPT_IN_OUT), true);
    assert.equal(validateRules([{ t: 'range', v: '१-३, 5' }, { t: 'regex', v: '^\\d{6}$' }, { t: 'any' }, { t: 'empty' }, { t: 'keywords', v: 'हाँ' }]), true);
  });

  it('shows the red triangle for the same bad rules the runtime refuses, naming each', function () {
    assert.equal(validateRules([]), 'Rules: add at least one rule');
    assert.equal(validateRules([{ t: 'keywords', v: '' }]), 'Rule 1: the keyword list is empty: write one or more keywords, separated by commas');
    assert.deepEqual(validateRules([{ t: 'keywords', v: 'STOP' }, { t: 'range', v: '3-1' }, { t: 'regex', v: '(' }]), [
      'Rule 2: the range "3-1" runs backwards: write the smaller number first, as in 1-3',
      'Rule 3: the regular expression is not valid (Unterminated group)',
    ]);
    assert.equal(validateRules([{ t: 'keywords', v: 'STOP, 🛑' }]), 'Rule 1: the keyword "🛑" has no letters or digits, so no reply can match it');
    assert.equal(validateRules([{ t: 'range', v: '<b>x</b>' }]), 'Rule 1: "&lt;b&gt;x&lt;/b&gt;" is not a number or a range: write a number such as 2, a range such as 1-5, or several separated by commas');
  });

  it('refuses an unknown match mode or routing choice', function () {
    assert.notEqual(def.defaults.matchMode.validate('sometimes'), true);
    assert.equal(def.defaults.matchMode.validate('first-word'), true);
    assert.notEqual(def.defaults.checkall.validate('maybe'), true);
    assert.equal(def.defaults.checkall.validate('true'), true);
    assert.equal(def.defaults.matchMode.validate(undefined), true, 'a flow written by hand may leave the defaults out');
  });
});
