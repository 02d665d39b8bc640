// The layout's rules, checked: controllers do without Node-RED, adapters stay small, and every
// runtime text a node uses is in its catalogue.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const nodesDir = path.join(root, 'src', 'nodes');
const TYPES = ['exotel-account', 'exotel-inbound', 'keyword-switch', 'conversation-state', 'exotel-send', 'opt-out-store'];
/** shared modules that adapt Node-RED itself: for adapters only */
const ADAPTER_SIDE = ['settings', 'i18n', 'lifecycle', 'typed-input'];

const read = (file: string) => fs.readFileSync(file, 'utf8');
const importsOf = (source: string) => [...source.matchAll(/^import [^;]*? from '([^']+)';/gms)].map((match) => match[1]);

describe('layout of src/nodes', () => {
  for (const type of TYPES) {
    it(`${type}: its controller folder imports neither Node-RED nor the adapter-side modules`, () => {
      const dir = path.join(nodesDir, type);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
      assert.ok(files.includes('controller.ts'), `${type}/controller.ts`);
      for (const file of files) {
        for (const from of importsOf(read(path.join(dir, file)))) {
          assert.notEqual(from, 'node-red', `${type}/${file} imports node-red`);
          assert.ok(!ADAPTER_SIDE.some((name) => from.endsWith(`shared/${name}`)), `${type}/${file} imports ${from}, which adapts Node-RED`);
          assert.ok(!/^\.\.\/[a-z-]+$/.test(from) || from === '../shared' || from === '../contract', `${type}/${file} imports the adapter ${from}`);
        }
      }
    });

    it(`${type}: the adapter is at most 120 lines`, () => {
      const lines = read(path.join(nodesDir, `${type}.ts`)).split('\n').length;
      assert.ok(lines <= 120, `${type}.ts has ${lines} lines`);
    });
  }

  it('shared/ports and shared/status do without Node-RED', () => {
    for (const file of ['ports.ts', 'status.ts', 'http.ts']) {
      assert.ok(!importsOf(read(path.join(nodesDir, 'shared', file))).includes('node-red'), file);
    }
  });

  it('has in the catalogue of its node type every runtime text the adapters and controllers use', () => {
    let used = 0;
    for (const type of TYPES) {
      const catalogue = JSON.parse(read(path.join(root, 'nodes', 'locales', 'en-US', `${type}.json`)))[type].runtime;
      const dir = path.join(nodesDir, type);
      const sources = [path.join(nodesDir, `${type}.ts`), ...fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f))];
      const keys = sources.flatMap((file) => [...read(file).matchAll(/\b(?:m|translate)\(\s*['`]([^'`$]+)['`]/g)].map((match) => match[1]));
      // built from fixed lists: positiveInt()'s keys, and the inbound node's configuration problems
      if (type === 'exotel-account') keys.push('warn.rateLimit', 'warn.queueLimit');
      if (type === 'exotel-inbound') {
        const controller = read(path.join(dir, 'controller.ts'));
        keys.push(...[...controller.matchAll(/(?:status|error): '([a-z]+\.[A-Za-z]+)'/g)].map((match) => match[1]));
      }
      for (const key of keys) {
        const text = key.split('.').reduce<unknown>((at, part) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined), catalogue);
        assert.equal(typeof text, 'string', `${type}.runtime.${key} is missing from the en-US catalogue`);
        used++;
      }
    }
    assert.ok(used > 40, `only ${used} keys found`);
  });
});
