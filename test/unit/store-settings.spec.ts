// Which store the settings ask for, and who shares it (no database server needed: a PostgreSQL store
// connects on its first call, and none is made here).
import assert from 'node:assert/strict';
import { acquireConfiguredStore, acquireStore, storeConfigFromSettings } from '../../src/store';

describe('the store the settings ask for', function () {
  it('is the SQLite file unless settings.js says otherwise', function () {
    assert.deepEqual(storeConfigFromSettings(undefined, '/data/x.db'), { type: 'sqlite', path: '/data/x.db' });
    assert.deepEqual(storeConfigFromSettings(null, '/data/x.db'), { type: 'sqlite', path: '/data/x.db' });
    assert.deepEqual(storeConfigFromSettings({}, '/data/x.db'), { type: 'sqlite', path: '/data/x.db' });
    assert.deepEqual(storeConfigFromSettings({ type: 'sqlite' }, '/data/x.db'), { type: 'sqlite', path: '/data/x.db' });
    assert.deepEqual(storeConfigFromSettings({ type: 'sqlite', path: '/elsewhere.db' }, '/data/x.db'), { type: 'sqlite', path: '/elsewhere.db' });
    const pg = { type: 'postgres', connectionString: 'postgres://u:p@db:5432/sms', schema: 'exotel_1', max: 4 };
    assert.equal(storeConfigFromSettings(pg, '/data/x.db'), pg);
    assert.deepEqual(storeConfigFromSettings({ type: 'postgres' }, '/data/x.db'), { type: 'postgres' }, 'connection from the PG* environment');
  });

  it('says what is wrong with a setting it cannot use', function () {
    const refused = (setting: unknown, message: string) => assert.throws(() => storeConfigFromSettings(setting, '/x.db'), { message }, JSON.stringify(setting));
    const shape = 'exotelSms.store in settings.js must be an object such as { type: "postgres", connectionString: "postgres://…" }';
    refused('postgres', shape);
    refused(['postgres'], shape);
    refused(42, shape);
    refused({ type: 'sqlite', path: 42 }, 'exotelSms.store.path in settings.js must be a file name');
    refused({ path: ['a'] }, 'exotelSms.store.path in settings.js must be a file name');
    refused({ type: 'mysql' }, 'exotelSms.store.type in settings.js must be "postgres" or "sqlite", not "mysql"');
    refused({ type: 'postgres', connectionString: 5432 }, 'exotelSms.store.connectionString in settings.js must be text such as "postgres://user:password@host:5432/database"');
    const badSchema = 'exotelSms.store.schema in settings.js must be a name of letters, digits and _';
    for (const schema of ['1abc', 'a-b', 'a'.repeat(64), '', 7, 'x; drop table']) refused({ type: 'postgres', schema }, badSchema);
    assert.doesNotThrow(() => storeConfigFromSettings({ type: 'postgres', schema: '_a' + '9'.repeat(61) }, '/x.db'));
  });

  it('shares one PostgreSQL store between the same settings, whatever their order, and not between others', async function () {
    const a = acquireConfiguredStore({ type: 'postgres', connectionString: 'postgres://u:p@127.0.0.1:9/a', schema: 's1', max: 2 });
    const b = acquireConfiguredStore({ max: 2, schema: 's1', connectionString: 'postgres://u:p@127.0.0.1:9/a', type: 'postgres', idleTimeoutMillis: undefined } as never);
    const c = acquireConfiguredStore({ type: 'postgres', connectionString: 'postgres://u:p@127.0.0.1:9/a', schema: 's2', max: 2 });
    const d = acquireConfiguredStore({ type: 'postgres', connectionString: 'postgres://u:other@127.0.0.1:9/a', schema: 's1', max: 2 });
    try {
      assert.equal(a.store, b.store);
      assert.notEqual(a.store, c.store);
      assert.notEqual(a.store, d.store, 'another password is another pool');
    } finally {
      await Promise.all([a, b, c, d].map((h) => h.release()));
    }
    const again = acquireConfiguredStore({ type: 'postgres', connectionString: 'postgres://u:p@127.0.0.1:9/a', schema: 's1', max: 2 });
    assert.notEqual(again.store, a.store, 'closed with its last user, a new one after');
    await again.release();
  });

  it('shares one SQLite store a file and closes it with its last user, a release counting once', async function () {
    const one = acquireConfiguredStore({ type: 'sqlite', path: ':memory:' });
    const two = acquireStore(':memory:');
    assert.equal(one.store, two.store);
    await one.release();
    await one.release();
    const three = acquireStore(':memory:');
    assert.equal(three.store, two.store, 'still open: the second user has not let go');
    await two.release();
    await three.release();
    const fresh = acquireStore(':memory:');
    assert.notEqual(fresh.store, two.store, 'closed with its last user');
    await fresh.release();
  });
});
