// A red field in an editor dialog says why on hover. Node-RED shows a validator's message only when
// the validator declares two parameters (value, opt): one with a single parameter is reduced to
// true/false, and the field is red with no explanation. And the send node's Text starts typed in.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import * as contracts from '../../src/nodes/contracts';

const root = path.join(__dirname, '..', '..');
const RESOURCES = 'resources/@smsflow/node-red-exotel/';

type Validate = ((this: unknown, value: unknown, opt?: unknown) => unknown) & { length: number };
interface Registered {
  defaults: Record<string, { value: unknown; validate?: Validate }>;
}

/** Runs an editor file with stand-ins for RED and jQuery; what it registered by type. */
function load(file: string): Record<string, Registered> {
  const registered: Record<string, Registered> = {};
  const chain: Record<string, unknown> = new Proxy({}, { get: (_target, name) => (name === 'length' ? 0 : () => chain) });
  const $ = Object.assign(() => chain, { extend: Object.assign, getJSON: () => chain });
  const RED = {
    _: (key: string) => key.replace(/^@smsflow\/node-red-exotel\/([a-z-]+):\1\./, ''),
    nodes: { registerType: (type: string, def: Registered) => (registered[type] = def), eachNode: () => undefined, node: () => null },
    plugins: { registerPlugin: () => undefined },
    // Node-RED's own check of a msg property: a sentence is not a property name
    validators: {
      // (value, opt), as Node-RED's own validators declare them
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      typedInput: () => (value: unknown, _opt?: unknown) => (/\s/.test(String(value)) ? 'Invalid property expression' : true),
      number: () => () => true,
      regex: () => () => true,
    },
    utils: { validateTypedProperty: () => true },
    editor: { getEditStack: () => [] },
    settings: {},
    events: { on: () => undefined },
    comms: { subscribe: () => undefined },
    sidebar: { addTab: () => undefined },
    popover: { tooltip: () => undefined },
    actions: { add: () => undefined },
  };
  const window: Record<string, unknown> = { ExotelSmsContracts: contracts };
  const context = vm.createContext({ RED, $, window, console });
  window.window = window;
  const html = fs.readFileSync(path.join(root, file), 'utf8');
  for (const match of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
    const src = /src="([^"]+)"/.exec(match[1]);
    if (src) {
      const name = src[1].slice(RESOURCES.length);
      if (name !== 'contracts.js') vm.runInContext(fs.readFileSync(path.join(root, 'resources', name), 'utf8'), context);
    } else if (!/type="text\/(html|x-red)"/.test(match[1])) {
      vm.runInContext(match[2], context, { filename: file });
    }
  }
  return registered;
}

describe('editor: a red field says why', () => {
  for (const type of Object.keys(contracts.nodes)) {
    it(`${type}: every validator declares (value, opt), so that Node-RED shows its message on hover`, () => {
      const def = load(`nodes/${type}.html`)[type];
      const silent = Object.entries(def.defaults).filter(([, spec]) => spec.validate && spec.validate.length !== 2).map(([key]) => key);
      assert.deepEqual(silent, []);
    });
  }

  it('send SMS: a new node’s Text is typed in, and a sentence under msg. says to choose “string”', () => {
    const def = load('nodes/exotel-send.html')['exotel-send'];
    assert.equal(def.defaults.textType.value, 'str');
    assert.equal(def.defaults.text.value, '');
    const validate = def.defaults.text.validate!;
    assert.equal(validate.call({ textType: 'str' }, 'Thanks! Reply STOP to unsubscribe', {}), true);
    assert.equal(validate.call({ textType: 'str' }, '  ', {}), 'errors.textTyped');
    assert.equal(validate.call({ textType: 'msg' }, 'payload', {}), true);
    assert.equal(validate.call({ textType: 'msg' }, 'Thanks for your order', {}), 'errors.textSentence');
  });

  it('send SMS: the placeholder of Text is an example of a reply', () => {
    const html = fs.readFileSync(path.join(root, 'nodes', 'exotel-send.html'), 'utf8');
    assert.match(html, /id="node-input-text"[^>]*data-i18n="\[placeholder\]exotel-send\.placeholder\.text"/);
    const catalogue = JSON.parse(fs.readFileSync(path.join(root, 'nodes', 'locales', 'en-US', 'exotel-send.json'), 'utf8'));
    assert.match(catalogue['exotel-send'].placeholder.text, /Reply STOP/);
  });
});
