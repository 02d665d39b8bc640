import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, acquireStore } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { present } from '../support/present';

describe('the SQLite store', function () {
  let dir: string;
  let file: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-store-'));
    file = path.join(dir, 'exotel-sms.db');
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema at the latest version, in WAL mode', async function () {
    const store = new SqliteStore(file);
    assert.equal(await store.schemaVersion(), MIGRATIONS.length);
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    await store.close();
  });

  it('migrates a database of schema 1 to the latest, keeping its inbound log', async function () {
    const db = new Database(file);
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO inbound VALUES ('old-1', '/exotel/sms', '+919876543210', '', 'hi', '2025-01-01T00:00:00Z', 'a', 1, 1)").run();
    db.close();
    const store = new SqliteStore(file);
    assert.equal(await store.schemaVersion(), MIGRATIONS.length);
    assert.equal(await store.recordInbound({ sid: 'old-1', endpoint: '/exotel/sms', from: '+919876543210', to: '', body: 'hi', receivedAt: '', accountSid: '' }), false);
    await store.close();
  });

  it('refuses a database written by a newer release', async function () {
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(() => new SqliteStore(file), /newer release/);
  });

  it('keeps opt-outs and their history across a restart (close and reopen the file)', async function () {
    let store = new SqliteStore(file);
    await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
    await store.close();
    store = new SqliteStore(file);
    assert.equal(await store.isOptedOut('+919876543210'), true);
    assert.equal(await store.isOptedOut('+919876543211'), false);
    const record = present(await store.getOptStatus('+919876543210'));
    assert.deepEqual({ ...record, updatedAt: typeof record.updatedAt }, { phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1', updatedAt: 'number' });
    assert.equal(await store.optedOutCount(), 1);
    await store.close();
  });

  it('appends every change to a history that cannot be rewritten', async function () {
    const store = new SqliteStore(file);
    const phone = '+919876543210';
    await store.setOptStatus({ phone, status: 'opted-in', keyword: 'YES', source: 'sms-1' });
    await store.setOptStatus({ phone, status: 'opted-out', keyword: 'STOP', source: 'sms-2' });
    const again = await store.setOptStatus({ phone, status: 'opted-out', keyword: 'STOP', source: 'sms-3' });
    assert.equal(again.changed, false);
    const replay = await store.setOptStatus({ phone, status: 'opted-out', keyword: 'STOP', source: 'sms-2' });
    assert.equal(replay.replay, true);
    const history = await store.optOutHistory(phone);
    assert.deepEqual(history.map((h) => [h.status, h.keyword, h.source]), [
      ['opted-in', 'YES', 'sms-1'], ['opted-out', 'STOP', 'sms-2'], ['opted-out', 'STOP', 'sms-3'],
    ]);
    assert.throws(() => store.db.prepare('UPDATE opt_out_history SET status = ?').run('opted-in'), /append-only/);
    assert.throws(() => store.db.prepare('DELETE FROM opt_out_history').run(), /append-only/);
    await store.close();
  });

  it('keeps the time of the first STOP when STOP comes again', async function () {
    const store = new SqliteStore(file);
    const first = await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'a' });
    await new Promise((r) => setTimeout(r, 5));
    const second = await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'QUIT', source: 'b' });
    assert.equal(second.record.updatedAt, first.record.updatedAt);
    assert.equal(second.record.keyword, 'STOP');
    await store.close();
  });

  it('gives one opt-out confirmation per opt-out, only within the window', async function () {
    const store = new SqliteStore(file);
    const phone = '+919876543210';
    assert.equal(await store.claimOptOutConfirmation(phone, 600_000), false, 'not opted out');
    await store.setOptStatus({ phone, status: 'opted-out', source: 'a' });
    assert.equal(await store.claimOptOutConfirmation(phone, 600_000), true);
    assert.equal(await store.claimOptOutConfirmation(phone, 600_000), false);
    await store.releaseOptOutConfirmation(phone);
    assert.equal(await store.claimOptOutConfirmation(phone, 600_000), true, 'a failed confirmation may be tried again');
    store.db.prepare('UPDATE opt_out SET updated_at = ?, confirmation_sent = 0 WHERE phone = ?').run(Date.now() - 11 * 60_000, phone);
    assert.equal(await store.claimOptOutConfirmation(phone, 600_000), false, 'too late');
    await store.close();
  });

  it('imports 100,000 numbers in one go and counts them', async function () {
    this.timeout(60_000);
    const store = new SqliteStore(file);
    const phones = Array.from({ length: 100_000 }, (_, i) => `+9198${String(i).padStart(8, '0')}`);
    await store.setOptStatus({ phone: phones[0], status: 'opted-out', source: 'manual' });
    const result = await store.importOptStatus(phones, 'opted-out', 'import');
    assert.deepEqual(result, { changed: 99_999, unchanged: 1 });
    assert.equal(await store.optedOutCount(), 100_000);
    assert.equal(await store.isOptedOut(phones[54_321]), true);
    await store.close();
    const reopened = new SqliteStore(file);
    assert.equal(await reopened.optedOutCount(), 100_000);
    assert.equal((await reopened.exportOptStatus()).length, 100_000);
    await reopened.close();
  });

  it('shares one store per file in a runtime and closes it with the last user', async function () {
    const a = acquireStore(file);
    const b = acquireStore(file);
    assert.equal(a.store, b.store);
    await a.release();
    assert.equal((a.store as SqliteStore).db.open, true);
    await b.release();
    assert.equal((a.store as SqliteStore).db.open, false);
  });
});
