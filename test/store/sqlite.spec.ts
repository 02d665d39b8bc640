// The store contract against SQLite: a fresh file a test; a second store on the same file is a
// second connection, as a second Node-RED process on one file would be.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { storeContract } from './contract';

let dir = '';
let file = '';

storeContract({
  name: 'SQLite',
  latestVersion: MIGRATIONS.length,
  async setUp() {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-contract-'));
    file = path.join(dir, 'exotel-sms.db');
  },
  async tearDown() {
    fs.rmSync(dir, { recursive: true, force: true });
  },
  async open() {
    return new SqliteStore(file);
  },
  async exec(sql) {
    const db = new Database(file);
    try {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all() as Array<Record<string, unknown>>;
      statement.run();
      return [];
    } finally {
      db.close();
    }
  },
});

// SQLite serves one Node-RED process: a store opened on the file is the next start after the last run.
describe('SQLite store: the opt-out confirmation across a restart', () => {
  const phone = '+919876543210';
  let here = '';
  const stores: SqliteStore[] = [];
  const start = () => {
    const store = new SqliteStore(path.join(here, 'exotel-sms.db'));
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    here = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-confirmation-'));
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    fs.rmSync(here, { recursive: true, force: true });
  });

  it('gives the confirmation again when the last run claimed it and died before queuing it', async () => {
    const died = start();
    await died.setOptStatus({ phone, status: 'opted-out', keyword: 'STOP', source: 'SM1' });
    assert.equal(await died.claimOptOutConfirmation(phone, 600_000), true);
    const next = start();
    assert.equal(await next.claimOptOutConfirmation(phone, 600_000), true, 'the STOP handed on again takes it');
    assert.equal(await next.claimOptOutConfirmation(phone, 600_000), false, 'once');
  });

  it('never gives a queued confirmation again, nor one of another number', async () => {
    const died = start();
    const other = '+919876543211';
    for (const [p, sid] of [[phone, 'SM1'], [other, 'SM2']]) await died.setOptStatus({ phone: p, status: 'opted-out', keyword: 'STOP', source: sid });
    assert.equal(await died.claimOptOutConfirmation(phone, 600_000), true);
    assert.equal(await died.claimOptOutConfirmation(other, 600_000), true);
    assert.notEqual(await died.addToOutbox({ nodeId: 'send-1', phone, request: { body: 'unsubscribed' }, message: {}, claimKey: `SM1>${phone}`, confirmation: true }), null);
    assert.notEqual(await died.addToOutbox({ nodeId: 'send-1', phone: other, request: { body: 'hi' }, message: {}, claimKey: null, confirmation: false }), null);
    const next = start();
    assert.equal(await next.claimOptOutConfirmation(phone, 600_000), false, 'its outbox entry goes after the restart');
    assert.equal(await next.claimOptOutConfirmation(other, 600_000), true, 'a send that was no confirmation did not queue it');
  });
});
