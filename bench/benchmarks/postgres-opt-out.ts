// postgres-opt-out: the opt-out check exotel-send makes before every send, on PostgreSQL (several
// instances) with 1,000,000 numbers stored, against the same check on SQLite in the same run.
// Needs a PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 as the tests use); a database of
// its own is created and dropped.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setting, type Config } from '../lib/config';
import { adminClient } from '../lib/postgres';
import { percentiles, ratio, round, shuffle } from '../lib/measure';
import { check, type BenchResult, type Log } from '../lib/report';

const ROOT = path.join(__dirname, '..', '..');
const PG_HOST = process.env.PGHOST || '127.0.0.1';
const PG_PORT = Number(process.env.PGPORT || 5432);

function randomNumbers(count: number): string[] {
  const seen = new Set<string>();
  while (seen.size < count) {
    const bytes = randomBytes(8);
    seen.add(`+91${6 + (bytes[0] % 4)}${(bytes.readUInt32LE(1) % 1_000_000_000).toString().padStart(9, '0')}`);
  }
  return [...seen];
}

type IsOptedOut = (phone: string) => Promise<boolean>;

async function time(list: string[], fn: IsOptedOut, into: number[]): Promise<number> {
  let found = 0;
  for (const phone of list) {
    const t0 = process.hrtime.bigint();
    if (await fn(phone)) found++;
    into.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return found;
}

export async function benchPostgresOptOut(_config: Config, log: Log): Promise<BenchResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PostgresStore, SqliteStore } = require(path.join(ROOT, 'dist', 'store')) as typeof import('../../src/store');
  const total = setting('BENCH_OPTOUT_NUMBERS', 1_000_000, 100_000);
  const lookups = setting('BENCH_OPTOUT_LOOKUPS', 100_000, 10_000);
  const { client: admin, user } = await adminClient();
  const dbName = `exotel_sms_bench_${process.pid}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-pg-optout-'));
  const pg = new PostgresStore({ type: 'postgres', connectionString: `postgres://${encodeURIComponent(user)}@${PG_HOST}:${PG_PORT}/${dbName}` });
  const sqlite = new SqliteStore(path.join(dir, 'exotel-sms.db'));
  try {
    const numbers = randomNumbers(total + lookups);
    const stored = numbers.slice(0, total);
    const missing = numbers.slice(total);
    let t0 = performance.now();
    await pg.importOptStatus(stored, 'opted-out', 'import');
    const pgImportMs = round(performance.now() - t0, 0);
    t0 = performance.now();
    await sqlite.importOptStatus(stored, 'opted-out', 'import');
    const sqliteImportMs = round(performance.now() - t0, 0);
    log(`  imported ${total.toLocaleString('en')} numbers: PostgreSQL ${pgImportMs} ms, SQLite ${sqliteImportMs} ms`);
    const hits = shuffle([...stored]).slice(0, Math.floor(lookups / 2));
    const list = shuffle([...hits, ...missing.slice(0, lookups - hits.length)]);
    const samples = { pg: [] as number[], sqlite: [] as number[], query: [] as number[] };
    const found = { pg: 0, sqlite: 0, query: 0 };
    // what each check would cost without the copy in memory: the same query, prepared, one round trip
    const query: IsOptedOut = async (p) => (await pg.db.query({ name: 'bench-is-opted-out', text: "SELECT 1 FROM opt_out WHERE phone = $1 AND status = 'opted-out'", values: [p] })).rowCount === 1;
    const sides: Record<keyof typeof samples, IsOptedOut> = { pg: (p) => pg.isOptedOut(p), sqlite: (p) => sqlite.isOptedOut(p), query };
    t0 = performance.now();
    await time(list.slice(0, 2000), sides.pg, []); // warm-up; the first check starts the copy in memory
    const mirror = (pg as unknown as { optOuts: { mirror: { lookup(phone: string): boolean | undefined } } }).optOuts.mirror;
    while (mirror.lookup(list[0]) === undefined) {
      if (performance.now() - t0 > 120_000) throw new Error('the opted-out numbers were not in memory after 2 minutes');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const loadMs = round(performance.now() - t0, 0);
    log(`  ${total.toLocaleString('en')} opted-out numbers in memory ${loadMs} ms after the first check`);
    await time(list.slice(0, 2000), sides.sqlite, []);
    await time(list.slice(0, 2000), sides.query, []);
    const blocks = 10;
    const size = Math.ceil(list.length / blocks);
    const names = ['pg', 'sqlite', 'query'] as const;
    for (let b = 0; b < blocks; b++) {
      const part = list.slice(b * size, (b + 1) * size);
      for (let k = 0; k < names.length; k++) {
        const name = names[(b + k) % names.length]; // each side first in turn
        found[name] += await time(part, sides[name], samples[name]);
      }
    }
    const s = { pg: percentiles(samples.pg, [50, 99, 99.9]), sqlite: percentiles(samples.sqlite, [50, 99, 99.9]), query: percentiles(samples.query, [50, 99, 99.9]) };
    const ms = (us: number) => round(us / 1000, 3);
    log(`  isOptedOut p50/p99: PostgreSQL ${ms(s.pg.p50)}/${ms(s.pg.p99)} ms, SQLite ${ms(s.sqlite.p50)}/${ms(s.sqlite.p99)} ms, one round trip ${ms(s.query.p50)}/${ms(s.query.p99)} ms`);
    return {
      title: `Opt-out check on PostgreSQL with ${total.toLocaleString('en')} numbers stored (${lookups.toLocaleString('en')} lookups, half hits, one at a time)`,
      columns: ['measure', 'PostgreSQL', 'SQLite', 'PostgreSQL / SQLite', 'the query alone (one round trip)'],
      rows: [
        [`import ${total.toLocaleString('en')} numbers, ms`, pgImportMs, sqliteImportMs, ratio(pgImportMs, sqliteImportMs, 2), '–'],
        ['opted-out numbers in memory after the first check, ms', loadMs, '–', '–', '–'],
        ['check p50, ms', ms(s.pg.p50), ms(s.sqlite.p50), ratio(s.pg.p50, s.sqlite.p50, 1), ms(s.query.p50)],
        ['check p99, ms', ms(s.pg.p99), ms(s.sqlite.p99), ratio(s.pg.p99, s.sqlite.p99, 1), ms(s.query.p99)],
        ['check p99.9, ms', ms(s.pg['p99.9']), ms(s.sqlite['p99.9']), ratio(s.pg['p99.9'], s.sqlite['p99.9'], 1), ms(s.query['p99.9'])],
      ],
      targets: [{ name: 'PostgreSQL isOptedOut p99 ≤ 1 ms', target: '≤ 1 ms', actual: `${ms(s.pg.p99)} ms`, pass: s.pg.p99 <= 1000 }],
      checks: [
        check('every lookup right on PostgreSQL', `${found.pg} of ${hits.length}`, found.pg === hits.length),
        check('every lookup right on SQLite', `${found.sqlite} of ${hits.length}`, found.sqlite === hits.length),
        check('every lookup right with the query alone', `${found.query} of ${hits.length}`, found.query === hits.length),
        check('opted-out count on PostgreSQL', await pg.optedOutCount(), (await pg.optedOutCount()) === total),
      ],
      notes: [
        'PostgreSQL on this machine over TCP loopback. A check is answered from the opted-out numbers each instance keeps in memory; a change (a STOP on any instance) is acknowledged only once every live instance has it, through the database (NOTIFY and an acknowledgement in the instance table), so no send after a STOP reads an old answer.',
        'The last column is what a check costs as one round trip to the database (a prepared statement, an index scan of 0.05 ms in the server): its p99 is the time for two processes to be scheduled on a busy machine.',
      ],
      data: { total, lookups, pgImportMs, sqliteImportMs, loadMs, pg: s.pg, sqlite: s.sqlite, query: s.query },
    };
  } finally {
    await pg.close().catch(() => undefined);
    await sqlite.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
