// 8. sms-log: the SMS tab's log with 1,000,000 logged SMS (received, sent and refused callbacks, 100,000
// customers, half a year), on SQLite and on PostgreSQL: the first page, a search by number and a page
// deep in the log, as the admin API asks the operators' view (three keyset queries, merged), against a
// bare indexed query of the same page on a connection of its own to the same database, in alternating
// blocks of the same run. Then the retention purge of a day of the inbound log and the refusals.
// The PostgreSQL side needs a PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 as the tests
// use); a database of its own is created and dropped.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setting, type Config } from '../lib/config';
import { percentiles, ratio, round, shuffle, type Percentiles } from '../lib/measure';
import { check, type BenchResult, type Check, type Log, type Target } from '../lib/report';
import { createBenchDatabase, type BenchDatabase } from '../lib/postgres';

const ROOT = path.join(__dirname, '..', '..');
const DAY = 86_400_000;
const PAGE = 50;
/** p99 of a page of the log, on either database */
const TARGET_MS = 20;

type Store = import('../../src/store').Store;
type OperatorsView = import('../../src/plugins/operators/view').OperatorsView;

/** The i-th SMS of the fill: 70% received, 1% refused callbacks (half with a sender), the rest sent. */
function kindOf(i: number): 'in' | 'refused' | 'out' {
  return i % 10 < 7 ? 'in' : i % 100 === 99 ? 'refused' : 'out';
}

const phoneOf = (k: number) => `+9198${String(10_000_000 + k * 37).padStart(8, '0')}`;

