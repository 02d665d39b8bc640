// The editor files read the same contracts as the runtime: each nodes/<type>.html is run in a
// sandbox with a stand-in for RED and jQuery, and what it registers is compared with the contract.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { buildSync } from 'esbuild';
import * as contracts from '../../src/nodes/contracts';

const root = path.join(__dirname, '..', '..');
const RESOURCES = 'resources/@smsflow/node-red-exotel/';

interface Registered {
  defaults: Record<string, { value: unknown; required?: boolean; type?: string; validate?: (this: unknown, value: unknown, opt?: unknown) => unknown }>;
  credentials?: Record<string, { type: string }>;
  [key: string]: unknown;
}

/** Every inline script of an editor file, and the resources it loads. */
function scriptsOf(html: string): { inline: string[]; sources: string[] } {
  const inline: string[] = [];
  const sources: string[] = [];
  for (const match of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
    const src = /src="([^"]+)"/.exec(match[1]);
    if (src) sources.push(src[1]);
    else if (!/type="text\/(html|x-red)"/.test(match[1])) inline.push(match[2]);
  }
  return { inline, sources };
}

/** Runs an editor file as Node-RED's editor would, and returns what it registered by type. */
function load(file: string): Record<string, Registered> {
  const registered: Record<string, Registered> = {};
  const chain: Record<string, unknown> = new Proxy({}, { get: (_target, name) => (name === 'length' ? 0 : () => chain) });
  const $ = Object.assign(() => chain, { extend: Object.assign, getJSON: () => chain });
  const RED = {
    // The key within the node type's own catalogue ("errors.action"), with its options.
    _: (key: string, options?: Record<string, unknown>) => {
      const own = /^@smsflow\/node-red-exotel\/([a-z-]+):\1\.(.+)$/.exec(key);
      const shown = own ? own[2] : key;
      return options && Object.keys(options).length > 0 ? `${shown} ${JSON.stringify(options)}` : shown;
    },
    nodes: { registerType: (type: string, def: Registered) => (registered[type] = def), eachNode: () => undefined, node: () => null },
    plugins: { registerPlugin: () => undefined },
    validators: { typedInput: () => () => true, number: () => () => true, regex: () => () => true },
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
  const { inline, sources } = scriptsOf(fs.readFileSync(path.join(root, file), 'utf8'));
  for (const source of sources) {
    assert.ok(source.startsWith(RESOURCES), `${file} loads ${source}: resources of this package only`);
    const name = source.slice(RESOURCES.length);
    if (name === 'contracts.js') continue; // built from src/nodes/contracts.ts, given above
    vm.runInContext(fs.readFileSync(path.join(root, 'resources', name), 'utf8'), context, { filename: name });
  }
  for (const script of inline) vm.runInContext(script, context, { filename: file });
  return registered;
}

const types = Object.keys(contracts.nodes) as Array<keyof typeof contracts.nodes>;

describe('editor files and contracts', () => {
  for (const type of types) {
    const contract = contracts.nodes[type].contract as unknown as { version: number; defaults: Record<string, { value: unknown; required?: boolean; type?: string }>; credentials?: unknown };

    it(`${type}: the editor's defaults are the contract's (keys, values, required, config type)`, () => {
      const registered = load(`nodes/${type}.html`)[type];
      assert.ok(registered, `nodes/${type}.html registers ${type}`);
      assert.deepEqual(Object.keys(registered.defaults).sort(), Object.keys(contract.defaults).sort());
      for (const [key, spec] of Object.entries(contract.defaults)) {
        const editor = registered.defaults[key];
        assert.deepEqual(editor.value, spec.value, `${key}: default value`);
        assert.equal(editor.required, spec.required, `${key}: required`);
        assert.equal(editor.type, spec.type, `${key}: config node type`);
      }
      assert.equal(registered.defaults.version.value, contract.version);
      assert.deepEqual(JSON.parse(JSON.stringify(registered.credentials ?? null)), contract.credentials ?? null);
    });

    it(`${type}: loads the contracts and the shared helpers, and has a literal registerType`, () => {
      const html = fs.readFileSync(path.join(root, `nodes/${type}.html`), 'utf8');
      assert.match(html, new RegExp(`RED\\.nodes\\.registerType\\('${type}', \\{`));
      const { sources } = scriptsOf(html);
      assert.deepEqual(sources, [`${RESOURCES}contracts.js`, `${RESOURCES}editor.js`]);
      assert.match(html, /migrateOnOpen\(/, 'oneditprepare migrates an older node');
      assert.match(html, /migrateOnSave\(/, 'oneditsave stamps the version');
    });
  }

  it('the contracts bundle for the browser builds without Node and holds the same contracts', () => {
    // As scripts/build.js builds it: platform 'browser' fails on any import of a Node module.
    const [bundle] = buildSync({
      entryPoints: [path.join(root, 'src', 'nodes', 'contracts.ts')],
      bundle: true, format: 'iife', globalName: 'ExotelSmsContracts', platform: 'browser', target: 'es2020', write: false, logLevel: 'silent',
    }).outputFiles;
    const context = vm.createContext({});
    vm.runInContext(bundle.text, context);
    const browser = JSON.parse(JSON.stringify(vm.runInContext('ExotelSmsContracts.nodes', context)));
    assert.deepEqual(browser, JSON.parse(JSON.stringify(contracts.nodes)));
    assert.equal(vm.runInContext("ExotelSmsContracts.migrate(ExotelSmsContracts.nodes['conversation-state'].contract, {}).action", context), 'route');
  });

  describe('the SMS sandbox plugin', () => {
    it('registers the exotel-sms plugin, loads the shared helpers, and is declared in package.json', () => {
      const html = fs.readFileSync(path.join(root, 'plugins', 'exotel-sms.html'), 'utf8');
      assert.match(html, /RED\.plugins\.registerPlugin\('exotel-sms', \{/);
      assert.deepEqual(scriptsOf(html).sources, [`${RESOURCES}editor.js`, `${RESOURCES}exotel-sms-tab.js`]);
      assert.match(html, new RegExp(`<link rel="stylesheet" href="${RESOURCES}exotel-sms.css">`));
      assert.match(fs.readFileSync(path.join(root, 'resources', 'exotel-sms.css'), 'utf8'), /#exotel-sandbox-thread \{/);
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
      assert.deepEqual(pkg['node-red'].plugins, { 'exotel-sms': 'dist/plugins/exotel-sms.js' });
      assert.ok(pkg.files.includes('resources/'), 'the packed package serves resources/');
      assert.doesNotMatch(fs.readFileSync(path.join(root, 'nodes', 'exotel-account.html'), 'utf8'), /exotel-sandbox/, 'the tab is no longer in the account node');
    });
  });

  describe('every message an editor file asks for is in its catalogue', () => {
    const files: Array<[string, string, string]> = [
      ...types.map((type): [string, string, string] => [`nodes/${type}.html`, `nodes/locales/en-US/${type}.json`, type]),
      ['plugins/exotel-sms.html', 'plugins/locales/en-US/exotel-sms.json', 'exotel-sms'],
      ['resources/exotel-sms-tab.js', 'plugins/locales/en-US/exotel-sms.json', 'exotel-sms'],
    ];
    for (const type of types) {
      it(`${type}: every problem its contract reports`, () => {
        const catalogue = JSON.parse(fs.readFileSync(path.join(root, `nodes/locales/en-US/${type}.json`), 'utf8'))[type];
        let keys = [...fs.readFileSync(path.join(root, `src/nodes/${type}/contract.ts`), 'utf8').matchAll(/problem\('([A-Za-z0-9.]+)'/g)].map((m) => m[1]);
        if (type === 'keyword-switch') {
          const compiler = fs.readFileSync(path.join(root, 'src/sms/keywords.ts'), 'utf8');
          keys = [...compiler.matchAll(/(?:ruleError\(index|new RuleError\(0), '([A-Za-z]+)'/g)].map((m) => `errors.${m[1]}`);
          assert.ok(keys.length >= 8, 'every rule problem of the compiler');
        }
        for (const key of keys) {
          const text = key.split('.').reduce((at: unknown, part) => (at as Record<string, unknown> | undefined)?.[part], catalogue);
          assert.equal(typeof text, 'string', `${type}.${key}`);
        }
      });
    }

    for (const [file, catalogueFile, type] of files) {
      it(file, () => {
        const catalogue = JSON.parse(fs.readFileSync(path.join(root, catalogueFile), 'utf8'))[type];
        const source = fs.readFileSync(path.join(root, file), 'utf8');
        // Keys written out whole (a key built at run time ends in "." or "-" here and is left out).
        const keys = [...source.matchAll(/\bt\('([A-Za-z0-9.-]+)'/g)].map((m) => m[1]).filter((key) => !/[.-]$/.test(key));
        assert.ok(keys.length > 0);
        for (const key of new Set(keys)) {
          const text = key.split('.').reduce((at: unknown, part) => (at as Record<string, unknown> | undefined)?.[part], catalogue);
          assert.equal(typeof text, 'string', `${file}: ${type}.${key} is not in ${catalogueFile}`);
        }
      });
    }
  });

  describe('the editor shows the contract\'s checks', () => {
    const node = (values: Record<string, unknown>) => ({ id: 'n1', ...values });
    const check = (type: string, key: string, value: unknown, values: Record<string, unknown> = {}) => {
      const def = load(`nodes/${type}.html`)[type].defaults[key];
      return def.validate?.call(node(values), value, {});
    };

    it('opt-out-store and conversation-state: an unknown action is refused', () => {
      assert.equal(check('opt-out-store', 'action', 'delete'), 'errors.action');
      assert.equal(check('opt-out-store', 'action', 'check'), true);
      assert.equal(check('conversation-state', 'action', 'pause'), 'errors.action');
    });

    it('keyword-switch: every bad rule, numbered, with the runtime\'s own checks', () => {
      const shown = check('keyword-switch', 'rules', [{ t: 'keywords', v: 'STOP' }, { t: 'range', v: '5-1' }, { t: 'regex', v: '(' }]);
      assert.ok(Array.isArray(shown));
      assert.deepEqual((shown as string[]).map((text) => text.split(' ')[0]), ['errors.rangeBackwards', 'errors.regex']);
      assert.match((shown as string[])[0], /"n":2,"range":"5-1","fixed":"1-5"/);
      assert.equal(check('keyword-switch', 'rules', [{ t: 'keywords', v: '<🙏>' }]), 'errors.keywordNoLetters {"n":1,"keyword":"&lt;🙏&gt;"}', 'what the user typed is escaped');
      assert.equal(check('keyword-switch', 'rules', [{ t: 'keywords', v: 'हाँ' }]), true);
    });

    it('exotel-inbound: path and allow-list as the runtime reads them', () => {
      assert.equal(check('exotel-inbound', 'path', '/exotel/sms'), true);
      assert.equal(check('exotel-inbound', 'path', 'exotel/sms'), 'errors.pathSlash');
      assert.equal(check('exotel-inbound', 'path', '/a//b'), 'errors.pathChars');
      assert.equal(check('exotel-inbound', 'path', '/'), 'errors.pathRoot');
      assert.equal(check('exotel-inbound', 'allowList', '10.0.0.0/8, 1.2.3.4/33'), 'errors.allowList {"entry":"1.2.3.4/33"}');
    });

    it('exotel-send and exotel-account: enumerations and limits', () => {
      assert.equal(check('exotel-send', 'smsType', 'marketing'), 'errors.smsType');
      assert.equal(check('exotel-send', 'attempts', '11'), 'errors.attempts');
      assert.equal(check('exotel-send', 'attempts', '10'), true);
      assert.equal(check('exotel-account', 'mode', 'test'), 'errors.mode');
      assert.equal(check('exotel-account', 'apiBaseUrl', 'api.exotel.com'), 'errors.apiBaseUrl');
      assert.equal(check('exotel-account', 'accountSid', '', { mode: 'sandbox' }), true);
      assert.equal(check('exotel-account', 'accountSid', '', { mode: 'live' }), 'errors.accountSid');
    });
  });
});

describe('the editor migrates an older node (resources/editor.js)', () => {
  interface Field { type?: string; value?: unknown; checked?: boolean }
  /** editor.js with a stand-in jQuery over a dialog's fields, keyed by selector. */
  function editorWith(fields: Record<string, Field>) {
    const $ = (selector: string) => {
      const field = fields[selector];
      if (!field) return { length: 0 };
      return {
        length: 1,
        attr: (name: string) => (name === 'type' ? field.type : undefined),
        prop: (_name: string, checked?: boolean) => (checked === undefined ? field.checked : (field.checked = checked)),
        val: (value?: unknown) => (value === undefined ? field.value : (field.value = value)),
      };
    };
    const window: Record<string, unknown> = { ExotelSmsContracts: contracts };
    const context = vm.createContext({ RED: { editor: { getEditStack: () => [] } }, $, window });
    vm.runInContext(fs.readFileSync(path.join(root, 'resources', 'editor.js'), 'utf8'), context);
    return window.ExotelSmsEditor as {
      migrateOnOpen(node: object, type: string, prefix?: string): void;
      migrateOnSave(node: object, type: string, prefix?: string): void;
    };
  }

  it('opt-out-store saved without a version or an action: the dialog shows "check", and Done saves version 1', () => {
    const fields: Record<string, Field> = { '#node-input-action': { value: null }, '#node-input-phone': { value: 'phone' } };
    const E = editorWith(fields);
    const node: Record<string, unknown> = { id: 'n1', type: 'opt-out-store', phone: 'phone', phoneType: 'msg', defaultCountry: 'IN', importAs: 'opted-out', outputs: 3 };
    E.migrateOnOpen(node, 'opt-out-store');
    assert.equal(fields['#node-input-action'].value, 'check', 'what the runtime does with it');
    assert.equal(fields['#node-input-phone'].value, 'phone', 'a field already current is left alone');
    assert.equal(node.version, undefined, 'nothing changes on the node until Done');
    E.migrateOnSave(node, 'opt-out-store');
    assert.equal(node.version, 1);
    assert.equal(node.action, undefined, 'a property with a field is saved from its field by Node-RED');
  });

  it('keyword-switch: a checkbox field gets the migrated boolean; a current node is not touched', () => {
    const fields: Record<string, Field> = { '#node-input-typos': { type: 'checkbox', checked: false }, '#node-input-checkall': { value: 'true' } };
    const E = editorWith(fields);
    E.migrateOnOpen({ typos: 'true', checkall: true }, 'keyword-switch');
    assert.equal(fields['#node-input-typos'].checked, true);
    assert.equal(fields['#node-input-checkall'].value, 'true');
    const current = { ...JSON.parse(JSON.stringify(contracts.defaultValues(contracts.nodes['keyword-switch'].contract as never))), rules: [{ t: 'any' }] };
    const before = JSON.stringify(current);
    E.migrateOnSave(current, 'keyword-switch');
    assert.equal(JSON.stringify(current), before);
  });

  it('exotel-account (a config node): fields are node-config-input-…', () => {
    const fields: Record<string, Field> = { '#node-config-input-mode': { value: null }, '#node-input-mode': { value: 'wrong field' } };
    const E = editorWith(fields);
    const node: Record<string, unknown> = { accountSid: 'AC1' };
    E.migrateOnOpen(node, 'exotel-account', 'node-config-input');
    assert.equal(fields['#node-config-input-mode'].value, 'live');
    assert.equal(fields['#node-input-mode'].value, 'wrong field');
    E.migrateOnSave(node, 'exotel-account', 'node-config-input');
    assert.equal(node.version, 3);
    assert.equal(node.webhookAuth, 'token', 'version 2: callbacks need the webhook token');
    assert.equal(node.publicUrl, '', 'version 3: no public URL, no delivery reports, as before');
    assert.deepEqual(node.dltTemplates, [], 'version 3: no DLT templates');
    assert.equal(node.apiBaseUrl, 'https://api.exotel.com', 'a property without a field in the dialog is set on the node');
  });
});
