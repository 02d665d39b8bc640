// Conversation deadlines and one-time codes in the SQLite store at their edges (found unchecked by
// mutation testing): a step's "no reply within" kept, replaced or cleared; a replayed update; a code's
// last moment; the revision a wrong attempt makes.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { SqliteStore } from '../../src/store';
import { present } from '../support/present';
import { hashCode, codeMatches } from '../../src/sms/one-time-code';

const KEY = '+919876543210';
const HOUR = 3_600_000;

describe('conversation deadlines and codes in the store, at their edges', function () {
  let store: SqliteStore;
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    store = new SqliteStore(':memory:');
  });
  afterEach(async function () {
    await store.close();
    clock.restore();
  });

  it('keeps the deadline while the step stays, replaces it when asked, clears it on a new step or null', async function () {
    await store.startConversation({ name: 'survey', key: KEY, step: 'q1', data: {}, maxAgeMs: HOUR, timeoutMs: 60_000 });
    assert.equal(present(await store.getConversation('survey', KEY)).deadlineAt, 1_060_000);
    clock.tick(1_000);
    assert.equal(present(await store.updateConversation('survey', KEY, { data: { a: 1 } })).deadlineAt, 1_060_000, 'same step, no timeout given: kept');
    assert.equal(present(await store.updateConversation('survey', KEY, { step: 'q1' })).deadlineAt, 1_060_000, 'the same step again: kept');
    assert.equal(present(await store.updateConversation('survey', KEY, { timeoutMs: 30_000 })).deadlineAt, 1_031_000, 'a new timeout counts from now');
    assert.equal(present(await store.updateConversation('survey', KEY, { step: 'q2' })).deadlineAt, null, 'a new step without a timeout has none');
    assert.equal(present(await store.updateConversation('survey', KEY, { step: 'q3', timeoutMs: 5_000 })).deadlineAt, 1_006_000);
    assert.equal(present(await store.updateConversation('survey', KEY, { timeoutMs: null })).deadlineAt, null);
  });

  it('applies an update once when Exotel repeats the SMS it came from, and remembers several', async function () {
    await store.startConversation({ name: 'survey', key: KEY, step: 'q1', data: {}, maxAgeMs: HOUR });
    const first = present(await store.updateConversation('survey', KEY, { step: 'q2', data: { n: 1 }, sid: 'sms-1' }));
    assert.equal(first.revision, 2);
    const again = present(await store.updateConversation('survey', KEY, { step: 'q9', data: { n: 9 }, sid: 'sms-1' }));
    assert.deepEqual([again.step, again.data, again.revision], ['q2', { n: 1 }, 2]);
    await store.updateConversation('survey', KEY, { step: 'q3', sid: 'sms-2' });
    const replay = present(await store.updateConversation('survey', KEY, { step: 'q9', sid: 'sms-1' }));
    assert.equal(replay.step, 'q3', 'an older SMS is remembered too');
    const fresh = present(await store.updateConversation('survey', KEY, { step: 'q4', sid: null }));
    assert.equal(fresh.revision, 4);
  });

  it('takes a code up to and at its last moment, not a moment after', async function () {
    const start = async () => {
      await store.startConversation({ name: 'otp', key: KEY, step: 'code', data: {}, maxAgeMs: HOUR, code: { hash: hashCode('123456', 'salt'), salt: 'salt', lifetimeMs: 60_000, attempts: 3 } });
    };
    const check = (reply: string) => store.checkCode('otp', KEY, (hash, salt) => codeMatches(reply, hash, salt));
    await start();
    clock.tick(60_000);
    assert.equal((await check('123456')).result, 'verified', 'at its last moment');
    await start();
    clock.tick(60_001);
    assert.equal((await check('123456')).result, 'expired');
  });

  it('counts a wrong attempt as a change of the conversation, and gives none for a conversation without a code', async function () {
    await store.startConversation({ name: 'otp', key: KEY, step: 'code', data: {}, maxAgeMs: HOUR, code: { hash: hashCode('123456', 'salt'), salt: 'salt', lifetimeMs: 60_000, attempts: 3 } });
    const wrong = await store.checkCode('otp', KEY, () => false);
    assert.equal(wrong.result, 'wrong');
    assert.equal(present(wrong.conversation).revision, 2);
    assert.equal(present(wrong.conversation).code?.attemptsLeft, 2);
    await store.startConversation({ name: 'plain', key: KEY, step: 'x', data: {}, maxAgeMs: HOUR });
    const none = await store.checkCode('plain', KEY, () => true);
    assert.equal(none.result, 'none');
    assert.equal(present(none.conversation).step, 'x');
    assert.equal(present(await store.getConversation('plain', KEY)).code, null);
  });
});