/** Fills the store's own tables (migrated by the store) of a SQLite file with `total` SMS. */
function fillSqlite(file: string, total: number, customers: number, oldest: number, span: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const inbound = db.prepare(
    `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, handled)
     VALUES (?, '/exotel/sms', ?, '+918000000000', ?, '', 'benchacct', ?, 1)`,
  );
  const sent = db.prepare(
    `INSERT INTO send_log (custom_field, sid, node_id, account, phone, body, template_id, message, state, delivery, created_at, updated_at)
     VALUES (?, ?, 'send-1', 'acc-1', ?, ?, NULL, '{}', 'sent', 'delivered', ?, ?)`,
  );
  const refused = db.prepare(
    `INSERT INTO inbound_refusal (endpoint, account_sid, at, status, code, reason, from_number, body, sid, remote, dropped)
     VALUES ('/exotel/sms', 'benchacct', ?, 401, 'bad_token', 'the webhook token is missing or wrong', ?, ?, ?, '203.0.113.9', 0)`,
  );
  db.transaction(() => {
    for (let i = 0; i < total; i++) {
      const phone = phoneOf((i * 7919) % customers);
      const at = oldest + Math.floor((i / total) * span) + (i % 13);
      const kind = kindOf(i);
      if (kind === 'in') inbound.run(`bench-in-${i}`, phone, i % 3 ? 'YES' : `Order ${i} please`, at);
      else if (kind === 'out') sent.run(`cf-${i}`, `bench-out-${i}`, phone, `Your order ${i} has shipped.`, at, at);
      else if (i % 200 === 199) refused.run(at, phone, 'YES', `forged-${i}`);
      else refused.run(at, null, null, null);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** The same SMS as fillSqlite, written by PostgreSQL itself (generate_series), then vacuumed and analysed as autovacuum would. */
async function fillPostgres(client: Pick<BenchDatabase, 'query'>, total: number, customers: number, oldest: number, span: number): Promise<void> {
  const series = `FROM generate_series(0::bigint, ${total - 1}::bigint) AS i`;
  const phone = `'+9198' || lpad((10000000 + ((i * 7919) % ${customers}) * 37)::text, 8, '0')`;
  const at = `${oldest}::bigint + floor((i::float8 / ${total}) * ${span})::bigint + (i % 13)`;
  await client.query(
    `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, handled)
     SELECT 'bench-in-' || i, '/exotel/sms', ${phone}, '+918000000000', CASE WHEN i % 3 <> 0 THEN 'YES' ELSE 'Order ' || i || ' please' END,
            '', 'benchacct', ${at}, true ${series} WHERE i % 10 < 7`,
  );
  await client.query(
    `INSERT INTO send_log (custom_field, sid, node_id, account, phone, body, template_id, message, state, delivery, created_at, updated_at)
     SELECT 'cf-' || i, 'bench-out-' || i, 'send-1', 'acc-1', ${phone}, 'Your order ' || i || ' has shipped.', NULL, '{}', 'sent', 'delivered', ${at}, ${at}
     ${series} WHERE i % 10 >= 7 AND i % 100 <> 99`,
  );
  await client.query(
    `INSERT INTO inbound_refusal (endpoint, account_sid, at, status, code, reason, from_number, body, sid, remote, dropped)
     SELECT '/exotel/sms', 'benchacct', ${at}, 401, 'bad_token', 'the webhook token is missing or wrong',
            CASE WHEN i % 200 = 199 THEN ${phone} END, CASE WHEN i % 200 = 199 THEN 'YES' END, CASE WHEN i % 200 = 199 THEN 'forged-' || i END, '203.0.113.9', 0
     ${series} WHERE i % 100 = 99`,
  );
  await client.query('VACUUM ANALYZE inbound, send_log, inbound_refusal');
}

type Query = () => unknown | Promise<unknown>;

/** Times each call (await included), in ms. */
async function time(calls: number, fn: Query, into: number[]): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

/** The bare indexed queries of the inbound log, on a connection of their own. */
interface Bare {
  first(limit: number): Promise<Array<{ sid: string }>>;
  number(phone: string, limit: number): Promise<unknown>;
  after(at: number, sid: string, limit: number): Promise<unknown>;
}

const KINDS = ['first', 'number', 'deep'] as const;

interface Measured {
  stats: Record<string, Percentiles>;
  pagingMs: number;
  checks: Check[];
  purged: { inbound: number; refused: number };
  purgeMs: number;
  longestBatchMs: number;
}

/** Pages the log as the tab does, times the three pages against the bare queries, checks what they hold, purges a day. */
async function measure(name: string, store: Store, bare: Bare, phones: string[], oldest: number, calls: number): Promise<Measured> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OperatorsView, purgeOldLogs } = require(path.join(ROOT, 'dist', 'plugins', 'operators', 'view')) as typeof import('../../src/plugins/operators/view');
  const view: OperatorsView = new OperatorsView({
    store,
    accounts: () => [{ id: 'acc-1', name: 'Bench', accountSid: 'benchacct', mode: 'live', defaultCountry: 'IN' }],
    sendNode: () => ({ name: 'send' }),
    resend: () => undefined,
  });
  // a cursor 200 pages deep, found by paging as the tab does
  let after: string | null = null;
  let t0 = performance.now();
  for (let p = 0; p < 200; p++) after = (await view.log({ limit: String(PAGE), after: after ?? undefined })).next;
  const pagingMs = round(performance.now() - t0, 0);
  const deep = after!;
  // the bare query of the deep page goes on from the same place: the first inbound line after the cursor
  const deepIn = (await view.log({ limit: String(PAGE), after: deep, direction: 'in' })).items.find((l) => l.status === 'received')!;
  const searches = shuffle([...phones]).slice(0, 200);
  let s = 0;
  const ours: Record<string, Query> = {
    first: () => view.log({ limit: String(PAGE) }),
    number: () => view.log({ limit: String(PAGE), q: searches[s++ % searches.length] }),
    deep: () => view.log({ limit: String(PAGE), after: deep }),
  };
  let b = 0;
  const bares: Record<string, Query> = {
    first: () => bare.first(PAGE),
    number: () => bare.number(searches[b++ % searches.length], PAGE),
    deep: () => bare.after(deepIn.at, deepIn.id, PAGE),
  };
  const samples = Object.fromEntries(KINDS.flatMap((k) => [[`ours-${k}`, [] as number[]], [`bare-${k}`, [] as number[]]])) as Record<string, number[]>;
  for (const kind of KINDS) {
    await time(50, ours[kind], []);
    await time(50, bares[kind], []);
  }
  const blocks = 10;
  for (let block = 0; block < blocks; block++) {
    for (const kind of KINDS) {
      const sides = block % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const);
      for (const side of sides) await time(Math.ceil(calls / blocks), side === 'ours' ? ours[kind] : bares[kind], samples[`${side}-${kind}`]);
    }
  }
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v, [50, 99])]));

  // what the pages hold, checked against the bare query
  const first = await view.log({ limit: String(PAGE) });
  const firstIn = first.items.filter((l) => l.status === 'received').map((l) => l.id);
  const bareIn = (await bare.first(PAGE)).map((r) => r.sid).slice(0, firstIn.length);
  const onePhone = searches[0];
  const byNumber = await view.log({ limit: String(PAGE), q: onePhone });
  const newestFirst = (lines: Array<{ at: number }>) => lines.every((line, i) => i === 0 || lines[i - 1].at >= line.at);
  const kinds = new Set(first.items.map((l) => l.status));

  // retention: one day out of the oldest end, as the purge does it (a batch at a time)
  let longestBatchMs = 0;
  t0 = performance.now();
  let last = performance.now();
  const purged = await purgeOldLogs(store, oldest + DAY, async () => {
    longestBatchMs = Math.max(longestBatchMs, performance.now() - last);
    await new Promise((resolve) => setImmediate(resolve));
    last = performance.now();
  });
  longestBatchMs = Math.max(longestBatchMs, performance.now() - last);
  const purgeMs = round(performance.now() - t0, 0);
  const checks = [
    check(`${name}: the first page: 50 lines, newest first, received, sent and refused, its received lines those of the bare query`, `${first.items.length} lines, ${[...kinds].join(' ')}`,
      first.items.length === PAGE && newestFirst(first.items) && firstIn.every((sid, i) => sid === bareIn[i]) && ['received', 'delivered', 'rejected'].every((k) => kinds.has(k))),
    check(`${name}: a search by number: only that customer, newest first`, `${byNumber.items.length} lines`, byNumber.items.length > 0 && byNumber.items.every((l) => l.phone === onePhone) && newestFirst(byNumber.items)),
    check(`${name}: the purge took the oldest day of the inbound log and of the refusals`, `${purged.inbound} SMS, ${purged.refused} refusals`, purged.inbound > 0 && purged.refused > 0),
  ];
  return { stats, pagingMs, checks, purged, purgeMs, longestBatchMs: round(longestBatchMs, 1) };
}

