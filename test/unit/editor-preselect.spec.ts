// resources/editor.js: a new node's Account is the only account there is (issue 15, item 6), and the
// sandbox tab opens from the dialogs. Run in a vm with a stand-in for RED and jQuery.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

interface Config { id: string; type: string; d?: boolean; z?: string }

function editorWith(configs: Config[], options: string[], actions: string[] = []) {
  const select = { value: '', changes: 0 };
  const shown: string[] = [];
  const $ = (selector: string) => {
    assert.equal(selector, '#node-input-account');
    return {
      find: (query: string) => ({ length: options.filter((id) => query === `option[value="${id}"]`).length }),
      val(value: string) {
        select.value = value;
        return { trigger: () => void select.changes++ };
      },
    };
  };
  const invoked: string[] = [];
  const RED = {
    nodes: { eachConfig: (fn: (c: Config) => void) => configs.forEach(fn) },
    sidebar: { show: (id: string) => shown.push(id) },
    actions: { get: (name: string) => (actions.includes(name) ? () => undefined : undefined), invoke: (name: string) => invoked.push(name) },
  };
  const window: Record<string, unknown> = {};
  const context = vm.createContext({ RED, $, window });
  vm.runInContext(fs.readFileSync(path.join(__dirname, '..', '..', 'resources', 'editor.js'), 'utf8'), context);
  return { E: window.ExotelSmsEditor as { preselectAccount(node: object): void; openSandboxTab(): void }, select, shown, invoked };
}

describe('editor helpers: the account of a new node', () => {
  it('chooses the only account for a node that has none', () => {
    const { E, select } = editorWith([{ id: 'a1', type: 'exotel-account' }, { id: 'x', type: 'other-config' }], ['a1']);
    E.preselectAccount({ z: 'tab' });
    assert.deepEqual(select, { value: 'a1', changes: 1 });
  });

  it('leaves the choice alone with two accounts, with a chosen account, or when the only one is disabled or in another subflow', () => {
    const two = editorWith([{ id: 'a1', type: 'exotel-account' }, { id: 'a2', type: 'exotel-account' }], ['a1', 'a2']);
    two.E.preselectAccount({ z: 'tab' });
    assert.equal(two.select.value, '');
    const chosen = editorWith([{ id: 'a1', type: 'exotel-account' }], ['a1']);
    chosen.E.preselectAccount({ z: 'tab', account: 'elsewhere' });
    assert.equal(chosen.select.value, '');
    const disabled = editorWith([{ id: 'a1', type: 'exotel-account', d: true }], ['a1']);
    disabled.E.preselectAccount({ z: 'tab' });
    assert.equal(disabled.select.value, '');
    const scoped = editorWith([{ id: 'a1', type: 'exotel-account', z: 'subflow1' }], []);
    scoped.E.preselectAccount({ z: 'tab' });
    assert.equal(scoped.select.value, '');
  });

  it('opens the SMS tab of the plugin (plugins/exotel-sms.html adds it as "exotel-sms") on its phone', () => {
    const { E, shown, invoked } = editorWith([], []);
    E.openSandboxTab();
    assert.deepEqual(shown, ['exotel-sms'], 'without the plugin\'s action: the tab');
    const plugin = fs.readFileSync(path.join(__dirname, '..', '..', 'plugins', 'exotel-sms.html'), 'utf8');
    assert.match(plugin, /addTab\(\{\s*id: 'exotel-sms'/);
    assert.match(plugin, /RED\.actions\.add\('exotel-sms:show-sandbox', function \(\) \{\s*tab\.show\('phone'\);/);
    const withAction = editorWith([], [], ['exotel-sms:show-sandbox']);
    withAction.E.openSandboxTab();
    assert.deepEqual([withAction.shown, withAction.invoked], [[], ['exotel-sms:show-sandbox']], 'with it: the phone');
    assert.deepEqual(invoked, []);
  });
});
