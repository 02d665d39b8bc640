// The store holds numbers, SMS bodies and opt-out lists: its files are readable by the Node-RED user
// only, whether the store creates them or finds them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store';

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('the store files', function () {
  let dir: string;
  let umask: number;
  before(function () {
    if (process.platform === 'win32') this.skip();
  });
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-files-'));
    umask = process.umask(0o022); // the usual umask, which leaves new files readable by everyone
  });
  afterEach(function () {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the database, -wal and -shm 0600, and a directory it has to create 0700', async function () {
    const file = path.join(dir, 'user', 'exotel-sms.db');
    const store = new SqliteStore(file);
    try {
      await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
      await store.recordInbound({ sid: 'sms-1', endpoint: '/exotel/sms', from: '+919876543210', to: '', body: 'STOP', receivedAt: '', accountSid: '' });
      for (const each of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(each).toString(8), '600', each);
      assert.equal(mode(path.dirname(file)).toString(8), '700');
    } finally {
      await store.close();
    }
  });

  it('tightens an existing store of ours that others could read, and keeps its data', async function () {
    const file = path.join(dir, 'exotel-sms.db');
    let store = new SqliteStore(file);
    await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
    await store.close();
    // as an earlier release left it
    fs.chmodSync(file, 0o644);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.prepare("INSERT INTO sandbox_message (account, phone, direction, body, sid, status, at) VALUES ('a', 'p', 'out', 'x', 's', 'sent', 1)").run();
    fs.chmodSync(`${file}-wal`, 0o644);
    fs.chmodSync(`${file}-shm`, 0o644);
    store = new SqliteStore(file);
    try {
      for (const each of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(each).toString(8), '600', each);
      assert.equal(await store.isOptedOut('+919876543210'), true);
      assert.equal((await store.sandboxThread('a', 'p')).length, 1);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('leaves a directory it did not create as it is', async function () {
    fs.chmodSync(dir, 0o755);
    const store = new SqliteStore(path.join(dir, 'exotel-sms.db'));
    await store.close();
    assert.equal(mode(dir).toString(8), '755');
  });
});
