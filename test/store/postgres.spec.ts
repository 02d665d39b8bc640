// The store contract against PostgreSQL, in a database of this run's own (one schema a test), and
// what only a shared database has: instances starting together, a newer schema, and the database
// out of reach and back.
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import { acquireConfiguredStore, PostgresStore, storeConfigFromSettings, type PostgresStoreConfig, type Store } from '../../src/store';
import { PG_MIGRATIONS } from '../../src/store/postgres';
import { isUnavailable, PostgresDatabase, StoreUnavailableError } from '../../src/store/postgres/connection';
import { storeContract } from './contract';
import { closedPort, createTestDatabase, Proxy, silentServer, type TestDatabase } from './pg-database';

let database: TestDatabase;
let schemas = 0;
let schema = '';
let maintenance: Client | undefined;

describe('PostgreSQL', function () {
  before(async function () {
    this.timeout(30_000);
    database = await createTestDatabase();
  });
  after(async function () {
    this.timeout(30_000);
    await database?.drop();
  });

  function config(extra: Partial<PostgresStoreConfig> = {}): PostgresStoreConfig {
    return { type: 'postgres', connectionString: database.url(), schema, ...extra };
  }

  storeContract({
    name: 'PostgreSQL',
    latestVersion: PG_MIGRATIONS.length,
    async setUp() {
      schema = `t${++schemas}`;
    },
    async tearDown() {
      await maintenance?.end();
      maintenance = undefined;
    },
    async open() {
      return new PostgresStore(config());
    },
    async exec(sql) {
      maintenance ??= await database.client(schema);
      return (await maintenance.query(sql)).rows as Array<Record<string, unknown>>;
    },
  });

  describe('the PostgreSQL store on a shared database', function () {
    this.timeout(30_000);
    const stores: Store[] = [];
    beforeEach(function () {
      schema = `t${++schemas}`;
    });
    afterEach(async function () {
      for (const store of stores.splice(0)) await store.close();
    });
    it('tells a bug from an outage: a statement given too few parameters fails as itself, not as "database unavailable"', async function () {
      const db = new PostgresDatabase(config());
      try {
        await assert.rejects(db.query('SELECT $1::int + $2::int', [1]), (err: Error & { code?: string }) => {
          assert.equal(err.code, '08P01');
          assert.ok(!(err instanceof StoreUnavailableError) && !isUnavailable(err), 'a bug would be retried for ever');
          return true;
        });
        assert.ok(isUnavailable(Object.assign(new Error('lost'), { code: '08006' })), 'a lost connection (class 08) is the database away');
      } finally {
        await db.close();
      }
    });
    function open(extra: Partial<PostgresStoreConfig> = {}): PostgresStore {
      const store = new PostgresStore(config(extra));
      stores.push(store);
      return store;
    }

    it('migrates a fresh database once when several instances start at the same moment', async function () {
      const versions = await Promise.all([open().ready(), open().ready(), open().ready(), open().ready()]);
      assert.deepEqual(versions, [1, 1, 1, 1].map(() => PG_MIGRATIONS.length));
      const client = await database.client(schema);
      try {
        const { rows } = await client.query('SELECT version FROM schema_version ORDER BY version');
        assert.deepEqual(rows.map((row: { version: number }) => row.version), PG_MIGRATIONS.map((_, i) => i + 1));
      } finally {
        await client.end();
      }
      assert.equal(await stores[3].recordInbound({ sid: 'sms-1', endpoint: '/e', from: '+919876543210', to: '', body: 'hi', receivedAt: '', accountSid: '' }), true);
    });

    it('refuses a database whose schema a newer release wrote, and leaves it as it is', async function () {
      await open().ready();
      const client = await database.client(schema);
      try {
        await client.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_MIGRATIONS.length + 1]);
        const older = open();
        await assert.rejects(older.ready(), (err: Error & { code?: string }) => err.code === 'store_schema_too_new' && /newer release/.test(err.message));
        await assert.rejects(older.isOptedOut('+919876543210'), /newer release/);
        const { rows } = await client.query('SELECT max(version) AS version FROM schema_version');
        assert.equal(Number(rows[0].version), PG_MIGRATIONS.length + 1);
      } finally {
        await client.end();
      }
    });

    it('gives a replayed SMS the conversation an earlier release remembered for it, kept in that release\'s form', async function () {
      const store = open();
      await store.ready();
      const remembered = { name: 'survey', key: '+919876543210', step: 'asked', data: { n: 1 }, startedAt: 1, updatedAt: 2, expiresAt: 3, deadlineAt: null, revision: 1, code: null };
      const client = await database.client(schema);
      try {
        await client.query('INSERT INTO sms_outcome (replay_key, outcome, at) VALUES ($1, $2, $3)', ['node-1:SM1', JSON.stringify(remembered), Date.now()]);
      } finally {
        await client.end();
      }
      assert.deepEqual(await store.getConversation('survey', '+919876543210', 'node-1:SM1'), remembered);
      await store.startConversation({ name: 'survey', key: '+919876543210', step: 'now', data: {}, maxAgeMs: 60_000 });
      assert.equal((await store.getConversation('survey', '+919876543210', 'node-1:SM2'))!.step, 'now');
      assert.equal((await store.getConversation('survey', '+919876543210', 'node-1:SM1'))!.step, 'asked', 'still the answer it got then');
    });

    it('fires the timeouts a poll whose answer was lost took when the poll is made again with its key, but for a conversation written since', async function () {
      const [store, other] = [open(), open()];
      await store.ready();
      const [A, B, C, D] = ['+919876543210', '+919876543211', '+919876543212', '+919876543213'];
      for (const key of [A, B, C]) await store.startConversation({ name: 'appt', key, step: 'confirm', data: {}, maxAgeMs: 3_600_000, timeoutMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      // committed, but the answer never reached the poller
      const lost = await store.takeDueConversations('appt', Date.now(), 10, 'poll-1');
      assert.deepEqual(lost.map((c) => c.key), [A, B, C], 'each once');
      await store.updateConversation('appt', B, { data: { reply: 'yes' } }); // a reply before the poll is made again
      assert.deepEqual(await other.takeDueConversations('appt', Date.now(), 10, 'poll-2'), [], 'another poll’s key takes none of them');
      assert.deepEqual(await other.takeDueConversations('appt', Date.now(), 10), []);
      await store.startConversation({ name: 'appt', key: D, step: 'confirm', data: {}, maxAgeMs: 3_600_000, timeoutMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = await store.takeDueConversations('appt', Date.now(), 10, 'poll-1');
      const deadline = (key: string) => lost.find((c) => c.key === key)!.deadlineAt;
      assert.deepEqual(
        again.map((c) => [c.key, c.step, c.deadlineAt]).sort(),
        [[A, 'confirm', deadline(A)], [C, 'confirm', deadline(C)], [D, 'confirm', again.find((c) => c.key === D)?.deadlineAt]].sort(),
        'the ones it took, with the deadline they had, and one due since; not the one a reply came for',
      );
      assert.equal(typeof again.find((c) => c.key === D)?.deadlineAt, 'number');
      await store.endConversation('appt', A);
      assert.deepEqual((await store.takeDueConversations('appt', Date.now(), 10, 'poll-1')).map((c) => c.key).sort(), [C, D], 'an ended conversation is not');
      assert.deepEqual(await store.takeDueConversations('appt', Date.now(), 10, 'poll-3'), [], 'a new poll takes none again');
    });

    it('keeps its tables in its own schema, so a database shared with other applications is left alone', async function () {
      const client = await database.client('public');
      try {
        await client.query('CREATE TABLE IF NOT EXISTS public.outbox (something_else text)');
        const store = open();
        assert.ok((await store.addToOutbox({ nodeId: 'n', phone: '+919876543210', request: {}, message: null, claimKey: null, confirmation: false }))! > 0);
        const { rows } = await client.query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'outbox'");
        assert.deepEqual(rows.map((row: { column_name: string }) => row.column_name), ['something_else']);
      } finally {
        await client.query('DROP TABLE IF EXISTS public.outbox');
        await client.end();
      }
    });

    it('answers store_unavailable at once when nothing listens where the database should be', async function () {
      const store = open({ connectionString: database.url(await closedPort()) });
      const started = Date.now();
      await assert.rejects(store.recordInbound({ sid: 'sms-1', endpoint: '/e', from: '', to: '', body: '', receivedAt: '', accountSid: '' }), { code: 'store_unavailable' });
      await assert.rejects(store.isOptedOut('+919876543210'), { code: 'store_unavailable' });
      await assert.rejects(store.ready(), { code: 'store_unavailable' });
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    });

    it('answers store_unavailable within seconds, not a hang, when the database does not answer', async function () {
      const silent = await silentServer();
      try {
        const store = open({ connectionString: database.url(silent.port) });
        const started = Date.now();
        await assert.rejects(store.isOptedOut('+919876543210'), { code: 'store_unavailable' });
        assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
      } finally {
        await silent.close();
      }
    });

    it('recovers by itself when the database comes back, and loses nothing it acknowledged', async function () {
      const proxy = await new Proxy().start();
      try {
        const store = open({ connectionString: database.url(proxy.port) });
        const sms = (sid: string) => ({ sid, endpoint: '/e', from: '+919876543210', to: '', body: 'STOP', receivedAt: '', accountSid: '' });
        assert.equal(await store.recordInbound(sms('sms-1')), true);
        await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
        await proxy.cut();
        await new Promise((resolve) => setTimeout(resolve, 200)); // the idle connections learn they are gone
        await assert.rejects(store.recordInbound(sms('sms-2')), { code: 'store_unavailable' });
        await assert.rejects(store.isOptedOut('+919876543210'), { code: 'store_unavailable' });
        await assert.rejects(store.startConversation({ name: 'c', key: 'k', step: 's', data: {}, maxAgeMs: 60_000 }), { code: 'store_unavailable' });
        await proxy.restore();
        assert.equal(await store.isOptedOut('+919876543210'), true);
        assert.equal(await store.recordInbound(sms('sms-2')), true, 'the SMS refused while the database was away is taken when Exotel retries');
        assert.equal(await store.recordInbound(sms('sms-1')), false);
        assert.deepEqual((await store.unhandledInbound('/e')).map((r) => r.sid), ['sms-1', 'sms-2']);
      } finally {
        await proxy.cut();
      }
    });

    it('answers store_unavailable, not a hang, when the network stops carrying a connection, and goes on with a fresh one', async function () {
      const proxy = await new Proxy().start();
      try {
        const store = open({ connectionString: database.url(proxy.port), query_timeout: 1000, connectionTimeoutMillis: 1000 });
        await store.setOptStatus({ phone: '+919876543210', status: 'opted-out', keyword: 'STOP', source: 'sms-1' });
        proxy.freeze();
        const started = Date.now();
        await assert.rejects(store.isOptedOut('+919876543210'), { code: 'store_unavailable' });
        await assert.rejects(store.setOptStatus({ phone: '+919876543211', status: 'opted-out', source: 'sms-2' }), { code: 'store_unavailable' });
        assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
        proxy.thaw();
        assert.equal(await store.isOptedOut('+919876543210'), true, 'the store goes on with fresh connections');
        assert.equal(await store.isOptedOut('+919876543211'), false, 'the change that timed out was not half made');
      } finally {
        await proxy.cut();
      }
    });

    it('migrates on the first call after a start while the database was away', async function () {
      const proxy = await new Proxy().start();
      await proxy.cut();
      try {
        const store = open({ connectionString: database.url(proxy.port) });
        await assert.rejects(store.isOptedOut('+919876543210'), { code: 'store_unavailable' });
        await proxy.restore();
        assert.equal(await store.isOptedOut('+919876543210'), false);
        assert.equal(await store.schemaVersion(), PG_MIGRATIONS.length);
      } finally {
        await proxy.cut();
      }
    });
  });

  describe('choosing the store in settings.js', function () {
    it('is SQLite in the user directory without a setting, PostgreSQL with one, and says what is wrong with a bad one', function () {
      assert.deepEqual(storeConfigFromSettings(undefined, '/data/exotel-sms.db'), { type: 'sqlite', path: '/data/exotel-sms.db' });
      assert.deepEqual(storeConfigFromSettings({ type: 'sqlite', path: '/x.db' }, '/data/exotel-sms.db'), { type: 'sqlite', path: '/x.db' });
      const postgres = { type: 'postgres', connectionString: 'postgres://u:p@db:5432/sms', max: 20 };
      assert.deepEqual(storeConfigFromSettings(postgres, '/data/exotel-sms.db'), postgres);
      assert.throws(() => storeConfigFromSettings({ type: 'mysql' }, ''), /"postgres" or "sqlite", not "mysql"/);
      assert.throws(() => storeConfigFromSettings('postgres://db', ''), /must be an object/);
      assert.throws(() => storeConfigFromSettings({ type: 'postgres', connectionString: 5432 }, ''), /connectionString/);
      assert.throws(() => storeConfigFromSettings({ type: 'postgres', schema: 'a; DROP' }, ''), /schema/);
    });

    it('shares one pool between the nodes that ask for the same database, and closes it with the last', async function () {
      schema = `t${++schemas}`;
      const a = acquireConfiguredStore(config({ max: 4 }));
      const b = acquireConfiguredStore(config({ max: 4 }));
      const c = acquireConfiguredStore(config({ max: 5 }));
      assert.equal(a.store, b.store);
      assert.notEqual(a.store, c.store);
      await a.store.setOptStatus({ phone: '+919876543210', status: 'opted-out', source: 'manual' });
      assert.equal(await c.store.isOptedOut('+919876543210'), true, 'the other pool sees the same database');
      await a.release();
      assert.equal(await b.store.optedOutCount(), 1, 'still open for the other user');
      await b.release();
      await c.release();
      await assert.rejects(b.store.optedOutCount(), /pool/i);
    });
  });
});
