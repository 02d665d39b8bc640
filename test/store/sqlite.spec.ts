// The store contract against SQLite: a fresh file a test; a second store on the same file is a
// second connection, as a second Node-RED process on one file would be.
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
