// The opted-out numbers each instance keeps in memory (so that the check before every send needs no
// round trip) are kept true through the database: a change is acknowledged only once every live
// instance's copy has it, so a send that starts after a STOP, on any instance, never reads the old answer.
import assert from 'node:assert/strict';
import type { Client, Notification } from 'pg';
import { PostgresStore, StoreUnavailableError } from '../../src/store';
import type { PostgresDatabase } from '../../src/store/postgres/connection';
import type { OptOutMirror } from '../../src/store/postgres/opt-out-mirror';
import { instancesOnOneDatabase } from '../store/pg-database';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mirrorOf = (store: PostgresStore) => (store as unknown as { optOuts: { mirror: OptOutMirror } }).optOuts.mirror;
const phone = (i: number) => `+9198765${String(i).padStart(5, '0')}`;

/** Until the store answers from memory. */
async function loaded(store: PostgresStore): Promise<void> {
  await store.isOptedOut(phone(99_999));
  const until = Date.now() + 10_000;
  while (mirrorOf(store).lookup(phone(99_999)) === undefined) {
    assert.ok(Date.now() < until, 'the copy in memory was never loaded');
    await sleep(20);
  }
}

describe('cluster: the opted-out numbers in memory, kept true through the database', function () {
  this.timeout(30_000);
  const { open, database } = instancesOnOneDatabase();

  it('answers from memory what the database holds, numbers that are not E.164 too', async () => {
    const a = await open();
    await a.importOptStatus([phone(1), phone(2), 'SHORTCODE'], 'opted-out', 'import');
    await loaded(a);
    await a.setOptStatus({ phone: phone(2), status: 'opted-in', source: 'manual' });
    const mirror = mirrorOf(a);
    assert.deepEqual([phone(1), phone(2), phone(3), 'SHORTCODE'].map((p) => mirror.lookup(p)), [true, undefined, false, true], 'the changed number is asked of the database');
    assert.deepEqual(await Promise.all([phone(1), phone(2), phone(3), 'SHORTCODE'].map((p) => a.isOptedOut(p))), [true, false, false, true]);
    assert.equal(mirror.lookup(phone(2)), false, 'the database’s answer is kept until the number changes again');
  });

  it('a STOP acknowledged on one instance is in force on the other’s very next check, and a START too', async () => {
    const a = await open();
    const b = await open();
    await loaded(a);
    await loaded(b);
    for (let i = 0; i < 30; i++) {
      const [writer, reader] = i % 2 ? [a, b] : [b, a];
      assert.equal(await reader.isOptedOut(phone(i)), false);
      await writer.setOptStatus({ phone: phone(i), status: 'opted-out', keyword: 'STOP', source: `SM${i}` });
      assert.equal(mirrorOf(reader).lookup(phone(i)) ?? (await reader.isOptedOut(phone(i))), true, `STOP ${i}: the other instance still answers "not opted out"`);
      await writer.setOptStatus({ phone: phone(i), status: 'opted-in', keyword: 'START', source: `SM${i}b` });
      assert.equal(await reader.isOptedOut(phone(i)), false, `START ${i}`);
    }
  });

  it('a STOP handed on again after its answer was lost is acknowledged only once the other instance’s copy has it', async () => {
    const a = await open(3_000);
    const b = await open(3_000);
    await loaded(b);
    // b's copy hears of changes late: its notifications are held until the test lets them go
    const listener = (mirrorOf(b) as unknown as { listener: Client }).listener;
    const handlers = listener.listeners('notification') as Array<(note: Notification) => void>;
    const held: Notification[] = [];
    listener.removeAllListeners('notification');
    listener.on('notification', (note: Notification) => held.push(note));
    const deliver = () => {
      listener.removeAllListeners('notification');
      for (const handler of handlers) listener.on('notification', handler);
      for (const note of held.splice(0)) listener.emit('notification', note);
    };
    // the first call commits, and its answer is lost: it never waits for b's copy
    const db = (a as unknown as { optOuts: { db: PostgresDatabase } }).optOuts.db;
    const transaction = db.transaction.bind(db);
    db.transaction = (async (fn: Parameters<PostgresDatabase['transaction']>[0]) => {
      await transaction(fn);
      db.transaction = transaction;
      throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
    }) as PostgresDatabase['transaction'];
    const stop = { phone: phone(4), status: 'opted-out' as const, keyword: 'STOP', source: 'SM4' };
    await assert.rejects(a.setOptStatus(stop), StoreUnavailableError);
    // the SMS is handed on again: a replay, acknowledged as the change it made
    const acknowledged = a.setOptStatus(stop).then(async (result) => ({ result, answer: mirrorOf(b).lookup(phone(4)) ?? (await b.isOptedOut(phone(4))) }));
    await sleep(300);
    deliver();
    const { result, answer } = await acknowledged;
    assert.deepEqual([result.replay, result.record.status], [true, 'opted-out']);
    assert.equal(answer, true, 'the STOP was acknowledged while the other instance still answered "not opted out" from memory');
  });

  it('counts the opted-out numbers from memory while nothing changes, and any change at once, on every instance', async () => {
    const a = await open();
    const b = await open();
    await loaded(a);
    await loaded(b);
    await b.importOptStatus([phone(1), phone(2)], 'opted-out', 'import');
    await loaded(a);
    assert.equal(await a.optedOutCount(), 2);
    assert.equal(mirrorOf(a).count(), 2, 'kept in memory: a node’s status after each message asks no database');
    await b.setOptStatus({ phone: phone(3), status: 'opted-out', keyword: 'STOP', source: 'SM3' });
    assert.equal(await a.optedOutCount(), 3, 'a STOP acknowledged on the other instance is counted on the very next read');
    await a.setOptStatus({ phone: phone(1), status: 'opted-in', keyword: 'START', source: 'SM1' });
    assert.deepEqual([await a.optedOutCount(), await b.optedOutCount()], [2, 2]);
    // a count read while a change was notified is not kept: it may be the count before the change
    const generation = mirrorOf(a).generation;
    await b.setOptStatus({ phone: phone(4), status: 'opted-out', source: 'SM4' });
    mirrorOf(a).learnCount(2, generation);
    assert.equal(await a.optedOutCount(), 3);
    const admin = await database().client('exotel_sms');
    try {
      await admin.query("INSERT INTO opt_out (phone, status, source, updated_at) VALUES ($1, 'opted-out', 'by hand', 0)", [phone(5)]);
      const until = Date.now() + 2_000;
      while ((await a.optedOutCount()) !== 4) {
        assert.ok(Date.now() < until, 'a number opted out by SQL typed by hand is not counted two seconds later');
        await sleep(10);
      }
    } finally {
      await admin.end();
    }
  });

  it('an import on one instance is in force on the other as soon as it is done', async () => {
    const a = await open();
    const b = await open();
    await loaded(b);
    const numbers = Array.from({ length: 500 }, (_, i) => phone(1_000 + i));
    await a.importOptStatus(numbers, 'opted-out', 'import');
    const answers = await Promise.all(numbers.map((p) => b.isOptedOut(p)));
    assert.equal(answers.filter(Boolean).length, 500);
    await loaded(b);
    assert.equal(mirrorOf(b).lookup(numbers[7]), true, 'loaded again from memory');
  });

  it('a number opted out, in or deleted by SQL typed by hand is in force on every instance as soon as it commits', async () => {
    const a = await open();
    const b = await open();
    await loaded(a);
    await loaded(b);
    const both = async (p: string) => [await a.isOptedOut(p), await b.isOptedOut(p)];
    /** until both instances answer `expected` (the notification is on its way once the change committed) */
    const inForce = async (p: string, expected: boolean) => {
      const until = Date.now() + 2_000;
      while ((await both(p)).some((answer) => answer !== expected)) {
        assert.ok(Date.now() < until, `${p}: still ${JSON.stringify(await both(p))} two seconds after the change by hand`);
        await sleep(10);
      }
    };
    assert.deepEqual(await both(phone(7)), [false, false]);
    const admin = await database().client('exotel_sms');
    try {
      await admin.query("INSERT INTO opt_out (phone, status, source, updated_at) VALUES ($1, 'opted-out', 'by hand', 0)", [phone(7)]);
      await inForce(phone(7), true);
      await admin.query("UPDATE opt_out SET status = 'opted-in' WHERE phone = $1", [phone(7)]);
      await inForce(phone(7), false);
      await a.setOptStatus({ phone: phone(8), status: 'opted-out', source: 'SM8' });
      await admin.query('DELETE FROM opt_out WHERE phone = $1', [phone(8)]);
      await inForce(phone(8), false);
      // many numbers in one statement: every copy loads again
      const many = Array.from({ length: 300 }, (_, i) => phone(2_000 + i));
      await admin.query("INSERT INTO opt_out (phone, status, source, updated_at) SELECT unnest($1::text[]), 'opted-out', 'by hand', 0", [many]);
      for (const p of [many[0], many[150], many[299]]) await inForce(p, true);
      await loaded(b);
      assert.equal(mirrorOf(b).lookup(many[42]), true, 'loaded again into memory');
      // a change that is no change of status (the confirmation's claim) numbers nothing
      const { rows: before } = await admin.query('SELECT last_value FROM opt_out_change');
      await admin.query('UPDATE opt_out SET confirmation_sent = true WHERE phone = $1', [many[0]]);
      const { rows: after } = await admin.query('SELECT last_value FROM opt_out_change');
      assert.equal(after[0].last_value, before[0].last_value);
    } finally {
      await admin.end();
    }
  });

  it('an instance whose listener is cut stops answering from memory, and a STOP elsewhere does not wait for it', async () => {
    const a = await open();
    const b = await open();
    await loaded(b);
    const admin = await database().client('exotel_sms');
    try {
      // both instances' listeners: neither answers from memory until it listens again
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'node-red-exotel-listener'");
      assert.ok(cut.rowCount! >= 1);
      await sleep(200);
      assert.equal(mirrorOf(b).lookup(phone(5)), undefined, 'still answering from memory without its listener');
      const t0 = Date.now();
      await a.setOptStatus({ phone: phone(5), status: 'opted-out', source: 'SM5' });
      assert.ok(Date.now() - t0 < 2_000, `the STOP waited ${Date.now() - t0} ms`);
      assert.equal(await b.isOptedOut(phone(5)), true);
      await sleep(1_100);
      await loaded(b);
      assert.equal(mirrorOf(b).lookup(phone(5)), true, 'listening and loaded again by itself');
    } finally {
      await admin.end();
    }
  });

  it('a STOP waits for a dead instance’s copy only until its lease ran out', async () => {
    const a = await open();
    const b = await open();
    await loaded(b);
    // kill -9 as the database sees it: b's connections stay open but b answers nothing
    const mirror = mirrorOf(b) as unknown as { listener: { removeAllListeners(event: string): void } };
    mirror.listener.removeAllListeners('notification');
    clearInterval((b as unknown as { cluster: { heartbeat: NodeJS.Timeout } }).cluster.heartbeat);
    const t0 = Date.now();
    await a.setOptStatus({ phone: phone(6), status: 'opted-out', source: 'SM6' });
    const waited = Date.now() - t0;
    assert.ok(waited <= 1_500, `waited ${waited} ms for a dead instance (lease 600 ms)`);
  });
});
