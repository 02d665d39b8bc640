// What a newcomer reads under an opt-out store node and in the palette.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../../src/store';
import { OptOutController } from '../../src/nodes/opt-out-store/controller';
import { evaluate, LogRecorder, StatusRecorder, translate, until } from './fakes';

describe('opt-out store: status and palette label', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(() => store.close());

  function node(action: string, status: StatusRecorder) {
    return new OptOutController({ config: { action }, store, evaluate, translate, status, log: new LogRecorder() });
  }

  function run(c: OptOutController, phone: string, sid: string) {
    return new Promise<void>((resolve, reject) => c.handle({ phone, sms: { sid } }, () => undefined, (err) => (err ? reject(err) : resolve())));
  }

  it('an "opt in" node reads "ready", then how many it opted in; never "0 opted out"', async () => {
    const status = new StatusRecorder();
    const optIn = node('optin', status);
    await optIn.showCount();
    assert.equal(status.last?.text, 'status.ready');
    await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', source: 'SM0' });
    await run(optIn, '+919876543210', 'SM1');
    await run(optIn, '+919812345678', 'SM2');
    await run(optIn, '+919812345678', 'SM3');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(status.last?.text, 'status.optedIn {"count":2}', 'a number already opted in is not counted twice');
    assert.ok(!status.shown.some((line) => line.text.startsWith('status.optedOut')));
  });

  it('an "opt out" node still counts the numbers opted out', async () => {
    const status = new StatusRecorder();
    const optOut = node('optout', status);
    await run(optOut, '+919876543210', 'SM1');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(status.last?.text, 'status.optedOut {"count":1}');
  });

  it('counts once more for the messages that finished while the count was read, not once each, and shows the last count', async () => {
    const status = new StatusRecorder();
    const optOut = node('optout', status);
    let reads = 0;
    const count = store.optedOutCount.bind(store);
    store.optedOutCount = async () => {
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return count();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => run(optOut, `+9198765432${String(i).padStart(2, '0')}`, `SM${i}`)));
    await until(() => status.last?.text === 'status.optedOut {"count":20}');
    assert.ok(reads >= 2 && reads <= 4, `${reads} reads of the count for 20 messages`);
  });

  it('the palette shows "opt‑out store" in one piece (Node-RED breaks palette labels at every "-")', () => {
    const catalogue = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', 'opt-out-store.json'), 'utf8'));
    const label = catalogue['opt-out-store'].paletteLabel as string;
    assert.doesNotMatch(label, /-/);
    assert.equal(label.replace(/\u2011/g, '-'), 'opt-out store');
  });
});
