// opt-out-store's actions as a flow sees them: what msg.optOut and msg.payload say, what is stored,
// and what the node shows under it; on a real (in-memory) store, without Node-RED.
import assert from 'node:assert/strict';
import { SqliteStore } from '../../src/store';
import { OptOutController, type OptOutConfig, type OptOutMessage } from '../../src/nodes/opt-out-store/controller';
import { evaluate, LogRecorder, settle, StatusRecorder, translate } from './fakes';

const ASHA = '+919876543210';
const RAVI = '+919812345678';

/** A store whose count of opted-out numbers cannot be read (a locked or lost database). */
class CountlessStore extends SqliteStore {
  override async optedOutCount(): Promise<number> {
    throw new Error('SQLITE_BUSY: database is locked');
  }
}

describe('opt-out-store controller: each action', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(() => store.close());

  function node(config: OptOutConfig, on: SqliteStore = store) {
    const status = new StatusRecorder();
    const log = new LogRecorder();
    const controller = new OptOutController({ config, store: on, evaluate, translate, status, log });
    return { controller, status, log };
  }

  function run(controller: OptOutController, msg: OptOutMessage) {
    return new Promise<OptOutMessage>((resolve, reject) => {
      let out: unknown;
      controller.handle(msg, (m) => (out = m), (err) => (err ? reject(err) : resolve(out as OptOutMessage)));
    });
  }

  function failure(controller: OptOutController, msg: OptOutMessage) {
    return new Promise<Error>((resolve) => controller.handle(msg, () => assert.fail('handed on'), (err) => (err ? resolve(err) : assert.fail('no error'))));
  }

  describe('get', () => {
    it('says "unknown", with no date, keyword or source, for a number never seen; no "changed"', async () => {
      const out = await run(node({ action: 'get' }).controller, { phone: ASHA });
      assert.deepEqual(out.optOut, { phone: ASHA, status: 'unknown', updatedAt: null, keyword: null, source: null });
    });

    it('gives the stored status with its date, keyword and SmsSid, on its one output', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', keyword: 'STOP', source: 'SM1' });
      const out = await run(node({ action: 'get' }).controller, { phone: '09876543210' });
      const optOut = out.optOut as Record<string, unknown>;
      assert.ok(!Array.isArray(out), 'one message, not one per output');
      assert.match(String(optOut.updatedAt), /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual({ ...optOut, updatedAt: null }, { phone: ASHA, status: 'opted-out', updatedAt: null, keyword: 'STOP', source: 'SM1' });
    });
  });

  describe('export', () => {
    it('hands on every stored number as msg.payload, as get describes each', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', keyword: 'STOP', source: 'SM1' });
      await store.setOptStatus({ phone: RAVI, status: 'opted-in', source: 'manual' });
      const out = await run(node({ action: 'export' }).controller, {});
      const rows: Array<Record<string, unknown>> = (out.payload as Array<Record<string, unknown>>).map((row) => ({ ...row, updatedAt: typeof row.updatedAt }));
      assert.deepEqual(rows.sort((a, b) => String(a.phone).localeCompare(String(b.phone))), [
        { phone: RAVI, status: 'opted-in', updatedAt: 'string', keyword: null, source: 'manual' },
        { phone: ASHA, status: 'opted-out', updatedAt: 'string', keyword: 'STOP', source: 'SM1' },
      ]);
    });
  });

  describe('opt out and opt in', () => {
    it('keeps no keyword that is empty or not text, and "manual" as the source of a message with no SMS', async () => {
      const { controller } = node({ action: 'optout' });
      assert.equal(((await run(controller, { phone: ASHA, keyword: '' })).optOut as Record<string, unknown>).keyword, null);
      assert.equal(((await run(controller, { phone: RAVI, keyword: 5, sms: { sid: '' } })).optOut as Record<string, unknown>).keyword, null);
      assert.deepEqual((await store.exportOptStatus()).map((r) => [r.phone, r.keyword, r.source]).sort(), [
        [RAVI, null, 'manual'],
        [ASHA, null, 'manual'],
      ].sort());
    });

    it('keeps "manual" as the source when msg.sms.sid is not text', async () => {
      const out = await run(node({ action: 'optout' }).controller, { phone: ASHA, sms: { sid: 42 } });
      assert.equal((out.optOut as Record<string, unknown>).source, 'manual');
      assert.equal((await store.getOptStatus(ASHA))?.source, 'manual');
    });

    it('a second manual opt-out of the same number did not change it (changed: false)', async () => {
      const { controller } = node({ action: 'optout' });
      assert.equal(((await run(controller, { phone: ASHA })).optOut as Record<string, unknown>).changed, true);
      assert.equal(((await run(controller, { phone: ASHA })).optOut as Record<string, unknown>).changed, false);
    });

    it('the same STOP handed on again (a replay) says changed, as the first time, while its opt-out is in force', async () => {
      const { controller } = node({ action: 'optout' });
      await run(controller, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM1' } });
      const again = await run(controller, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM1' } });
      assert.equal((again.optOut as Record<string, unknown>).changed, true);
    });

    it('a replayed STOP whose opt-out a later START undid says not changed, and the number stays opted in', async () => {
      const optOut = node({ action: 'optout' }).controller;
      const optIn = node({ action: 'optin' }).controller;
      await run(optOut, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM1' } });
      await run(optIn, { phone: ASHA, keyword: 'START', sms: { sid: 'SM2' } });
      const again = await run(optOut, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM1' } });
      assert.deepEqual({ ...(again.optOut as object), updatedAt: null }, { phone: ASHA, status: 'opted-in', updatedAt: null, keyword: 'START', source: 'SM2', changed: false });
      assert.equal(await store.isOptedOut(ASHA), false);
    });

    it('one SMS read by an "opt out" then an "opt in" node: the opt-out replayed after the opt-in says not changed', async () => {
      const optOut = node({ action: 'optout' }).controller;
      const optIn = node({ action: 'optin' }).controller;
      await run(optOut, { phone: ASHA, sms: { sid: 'SM1' } });
      await run(optIn, { phone: ASHA, sms: { sid: 'SM1' } });
      const again = await run(optOut, { phone: ASHA, sms: { sid: 'SM1' } });
      assert.equal((again.optOut as Record<string, unknown>).changed, false);
      assert.equal(await store.isOptedOut(ASHA), false);
    });

    it('a replayed second STOP, which found the number already opted out, still says not changed', async () => {
      const { controller } = node({ action: 'optout' });
      await run(controller, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM1' } });
      assert.equal(((await run(controller, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM2' } })).optOut as Record<string, unknown>).changed, false);
      const again = await run(controller, { phone: ASHA, keyword: 'STOP', sms: { sid: 'SM2' } });
      assert.equal((again.optOut as Record<string, unknown>).changed, false, 'the opt-out (and its confirmation) was SM1\'s');
    });

    it('says which value is not a phone number, with a red ring under the node', async () => {
      const { controller, status } = node({ action: 'optout' });
      const err = await failure(controller, { phone: 'hello' });
      assert.equal(err.message, 'error.notPhone {"value":"\\"hello\\""}');
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'error.notPhone {"value":"\\"hello\\""}' });
    });

    it('shows the count with a green dot; a red ring when the store cannot count', async () => {
      const ok = node({ action: 'optout' });
      await run(ok.controller, { phone: ASHA });
      await settle();
      assert.deepEqual(ok.status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.optedOut {"count":1}' });

      const broken = new CountlessStore(':memory:');
      try {
        const failing = node({ action: 'optout' }, broken);
        await run(failing.controller, { phone: ASHA });
        await settle();
        assert.deepEqual(failing.status.lastDrawn, { fill: 'red', shape: 'ring', text: 'status.storeUnavailable' });
        assert.equal(await broken.isOptedOut(ASHA), true, 'the opt-out itself was stored');
      } finally {
        broken.close();
      }
    });

    it('an "opt in" node shows "ready", then how many it opted in, with a green dot', async () => {
      const { controller, status } = node({ action: 'optin' });
      await controller.showCount();
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.ready' });
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'manual' });
      await run(controller, { phone: ASHA });
      await settle();
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.optedIn {"count":1}' });
    });
  });

  describe('import', () => {
    it('imports as opted out, with "import" as the source; the summary under the node stays (no count after it)', async () => {
      const { controller, status, log } = node({ action: 'import' });
      const out = await run(controller, { payload: [ASHA, RAVI] });
      await settle();
      assert.deepEqual(out.payload, { total: 2, imported: 2, changed: 2, unchanged: 0, duplicates: 0, invalid: 0, invalidNumbers: [], status: 'opted-out' });
      assert.deepEqual((await store.exportOptStatus()).map((r) => [r.status, r.source]), [['opted-out', 'import'], ['opted-out', 'import']]);
      assert.deepEqual(status.drawn, [{ fill: 'green', shape: 'dot', text: 'status.imported {"imported":2,"invalid":0}' }]);
      assert.deepEqual(log.lines, [], 'no warning when every number was valid');
    });

    it('imports as opted in when the node says so', async () => {
      await store.setOptStatus({ phone: ASHA, status: 'opted-out', source: 'SM1' });
      const out = await run(node({ action: 'import', importAs: 'opted-in' }).controller, { payload: `${ASHA}\n${RAVI}` });
      assert.deepEqual(out.payload, { total: 2, imported: 2, changed: 2, unchanged: 0, duplicates: 0, invalid: 0, invalidNumbers: [], status: 'opted-in' });
      assert.equal(await store.isOptedOut(ASHA), false);
    });

    it('warns how many lines were not numbers, and lists at most 20 of them', async () => {
      const { controller, status, log } = node({ action: 'import' });
      const junk = Array.from({ length: 25 }, (_, i) => `junk-${i}`);
      const out = await run(controller, { payload: [ASHA, ...junk] });
      const summary = out.payload as Record<string, unknown>;
      assert.equal(summary.invalid, 25);
      assert.deepEqual(summary.invalidNumbers, junk.slice(0, 20));
      assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.importInvalid {"count":25}' }]);
      assert.deepEqual(status.lastDrawn, { fill: 'green', shape: 'dot', text: 'status.imported {"imported":1,"invalid":25}' });
    });

    it('refuses a payload that is no list of numbers, and stores nothing', async () => {
      const { controller, status } = node({ action: 'import' });
      const err = await failure(controller, { payload: 42 });
      assert.equal(err.message, 'error.importPayload');
      assert.deepEqual(status.lastDrawn, { fill: 'red', shape: 'ring', text: 'error.importPayload' });
      assert.deepEqual(await store.exportOptStatus(), []);
    });
  });
});
