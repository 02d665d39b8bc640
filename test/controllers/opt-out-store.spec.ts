// opt-out-store's controller, without Node-RED, on a real (in-memory) store.
import assert from 'node:assert/strict';
import { SqliteStore } from '../../src/store';
import { OptOutController, type OptOutConfig, type OptOutMessage } from '../../src/nodes/opt-out-store/controller';
import { evaluate, LogRecorder, StatusRecorder, translate } from './fakes';

const ASHA = '+919876543210';

describe('opt-out-store controller', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(() => store.close());

  function run(config: OptOutConfig, msg: OptOutMessage) {
    const status = new StatusRecorder();
    const c = new OptOutController({ config, store, evaluate, translate, status, log: new LogRecorder() });
    return new Promise<{ out: unknown; status: StatusRecorder }>((resolve, reject) => {
      let out: unknown;
      c.handle(msg, (m) => (out = m), (err) => (err ? reject(err) : resolve({ out, status })));
    });
  }

  it('opts a number out, committed before the message moves on, with the keyword and the SmsSid', async () => {
    const { out } = await run({ action: 'optout' }, { phone: '09876543210', keyword: 'STOP', sms: { sid: 'SM1' } });
    assert.deepEqual({ ...(out as OptOutMessage).optOut as object, updatedAt: null }, { phone: ASHA, status: 'opted-out', updatedAt: null, keyword: 'STOP', source: 'SM1', changed: true });
    assert.equal(await store.isOptedOut(ASHA), true);
  });

  it('checks: output 1 opted in, 2 opted out, 3 unknown', async () => {
    assert.deepEqual(((await run({ action: 'check' }, { phone: ASHA })).out as unknown[]).map((m) => m !== null), [false, false, true]);
    await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
    assert.deepEqual(((await run({ action: 'check' }, { phone: ASHA })).out as unknown[]).map((m) => m !== null), [false, true, false]);
    await store.setOptStatus({ phone: ASHA, status: 'opted-in', source: 'manual' });
    assert.deepEqual(((await run({}, { phone: ASHA })).out as unknown[]).map((m) => m !== null), [true, false, false], 'check is the default action');
  });

  it('refuses what is not a phone number, with a red status', async () => {
    const c = new OptOutController({ config: { action: 'optout' }, store, evaluate, translate, status: new StatusRecorder(), log: new LogRecorder() });
    const err = await new Promise<Error | undefined>((resolve) => c.handle({ phone: 'hello' }, () => assert.fail('handed on'), resolve));
    assert.match(String(err?.message), /error\.notPhone/);
    assert.equal(await store.optedOutCount(), 0);
  });

  it('imports a list: valid numbers once each, the invalid ones counted and listed', async () => {
    const { out } = await run({ action: 'import' }, { payload: `${ASHA}\n09876543210\nnot-a-number\n+919812345678` });
    const summary = (out as OptOutMessage).payload as Record<string, unknown>;
    assert.deepEqual({ total: summary.total, imported: summary.imported, duplicates: summary.duplicates, invalid: summary.invalid, invalidNumbers: summary.invalidNumbers }, {
      total: 4, imported: 2, duplicates: 1, invalid: 1, invalidNumbers: ['not-a-number'],
    });
    assert.equal(await store.optedOutCount(), 2);
  });
});
