import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store';
import { present } from '../support/present';
import { generateCode, hashCode, codeMatches, codeFromReply, newSalt } from '../../src/sms/one-time-code';

const KEY = '+919876543210';
const HOUR = 3_600_000;

describe('conversations in the store', function () {
  let dir: string;
  let store: SqliteStore;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-conv-'));
    store = new SqliteStore(path.join(dir, 'db'));
  });
  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts, moves, merges data and ends', async function () {
    const started = await store.startConversation({ name: 'order', key: KEY, step: 'order-id', data: { source: 'sms' }, maxAgeMs: HOUR });
    assert.equal(started.step, 'order-id');
    assert.equal(started.revision, 1);
    const moved = present(await store.updateConversation('order', KEY, { step: 'done', data: { orderId: 'A123' } }));
    assert.deepEqual([moved.step, moved.data, moved.revision], ['done', { source: 'sms', orderId: 'A123' }, 2]);
    const ended = present(await store.endConversation('order', KEY, { closed: true }));
    assert.deepEqual(ended.data, { source: 'sms', orderId: 'A123', closed: true });
    assert.equal(await store.getConversation('order', KEY), null);
    assert.equal(await store.updateConversation('order', KEY, { step: 'x' }), null);
  });

  it('keeps conversations of different names apart', async function () {
    await store.startConversation({ name: 'survey', key: KEY, step: 'answer', data: {}, maxAgeMs: HOUR });
    await store.startConversation({ name: 'order', key: KEY, step: 'order-id', data: {}, maxAgeMs: HOUR });
    assert.equal(present(await store.getConversation('survey', KEY)).step, 'answer');
    assert.equal(await store.activeConversationCount('survey'), 1);
    assert.equal(await store.activeConversationCount(), 2);
  });

  it('survives closing and reopening the file', async function () {
    await store.startConversation({ name: 'survey', key: KEY, step: 'answer', data: { sent: 'Jan 20' }, maxAgeMs: HOUR, timeoutMs: 60_000 });
    await store.close();
    store = new SqliteStore(path.join(dir, 'db'));
    const record = present(await store.getConversation('survey', KEY));
    assert.deepEqual([record.step, record.data], ['answer', { sent: 'Jan 20' }]);
    assert.ok(present(record.deadlineAt) > Date.now());
  });

  it('forgets a conversation past its maximum age', async function () {
    await store.startConversation({ name: 'survey', key: KEY, step: 'answer', data: {}, maxAgeMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await store.getConversation('survey', KEY), null);
    assert.equal(await store.activeConversationCount('survey'), 0);
  });

  it('hands out each due deadline once, and a step change clears the old one', async function () {
    await store.startConversation({ name: 'appt', key: KEY, step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
    await store.startConversation({ name: 'appt', key: '+919876543211', step: 'confirm', data: {}, maxAgeMs: HOUR, timeoutMs: 1 });
    await store.updateConversation('appt', '+919876543211', { step: 'new-time' });
    await new Promise((r) => setTimeout(r, 5));
    const due = await store.takeDueConversations('appt', Date.now(), 10);
    assert.deepEqual(due.map((c) => c.key), [KEY]);
    assert.deepEqual(await store.takeDueConversations('appt', Date.now(), 10), []);
    assert.equal(present(await store.getConversation('appt', KEY)).step, 'confirm', 'a timeout does not end the conversation');
  });

  it('applies an inbound SMS once: a replay of the same SmsSid changes nothing', async function () {
    await store.startConversation({ name: 'order', key: KEY, step: 'order-id', data: {}, maxAgeMs: HOUR });
    await store.updateConversation('order', KEY, { step: 'done', data: { n: 1 }, sid: 'n1:sms-1' });
    const replay = present(await store.updateConversation('order', KEY, { step: 'elsewhere', data: { n: 2 }, sid: 'n1:sms-1' }));
    assert.deepEqual([replay.step, replay.data.n, replay.revision], ['done', 1, 2]);
  });

  it('never loses an update when many arrive at once', async function () {
    await store.startConversation({ name: 'tally', key: KEY, step: 's', data: {}, maxAgeMs: HOUR });
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.updateConversation('tally', KEY, { data: { [`a${i}`]: i } })));
    const record = present(await store.getConversation('tally', KEY));
    assert.equal(Object.keys(record.data).length, 50);
    assert.equal(record.revision, 51);
  });

  describe('one-time codes', function () {
    async function startWithCode(code: string, { lifetimeMs = 600_000, attempts = 3 } = {}) {
      const salt = newSalt();
      await store.startConversation({ name: 'otp', key: KEY, step: 'code', data: {}, maxAgeMs: HOUR, code: { hash: hashCode(code, salt), salt, lifetimeMs, attempts } });
    }
    const check = (reply: string) => store.checkCode('otp', KEY, (hash: string, salt: string) => codeMatches(reply, hash, salt));

    it('verifies the right code once, then forgets it', async function () {
      await startWithCode('456789');
      const result = await check('456789');
      assert.equal(result.result, 'verified');
      assert.equal(present(result.conversation).code, null);
      assert.equal((await check('456789')).result, 'none');
      const row = store.db.prepare('SELECT COUNT(*) AS n FROM conversation WHERE code_hash IS NOT NULL').get() as { n: number };
      assert.equal(row.n, 0);
    });

    it('counts wrong codes down and stops at the limit', async function () {
      await startWithCode('456789', { attempts: 3 });
      assert.deepEqual([(await check('111111')).result, present(present((await check('222222')).conversation).code).attemptsLeft], ['wrong', 1]);
      assert.equal((await check('333333')).result, 'too-many');
      assert.equal((await check('456789')).result, 'none', 'the right code after too many attempts is too late');
    });

    it('expires', async function () {
      await startWithCode('456789', { lifetimeMs: 1 });
      await new Promise((r) => setTimeout(r, 5));
      assert.equal((await check('456789')).result, 'expired');
    });

    it('reads codes typed with spaces, dashes or Devanagari digits', async function () {
      await startWithCode('456789');
      assert.equal((await check(' ४५६ ७८९ ')).result, 'verified');
      assert.equal(codeFromReply('456-789'), '456789');
      assert.equal(codeFromReply('４５６７８９'), '456789');
    });

    it('keeps only a salted hash of the code in the store: one code stored twice gives two hashes', async function () {
      await startWithCode('456789');
      const salt = newSalt();
      await store.startConversation({ name: 'otp', key: '+919812345678', step: 'code', data: {}, maxAgeMs: HOUR, code: { hash: hashCode('456789', salt), salt, lifetimeMs: 600_000, attempts: 3 } });
      const rows = store.db.prepare('SELECT key, code_hash AS hash, code_salt AS salt FROM conversation ORDER BY key').all() as Array<{ key: string; hash: string; salt: string }>;
      assert.equal(rows.length, 2);
      assert.ok(!JSON.stringify(rows).includes('456789'), 'the code is not in the store');
      assert.notEqual(rows[0].salt, rows[1].salt, 'each code has its own salt');
      assert.notEqual(rows[0].hash, rows[1].hash, 'the same code hashes differently: an unsalted hash would be the same');
      assert.match(rows[0].hash, /^[0-9a-f]{64}$/);
      assert.equal((await check('456789')).result, 'verified', 'and each still verifies');
    });
  });

  it('draws codes of the asked length from all ten digits', function () {
    const seen = new Set();
    for (let i = 0; i < 2000; i++) {
      const code = generateCode(6);
      assert.match(code, /^\d{6}$/);
      for (const d of code) seen.add(d);
    }
    assert.equal(seen.size, 10);
    assert.match(generateCode(4), /^\d{4}$/);
    assert.throws(() => generateCode(2));
  });
});
