// The SMS tab's runtime side in node-red-node-test-helper, on the nodes from src/: when the flows start,
// the inbound log loses what is older than exotelSms.retentionDays, and nothing else; the tab's log
// then shows what is left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store';
import { helper, load, settings, until } from '../support/red';

const DAY = 86_400_000;

describe('the SMS tab in Node-RED: retention', function () {
  let dir = '';
  let file = '';

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-sms-tab-'));
    file = path.join(dir, 'store.db');
    settings({ exotelSms: { storePath: file, retentionDays: 30 } });
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('deletes received SMS older than retentionDays when the flows start, and keeps the newer ones and every opt-out', async () => {
    const store = new SqliteStore(file);
    const record = (sid: string) => store.recordInbound({ sid, endpoint: '/exotel/sms', from: '+919876543210', to: '+918000000000', body: sid, receivedAt: '', accountSid: '' });
    await record('old');
    await record('recent');
    await store.markInboundHandled(['old', 'recent']);
    store.db.prepare('UPDATE inbound SET recorded_at = ? WHERE sid = ?').run(Date.now() - 31 * DAY, 'old');
    store.db.prepare('UPDATE inbound SET recorded_at = ? WHERE sid = ?').run(Date.now() - 29 * DAY, 'recent');
    await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'old' });
    await store.close();

    await load([{ id: 'acc', type: 'exotel-account', name: 'Shop', mode: 'sandbox', defaultFrom: 'EXSHOP', defaultCountry: 'IN' }]);
    let bodies: string[] = [];
    await until(async () => {
      const res = await helper.request().get('/exotel-sms/log').expect(200);
      bodies = (res.body as { items: Array<{ body: string }> }).items.map((line) => line.body);
      return bodies.length === 1;
    }, 5000, 'the old SMS to be purged');
    assert.deepEqual(bodies, ['recent']);
    const history = await helper.request().get('/exotel-sms/opt-outs/history').query({ phone: '+919876543210' }).expect(200);
    assert.equal(history.body.record.status, 'opted-out', 'the opt-out stays');
  });
});
