// The OTP example (examples/04): a one-time code leaves in the SMS and nowhere else. The store keeps
// no code in clear, before or after a failed send, in its tables or in the bytes of its files (the
// WAL included); an error Exotel answers with is kept without the account's credentials; a code
// SMS waiting in the outbox across a restart still goes out with its code.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_KEY, API_TOKEN, click, helper, loadExample, MockExotel, readExample, until, wait, type Mock } from '../support/example-from-src';
import { settings } from '../support/red';

const BASIC = Buffer.from(`${API_KEY}:${API_TOKEN}`).toString('base64');

describe('example "04 - OTP verification by reply": the code is kept nowhere in clear', function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let mock: Mock;
  const flow = readExample('04 - OTP verification by reply.json');

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-otp-'));
    file = path.join(dir, 'exotel-sms.db');
    mock = (await new MockExotel().start()) as Mock;
    settings({ exotelSms: { storePath: file, retryBaseDelayMs: 5 } });
    await loadExample(flow, mock);
  });

  afterEach(async function () {
    await helper.unload();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Every row of every table, as text. */
  function tables(): string {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
      return JSON.stringify(names.map((name) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]));
    } finally {
      db.close();
    }
  }

  /** The bytes of the database file and its -wal and -shm, as text. */
  function fileBytes(): string {
    return ['', '-wal', '-shm'].map((suffix) => (fs.existsSync(file + suffix) ? fs.readFileSync(file + suffix).toString('latin1') : '')).join('\n');
  }

  function assertNoSecret(text: string, code: string, where: string): void {
    assert.doesNotMatch(text, new RegExp(`(?<![0-9])${code}(?![0-9])`), `the code ${code} is in ${where}`);
    for (const secret of [API_KEY, API_TOKEN, BASIC]) assert.ok(!text.includes(secret), `a credential (${secret}) is in ${where}`);
  }

  const codeIn = (body: string) => /code is (\d{6})/.exec(body)?.[1] ?? assert.fail(`no code in "${body}"`);

  it('after a failed code SMS, no table and no byte of the store files holds the code or the credentials Exotel echoed', async function () {
    // Exotel echoes the credentials in its errors: once when it asks to slow down (retried), once for good.
    const echo = (status: number) => ({ status, body: { RestException: { Status: status, Code: status * 10, Message: `refused for ${API_KEY}:${API_TOKEN} (Authorization: Basic ${BASIC})` } } });
    mock.answer(echo(503), echo(400));
    click('otp-send');
    await until(() => mock.requests.length === 2, 'two attempts');
    const code = codeIn(mock.requests[0].form.Body);
    const db = () => new Database(file, { readonly: true, fileMustExist: true });
    await until(() => {
      const handle = db();
      try {
        return (handle.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state = 'failed'").get() as { n: number }).n === 1;
      } finally {
        handle.close();
      }
    }, 'the failed entry');
    await wait(100);
    const dump = tables();
    assertNoSecret(dump, code, 'a table');
    assertNoSecret(fileBytes(), code, 'the store files');
    assert.match(dump, /Your verification code is ••••/, 'the failed entry keeps its text, the code masked');
    assert.match(dump, /refused for \*\*\*/, 'the error is kept, redacted');
    await helper.unload();
    assertNoSecret(tables(), code, 'a table after Node-RED stopped');
    assertNoSecret(fileBytes(), code, 'the store files after Node-RED stopped');
    await loadExample(flow, mock); // for afterEach
  });

  it('a code SMS that waits in the outbox across a restart goes out with its code, which the store never held', async function () {
    // Exotel asks to wait a minute: Node-RED stops meanwhile, the SMS stays queued.
    mock.answer({ status: 429, headers: { 'retry-after': '60' } });
    click('otp-send');
    await until(() => mock.requests.length === 1, 'the first attempt');
    const code = codeIn(mock.requests[0].form.Body);
    await wait(100);
    await helper.unload();
    assertNoSecret(tables(), code, 'a table');
    assertNoSecret(fileBytes(), code, 'the store files');
    await loadExample(flow, mock);
    await until(() => mock.sent.length === 1, 'the SMS sent after the restart');
    assert.equal(mock.sent[0].Body, mock.requests[0].form.Body, 'the same text, with its code');
  });
});
