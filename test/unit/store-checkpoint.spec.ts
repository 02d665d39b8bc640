// Checkpoints run in a worker thread whose script is a real file beside the store: compiled JS when
// Node-RED loads dist/, TypeScript under tsx when the tests (and mutation testing) load src/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store';
import { checkpointWorkerScript } from '../../src/store/sqlite/connection';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Writes about 80 pages (SQLite's own automatic checkpoint, the fallback, waits for 1,000), then
 * waits for the database file itself to hold them: only the checkpointer copies them there while the
 * store is open. Plain JavaScript, so that a child process can run the same source against dist/.
 */
const CHECKPOINTED_WHILE_OPEN = `async (store, file) => {
  const fs = require('node:fs');
  const before = fs.statSync(file).size;
  for (let i = 0; i < 300; i++) {
    await store.addSandboxMessage({ account: 'acc', phone: '+919876543210', direction: 'out', body: 'x'.repeat(1000), sid: 's' + i, status: 'sent', detail: null, segments: 1, encoding: 'gsm', at: i });
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (fs.statSync(file).size > before + 200000) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}`;

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the same check, in this process
const checkpointedWhileOpen = new Function('require', `return ${CHECKPOINTED_WHILE_OPEN}`)(require) as (store: SqliteStore, file: string) => Promise<boolean>;

describe('the checkpointer thread', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-checkpoint-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs from src/ under tsx: the WAL reaches the database file while the store is open', async function () {
    const file = path.join(dir, 'exotel-sms.db');
    const store = new SqliteStore(file);
    try {
      assert.equal(await checkpointedWhileOpen(store, file), true);
    } finally {
      await store.close();
    }
  });

  it('runs from dist/ in plain Node (as Node-RED loads it)', function () {
    const dist = path.join(ROOT, 'dist', 'store', 'sqlite', 'checkpoint-worker.js');
    if (!fs.existsSync(dist)) this.skip(); // `npm run build` first
    this.timeout(30_000);
    const file = path.join(dir, 'exotel-sms.db');
    const script = `
      const fs = require('node:fs');
      const { SqliteStore } = require(${JSON.stringify(path.join(ROOT, 'dist', 'store'))});
      const checkpointed = ${CHECKPOINTED_WHILE_OPEN};
      const store = new SqliteStore(${JSON.stringify(file)});
      checkpointed(store, ${JSON.stringify(file)}).then(async (ok) => { await store.close(); console.log(JSON.stringify({ ok, require: typeof require.extensions['.ts'] })); });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as { ok: boolean; require: string };
    assert.deepEqual(out, { ok: true, require: 'undefined' });
  });

  it('takes the compiled sibling when there is one, else the TypeScript one through tsx', function () {
    fs.writeFileSync(path.join(dir, 'checkpoint-worker.ts'), '');
    const ts = checkpointWorkerScript(dir);
    assert.equal(ts?.file, path.join(dir, 'checkpoint-worker.ts'));
    assert.ok(ts?.execArgv?.includes(require.resolve('tsx/cjs')), 'the thread loads TypeScript through tsx');
    fs.writeFileSync(path.join(dir, 'checkpoint-worker.js'), '');
    assert.deepEqual(checkpointWorkerScript(dir), { file: path.join(dir, 'checkpoint-worker.js') });
  });

  it('leaves checkpoints to SQLite when there is no worker script', async function () {
    assert.equal(checkpointWorkerScript(dir), undefined);
  });
});
