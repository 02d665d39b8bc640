// Runtime texts of the nodes (statuses, errors, warnings, log lines) come from nodes/locales/<lang>/<type>.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { messages, languagesFor } from '../../src/nodes/runtime';

const root = path.join(__dirname, '..', '..');
// a stand-in for RED: messages() reads only RED.settings
const red = (settings = {}): NodeAPI => ({ settings }) as unknown as NodeAPI;

describe('runtime messages', function () {
  it('resolves a key to the en-US text with its placeholders filled', function () {
    const m = messages(red({ lang: 'en-US' }), 'exotel-inbound');
    assert.equal(m('status.counts', { received: 1, duplicate: 1, rejected: 1 }), '1 received · 1 duplicate · 1 rejected');
    assert.equal(m('status.listening', { path: '/exotel/sms' }), 'listening on /exotel/sms');
    assert.equal(messages(red(), 'opt-out-store', 'en-US')('status.optedOut', { count: 2 }), '2 opted out');
  });

  it('falls back to en-US for a language without a catalogue, and to the key for an unknown key', function () {
    for (const lang of ['xx-YY', 'de', 'C', '']) {
      const m = messages(red({ lang }), 'exotel-send');
      assert.equal(m('status.counts', { sent: 1, failed: 1 }), '1 sent · 1 failed', lang);
    }
    assert.equal(messages(red({ lang: 'xx' }), 'exotel-send')('status.noSuchKey'), 'status.noSuchKey');
  });

  it('speaks Hindi when the runtime language is hi, hi-IN or hi_IN.UTF-8 (settings.js lang, or the environment)', function () {
    for (const lang of ['hi', 'hi-IN', 'hi_IN.UTF-8']) {
      assert.equal(messages(red({ lang }), 'exotel-send')('status.counts', { sent: 3, failed: 1 }), '3 भेजे · 1 विफल', lang);
      assert.equal(messages(red({ lang }), 'exotel-inbound')('status.listening', { path: '/exotel/sms' }), '/exotel/sms पर सुन रहा है', lang);
    }
    const saved = { LC_ALL: process.env.LC_ALL, LC_MESSAGES: process.env.LC_MESSAGES, LANG: process.env.LANG };
    try {
      delete process.env.LC_ALL;
      delete process.env.LC_MESSAGES;
      process.env.LANG = 'hi_IN.UTF-8';
      assert.equal(messages(red(), 'opt-out-store')('status.optedOut', { count: 2 }), '2 ऑप्ट-आउट', 'LANG');
      process.env.LANG = 'C.UTF-8';
      process.env.LC_MESSAGES = 'hi_IN.UTF-8';
      assert.equal(messages(red(), 'opt-out-store')('status.optedOut', { count: 2 }), '2 ऑप्ट-आउट', 'LC_MESSAGES, as Node-RED reads it');
      assert.equal(messages(red({ lang: 'en-US' }), 'opt-out-store')('status.optedOut', { count: 2 }), '2 opted out', 'settings.js lang before the environment');
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('maps POSIX locales to languages, ending with en-US', function () {
    assert.deepEqual(languagesFor('hi_IN.UTF-8'), ['hi-IN', 'hi', 'en-US']);
    assert.deepEqual(languagesFor('ja'), ['ja', 'en-US']);
    assert.deepEqual(languagesFor('C.UTF-8'), ['en-US']);
    assert.deepEqual(languagesFor(undefined), ['en-US']);
  });

  it('has in the catalogue of its node type every key the nodes use', function () {
    const dir = path.join(root, 'src', 'nodes');
    let used = 0;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      // the adapter and its node type's folder (controllers), which the adapter's translator serves
      const folder = path.join(dir, file.replace(/\.ts$/, ''));
      const parts = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.endsWith('.ts')).map((f) => path.join(folder, f)) : [];
      const source = [path.join(dir, file), ...parts].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
      const types = [...source.matchAll(/messages\(RED, '([a-z-]+)'\)/g)].map((match) => match[1]);
      const keys = [...source.matchAll(/\bm\(\s*['`]([^'`$]+)['`]/g)].map((match) => match[1]);
      // positiveInt() builds its key from a fixed list
      if (file === 'exotel-account.ts') keys.push('warn.rateLimit', 'warn.queueLimit');
      if (keys.length === 0) continue;
      assert.equal(types.length, 1, `${file} creates one translator`);
      const catalogue = JSON.parse(fs.readFileSync(path.join(root, 'nodes', 'locales', 'en-US', `${types[0]}.json`), 'utf8'));
      for (const key of keys) {
        const text = key.split('.').reduce((at, part) => (at && typeof at === 'object' ? at[part] : undefined), catalogue[types[0]].runtime);
        assert.equal(typeof text, 'string', `${file}: ${types[0]}.runtime.${key} is missing from the en-US catalogue`);
        used++;
      }
    }
    assert.ok(used > 40, `only ${used} keys found`);
  });
});
