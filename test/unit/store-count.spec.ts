// The opted-out count is kept as numbers opt out and in (triggers, migration 7), never counted on
// start: it must stay right through every way a status changes, and across a reopen and an upgrade.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';

describe('the opted-out count', function () {
  let dir: string;
  let file: string;
  let store: SqliteStore;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-count-'));
    file = path.join(dir, 'exotel-sms.db');
    store = new SqliteStore(file);
  });
  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const a = '+919876543210';
  const b = '+919876543211';
  const c = '+919876543212';

  it('follows opt out, a repeated STOP, opt in, and opting out the same number again', async function () {
    assert.equal(await store.optedOutCount(), 0);
    await store.setOptStatus({ phone: a, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
    assert.equal(await store.optedOutCount(), 1);
    await store.setOptStatus({ phone: a, status: 'opted-out', keyword: 'STOP', source: 'sms-2' });
    assert.equal(await store.optedOutCount(), 1, 'a second STOP from the same number is not a second opt-out');
    await store.setOptStatus({ phone: a, status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
    assert.equal(await store.optedOutCount(), 1, 'a replayed SMS changes nothing');
    await store.setOptStatus({ phone: b, status: 'opted-in', keyword: 'START', source: 'sms-3' });
    assert.equal(await store.optedOutCount(), 1, 'a number that opts in without having opted out is not counted');
    await store.setOptStatus({ phone: a, status: 'opted-in', keyword: 'START', source: 'sms-4' });
    assert.equal(await store.optedOutCount(), 0);
    await store.setOptStatus({ phone: a, status: 'opted-in', keyword: 'START', source: 'sms-5' });
    assert.equal(await store.optedOutCount(), 0, 'a second START does not count below zero');
    await store.setOptStatus({ phone: a, status: 'opted-out', keyword: 'STOP', source: 'sms-6' });
    await store.setOptStatus({ phone: b, status: 'opted-out', keyword: 'STOP', source: 'sms-7' });
    assert.equal(await store.optedOutCount(), 2);
  });

  it('follows an import, and an import of numbers already opted out counts none twice', async function () {
    await store.setOptStatus({ phone: a, status: 'opted-out', source: 'manual' });
    const first = await store.importOptStatus([a, b, c, b], 'opted-out', 'import');
    assert.deepEqual(first, { changed: 2, unchanged: 2 });
    assert.equal(await store.optedOutCount(), 3);
    await store.importOptStatus([b, c], 'opted-in', 'import');
    assert.equal(await store.optedOutCount(), 1);
    await store.importOptStatus([a, b, c], 'opted-out', 'import');
    assert.equal(await store.optedOutCount(), 3);
  });

  it('is the number of opted-out rows after many changes in any order', async function () {
    const phones = Array.from({ length: 300 }, (_, i) => `+9198765${String(i).padStart(5, '0')}`);
    await store.importOptStatus(phones.slice(0, 200), 'opted-out', 'import');
    for (let i = 0; i < 300; i += 3) await store.setOptStatus({ phone: phones[i], status: 'opted-in', source: `in-${i}` });
    for (let i = 0; i < 300; i += 7) await store.setOptStatus({ phone: phones[i], status: 'opted-out', source: `out-${i}` });
    const counted = (await store.exportOptStatus()).filter((record) => record.status === 'opted-out').length;
    assert.equal(await store.optedOutCount(), counted);
  });

  it('stays right when a row is deleted by hand (maintenance with the sqlite3 shell)', async function () {
    await store.importOptStatus([a, b, c], 'opted-out', 'import');
    store.db.prepare('DELETE FROM opt_out WHERE phone = ?').run(b);
    assert.equal(await store.optedOutCount(), 2);
  });

  it('survives closing and reopening the file', async function () {
    await store.importOptStatus([a, b, c], 'opted-out', 'import');
    await store.setOptStatus({ phone: c, status: 'opted-in', keyword: 'START', source: 'sms-9' });
    await store.close();
    store = new SqliteStore(file);
    assert.equal(await store.optedOutCount(), 2);
    await store.setOptStatus({ phone: c, status: 'opted-out', keyword: 'STOP', source: 'sms-10' });
    assert.equal(await store.optedOutCount(), 3);
  });

  it('counts the opt-outs of a store written before the count was kept (schema 6), once, on upgrade', async function () {
    await store.close();
    fs.rmSync(file, { force: true });
    const db = new Database(file);
    for (let version = 0; version < 6; version++) db.exec(MIGRATIONS[version]);
    db.pragma('user_version = 6');
    const insert = db.prepare("INSERT INTO opt_out (phone, status, source, updated_at) VALUES (?, ?, 'import', 1)");
    insert.run(a, 'opted-out');
    insert.run(b, 'opted-in');
    insert.run(c, 'opted-out');
    db.close();
    store = new SqliteStore(file);
    assert.equal(await store.schemaVersion(), MIGRATIONS.length);
    assert.equal(await store.optedOutCount(), 2);
    await store.setOptStatus({ phone: b, status: 'opted-out', keyword: 'STOP', source: 'sms-11' });
    assert.equal(await store.optedOutCount(), 3);
  });
});
