// 8. sms-log: the SMS tab's log with 1,000,000 logged SMS (received and sent, 100,000 customers, half
// a year): the first page, a search by number and a page deep in the log, as the admin API asks the
// operators' view (two keyset queries, merged), against a bare indexed query of the same page on a
// connection of its own, in alternating blocks of the same run. Then the retention purge of a day of
// the inbound log.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setting, type Config } from '../lib/config';
import { percentiles, ratio, round, shuffle } from '../lib/measure';
import { check, type BenchResult, type Log } from '../lib/report';

const ROOT = path.join(__dirname, '..', '..');
const DAY = 86_400_000;
const PAGE = 50;

/** Fills the store's own tables (migrated by the store) with `total` SMS: 70% received, 30% sent. */
function fill(file: string, total: number, customers: number, now: number): { phones: string[]; oldest: number } {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const phones = Array.from({ length: customers }, (_, i) => `+9198${String(10_000_000 + i * 37).padStart(8, '0')}`);
  const inbound = db.prepare(
    `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, handled)
     VALUES (?, '/exotel/sms', ?, '+918000000000', ?, '', 'benchacct', ?, 1)`,
  );
  const sent = db.prepare(
    `INSERT INTO send_log (custom_field, sid, node_id, account, phone, body, template_id, message, state, delivery, created_at, updated_at)
     VALUES (?, ?, 'send-1', 'acc-1', ?, ?, NULL, '{}', 'sent', 'delivered', ?, ?)`,
  );
  const span = 180 * DAY;
  const oldest = now - span;
  db.transaction(() => {
    for (let i = 0; i < total; i++) {
      const phone = phones[(i * 7919) % customers];
      const at = oldest + Math.floor((i / total) * span) + (i % 13);
      if (i % 10 < 7) inbound.run(`bench-in-${i}`, phone, i % 3 ? 'YES' : `Order ${i} please`, at);
      else sent.run(`cf-${i}`, `bench-out-${i}`, phone, `Your order ${i} has shipped.`, at, at);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { phones, oldest };
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

export async function benchSmsLog(_config: Config, log: Log): Promise<BenchResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SqliteStore } = require(path.join(ROOT, 'dist', 'store')) as typeof import('../../src/store');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OperatorsView } = require(path.join(ROOT, 'dist', 'plugins', 'operators', 'view')) as typeof import('../../src/plugins/operators/view');
  const total = setting('BENCH_LOG_SMS', 1_000_000, 100_000);
  const customers = Math.max(100, Math.floor(total / 10));
  const calls = setting('BENCH_LOG_QUERIES', 2_000, 500);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-log-'));
  const file = path.join(dir, 'exotel-sms.db');
  const n = total.toLocaleString('en');
  try {
    await new SqliteStore(file).close(); // the schema, as the package migrates it
    const now = Date.now();
    let t0 = performance.now();
    const { phones, oldest } = fill(file, total, customers, now);
    log(`  ${n} SMS of ${customers.toLocaleString('en')} customers written in ${round((performance.now() - t0) / 1000, 1)} s, ${round(fs.statSync(file).size / 2 ** 20, 0)} MB`);

    const store = new SqliteStore(file);
    const view = new OperatorsView({
      store,
      accounts: () => [{ id: 'acc-1', name: 'Bench', accountSid: 'benchacct', mode: 'live', defaultCountry: 'IN' }],
      sendNode: () => ({ name: 'send' }),
      resend: () => undefined,
    });
    const bare = new Database(file, { readonly: true });
    const bareFirst = bare.prepare('SELECT * FROM inbound ORDER BY recorded_at DESC, sid DESC LIMIT ?');
    const bareNumber = bare.prepare('SELECT * FROM inbound WHERE from_number = ? ORDER BY recorded_at DESC, sid DESC LIMIT ?');
    const bareAfter = bare.prepare('SELECT * FROM inbound WHERE recorded_at <= ? AND (recorded_at < ? OR sid < ?) ORDER BY recorded_at DESC, sid DESC LIMIT ?');

    // a cursor 200 pages deep, found by paging as the tab does
    let after: string | null = null;
    t0 = performance.now();
    for (let p = 0; p < 200; p++) after = (await view.log({ limit: String(PAGE), after: after ?? undefined })).next;
    const pagingMs = round(performance.now() - t0, 0);
    const deep = after!;
    const [deepAt, , deepId] = JSON.parse(Buffer.from(deep, 'base64url').toString('utf8')) as [number, string, string];
    const searches = shuffle([...phones]).slice(0, 200);
    let s = 0;
    const ours: Record<string, Query> = {
      first: () => view.log({ limit: String(PAGE) }),
      number: () => view.log({ limit: String(PAGE), q: searches[s++ % searches.length] }),
      deep: () => view.log({ limit: String(PAGE), after: deep }),
    };
    let b = 0;
    const bares: Record<string, Query> = {
      first: () => bareFirst.all(PAGE),
      number: () => bareNumber.all(searches[b++ % searches.length], PAGE),
      deep: () => bareAfter.all(deepAt, deepAt, deepId, PAGE),
    };
    const kinds = ['first', 'number', 'deep'] as const;
    const samples = Object.fromEntries(kinds.flatMap((k) => [[`ours-${k}`, [] as number[]], [`bare-${k}`, [] as number[]]])) as Record<string, number[]>;
    for (const kind of kinds) {
      await time(50, ours[kind], []);
      await time(50, bares[kind], []);
    }
    const blocks = 10;
    for (let block = 0; block < blocks; block++) {
      for (const kind of kinds) {
        const sides = block % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const);
        for (const side of sides) await time(Math.ceil(calls / blocks), side === 'ours' ? ours[kind] : bares[kind], samples[`${side}-${kind}`]);
      }
    }
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v, [50, 99])]));

    // what the pages hold, checked against the bare query
    const first = await view.log({ limit: String(PAGE) });
    const firstIn = first.items.filter((l) => l.direction === 'in').map((l) => l.id);
    const bareIn = (bareFirst.all(PAGE) as Array<{ sid: string }>).map((r) => r.sid).slice(0, firstIn.length);
    const onePhone = searches[0];
    const byNumber = await view.log({ limit: String(PAGE), q: onePhone });
    const newestFirst = (lines: Array<{ at: number }>) => lines.every((line, i) => i === 0 || lines[i - 1].at >= line.at);

    // retention: one day of the inbound log out of the oldest end, as the purge does it (a batch at a time)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { purgeOldLogs } = require(path.join(ROOT, 'dist', 'plugins', 'operators', 'view')) as typeof import('../../src/plugins/operators/view');
    let longestBatch = 0;
    t0 = performance.now();
    let last = performance.now();
    const purged = await purgeOldLogs(store, oldest + DAY, async () => {
      longestBatch = Math.max(longestBatch, performance.now() - last);
      await new Promise((resolve) => setImmediate(resolve));
      last = performance.now();
    });
    longestBatch = Math.max(longestBatch, performance.now() - last);
    const purgeMs = round(performance.now() - t0, 0);
    bare.close();
    await store.close();

    const ms = (v: number) => round(v, 3);
    const row = (label: string, kind: string, baseline: string) => [
      label, `${ms(stats[`ours-${kind}`].p50)} / ${ms(stats[`ours-${kind}`].p99)}`, `${ms(stats[`bare-${kind}`].p50)} / ${ms(stats[`bare-${kind}`].p99)}`, baseline,
      `${ratio(stats[`ours-${kind}`].p50, stats[`bare-${kind}`].p50, 2)} / ${ratio(stats[`ours-${kind}`].p99, stats[`bare-${kind}`].p99, 2)}`,
    ];
    const p99 = (kind: string) => stats[`ours-${kind}`].p99;
    return {
      title: `The SMS tab's log with ${n} SMS logged (${customers.toLocaleString('en')} customers, 180 days; ${calls} pages of ${PAGE} each way, alternating blocks)`,
      columns: ['page of 50, p50 / p99 ms', 'ours (in and out, merged)', 'baseline', 'baseline is', 'ours / baseline'],
      rows: [
        row('first page, newest first', 'first', 'bare indexed SELECT of the inbound log'),
        row('search by number', 'number', 'bare indexed SELECT by number'),
        row('page 201 (by cursor)', 'deep', 'bare indexed SELECT after the cursor'),
      ],
      targets: [
        { name: 'first page p99 ≤ 20 ms', target: '≤ 20 ms', actual: `${ms(p99('first'))} ms`, pass: p99('first') <= 20 },
        { name: 'search by number p99 ≤ 20 ms', target: '≤ 20 ms', actual: `${ms(p99('number'))} ms`, pass: p99('number') <= 20 },
        { name: 'a page 200 pages deep p99 ≤ 20 ms (keyset: no slower than the first)', target: '≤ 20 ms', actual: `${ms(p99('deep'))} ms`, pass: p99('deep') <= 20 },
      ],
      checks: [
        check('the first page: 50 lines, newest first, its inbound lines those of the bare query', `${first.items.length} lines`, first.items.length === PAGE && newestFirst(first.items) && firstIn.every((sid, i) => sid === bareIn[i])),
        check('a search by number: only that customer, newest first', `${byNumber.items.length} lines`, byNumber.items.length > 0 && byNumber.items.every((l) => l.phone === onePhone) && newestFirst(byNumber.items)),
        check('the purge took the oldest day of the inbound log', `${purged} SMS`, purged > 0),
      ],
      facts: [
        { name: '200 pages paged through one after another, ms', value: pagingMs },
        { name: `retention purge of a day of the inbound log (${purged} SMS), ms; longest batch, ms`, value: `${purgeMs}; ${round(longestBatch, 1)}` },
      ],
      notes: ['ours runs the two keyset queries (inbound log and send log) the admin API runs, merges them and names the accounts; the baseline reads the inbound log alone, rows as the driver returns them.'],
      data: { total, customers, calls, stats, pagingMs, purged, purgeMs, longestBatchMs: longestBatch },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