export async function benchSmsLog(_config: Config, log: Log): Promise<BenchResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PostgresStore, SqliteStore } = require(path.join(ROOT, 'dist', 'store')) as typeof import('../../src/store');
  const total = setting('BENCH_LOG_SMS', 1_000_000, 100_000);
  const customers = Math.max(100, Math.floor(total / 10));
  const calls = setting('BENCH_LOG_QUERIES', 2_000, 500);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-log-'));
  const file = path.join(dir, 'exotel-sms.db');
  const n = total.toLocaleString('en');
  const phones = Array.from({ length: customers }, (_, k) => phoneOf(k));
  const span = 180 * DAY;
  const oldest = Date.now() - span;
  let database: BenchDatabase | undefined;
  const measured: Record<'sqlite' | 'pg', Measured> = {} as never;
  const sizes: Record<string, string> = {};
  try {
    // SQLite
    await new SqliteStore(file).close(); // the schema, as the package migrates it
    let t0 = performance.now();
    fillSqlite(file, total, customers, oldest, span);
    sizes.sqlite = `${round((performance.now() - t0) / 1000, 1)} s, ${round(fs.statSync(file).size / 2 ** 20, 0)} MB`;
    log(`  SQLite: ${n} SMS of ${customers.toLocaleString('en')} customers written in ${sizes.sqlite}`);
    const sqlite = new SqliteStore(file);
    const bareDb = new Database(file, { readonly: true });
    const statements = {
      first: bareDb.prepare('SELECT * FROM inbound ORDER BY recorded_at DESC, sid DESC LIMIT ?'),
      number: bareDb.prepare('SELECT * FROM inbound WHERE from_number = ? ORDER BY recorded_at DESC, sid DESC LIMIT ?'),
      after: bareDb.prepare('SELECT * FROM inbound WHERE recorded_at <= ? AND (recorded_at < ? OR sid < ?) ORDER BY recorded_at DESC, sid DESC LIMIT ?'),
    };
    try {
      measured.sqlite = await measure('SQLite', sqlite, {
        first: async (limit) => statements.first.all(limit) as Array<{ sid: string }>,
        number: async (phone, limit) => statements.number.all(phone, limit),
        after: async (at, sid, limit) => statements.after.all(at, at, sid, limit),
      }, phones, oldest, calls);
    } finally {
      bareDb.close();
      await sqlite.close();
    }

    // PostgreSQL: the store migrates its database; the bare queries run on a connection of their own
    database = await createBenchDatabase('log');
    const bare = database;
    const pg = new PostgresStore({ type: 'postgres', connectionString: bare.url });
    try {
      await pg.ready();
      t0 = performance.now();
      await fillPostgres(bare, total, customers, oldest, span);
      const rows = await bare.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
      sizes.pg = `${round((performance.now() - t0) / 1000, 1)} s, ${round(Number(rows[0].size) / 2 ** 20, 0)} MB`;
      log(`  PostgreSQL: the same SMS written in ${sizes.pg} (vacuumed and analysed)`);
      const query = (sql: string, params: unknown[]) => bare.query<unknown>(sql, params);
      measured.pg = await measure('PostgreSQL', pg, {
        first: (limit) => query('SELECT * FROM inbound ORDER BY recorded_at DESC, sid DESC LIMIT $1', [limit]) as Promise<Array<{ sid: string }>>,
        number: (phone, limit) => query('SELECT * FROM inbound WHERE from_number = $1 ORDER BY recorded_at DESC, sid DESC LIMIT $2', [phone, limit]),
        after: (at, sid, limit) => query('SELECT * FROM inbound WHERE (recorded_at, sid) < ($1, $2) ORDER BY recorded_at DESC, sid DESC LIMIT $3', [at, sid, limit]),
      }, phones, oldest, calls);
    } finally {
      await pg.close().catch(() => undefined);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  }

  const ms = (v: number) => round(v, 3);
  const labels: Record<(typeof KINDS)[number], [string, string]> = {
    first: ['first page, newest first', 'bare indexed SELECT of the inbound log'],
    number: ['search by number', 'bare indexed SELECT by number'],
    deep: ['page 201 (by cursor)', 'bare indexed SELECT after the cursor'],
  };
  const backends = [['SQLite', measured.sqlite], ['PostgreSQL', measured.pg]] as const;
  const rows = backends.flatMap(([name, m]) =>
    KINDS.map((kind) => {
      const [ours, bare] = [m.stats[`ours-${kind}`], m.stats[`bare-${kind}`]];
      return [`${name}: ${labels[kind][0]}`, `${ms(ours.p50)} / ${ms(ours.p99)}`, `${ms(bare.p50)} / ${ms(bare.p99)}`, labels[kind][1], `${ratio(ours.p50, bare.p50, 2)} / ${ratio(ours.p99, bare.p99, 2)}`];
    }),
  );
  const targets: Target[] = backends.flatMap(([name, m]) =>
    KINDS.map((kind) => {
      const p99 = m.stats[`ours-${kind}`].p99;
      return { name: `${name}: ${labels[kind][0]} p99 ≤ ${TARGET_MS} ms`, target: `≤ ${TARGET_MS} ms`, actual: `${ms(p99)} ms`, pass: p99 <= TARGET_MS };
    }),
  );
  return {
    title: `The SMS tab's log with ${n} SMS logged (${customers.toLocaleString('en')} customers, 180 days; ${calls} pages of ${PAGE} each way, alternating blocks), SQLite and PostgreSQL`,
    columns: ['page of 50, p50 / p99 ms', 'ours (received, refused and sent, merged)', 'baseline', 'baseline is', 'ours / baseline'],
    rows,
    targets,
    checks: [...measured.sqlite.checks, ...measured.pg.checks],
    facts: [
      { name: 'written (SQLite; PostgreSQL)', value: `${sizes.sqlite}; ${sizes.pg}` },
      ...backends.map(([name, m]) => ({ name: `${name}: 200 pages paged through one after another, ms`, value: m.pagingMs })),
      ...backends.map(([name, m]) => ({
        name: `${name}: retention purge of a day (${m.purged.inbound} SMS, ${m.purged.refused} refusals), ms; longest batch, ms`,
        value: `${m.purgeMs}; ${m.longestBatchMs}`,
      })),
    ],
    notes: [
      'ours runs the three keyset queries (inbound log, refused callbacks, send log) the admin API runs, merges them and names the accounts; the baseline reads the inbound log alone, rows as the driver returns them, on a connection of its own.',
      'PostgreSQL over TCP loopback: the three queries go out together on the pool, each one round trip; the tables were vacuumed and analysed after the fill, as autovacuum would.',
    ],
    data: { total, customers, calls, sqlite: measured.sqlite, postgres: measured.pg, sizes },
  };
}
