// 3. opt-out-check: 1,000,000 numbers in the store: the import, the check exotel-send makes before
// every send, and a start of Node-RED on that store.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setting, type Config } from '../lib/config';
import { median, percentiles, ratio, round, shuffle, wait } from '../lib/measure';
import { startNodeRed } from '../lib/node-red';
import { check, type BenchResult, type Log } from '../lib/report';
import { customerNumbers, FORM, nextSid, WEBHOOK_TOKEN } from '../lib/traffic';
import { BenchMockExotel } from '../mock-exotel';
import { ourReplyFlows, OUR_PATH, replyCallbackBody, type FlowSet } from './reply-flows';

const ROOT = path.join(__dirname, '..', '..');

/** `count` distinct random Indian mobile numbers in E.164, and `misses` more that are not among them. */
function randomNumbers(count: number, misses: number) {
  const seen = new Set<string>();
  const make = () => {
    const bytes = randomBytes(8);
    return `+91${6 + (bytes[0] % 4)}${(bytes.readUInt32LE(1) % 1_000_000_000).toString().padStart(9, '0')}`;
  };
  while (seen.size < count) seen.add(make());
  const others = new Set<string>();
  while (others.size < misses) {
    const n = make();
    if (!seen.has(n)) others.add(n);
  }
  return { numbers: [...seen], misses: [...others] };
}

type Check = (phone: string) => boolean | Promise<boolean>;

/** Times `check(phone)` around each call (await included), in µs; how many were found. */
async function timeChecks(phones: string[], fn: Check, into: number[]): Promise<number> {
  let found = 0;
  for (const phone of phones) {
    const t0 = process.hrtime.bigint();
    const r = await fn(phone);
    into.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (r) found++;
  }
  return found;
}

/** Checks a second, untimed: the whole list, one after another. */
async function checkRate(phones: string[], fn: Check) {
  const t0 = performance.now();
  let found = 0;
  for (const phone of phones) if (await fn(phone)) found++;
  return { perSec: round(phones.length / ((performance.now() - t0) / 1000), 0), found };
}

/** From spawn to the first callback answered 200 on the exotel-inbound endpoint, in ms. */
async function timeStart(set: FlowSet, storePath: string, nextBody: () => string): Promise<number> {
  const red = await startNodeRed({ ...set, exotelSms: { storePath }, label: 'bench-restart', waitReady: false });
  const url = `${red.baseUrl}${OUR_PATH}?token=${WEBHOOK_TOKEN}`;
  try {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (!red.running) throw new Error(`Node-RED exited during start-up:\n${red.logTail()}`);
      if (performance.now() > deadline) throw new Error(`no answer within 60 s:\n${red.logTail()}`);
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM }, body: nextBody() });
        await res.arrayBuffer();
        if (res.status === 200) return round(performance.now() - red.spawnedAt, 0);
      } catch {
        // not listening yet
      }
      await wait(5);
    }
  } finally {
    await red.stop();
    red.remove();
  }
}

/** A bare better-sqlite3 insert of the numbers into a one-table WAL database, in ms. */
function bareImport(file: string, numbers: string[]): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE opt_out (phone TEXT PRIMARY KEY, status TEXT NOT NULL) WITHOUT ROWID');
  const insert = db.prepare("INSERT INTO opt_out (phone, status) VALUES (?, 'opted-out')");
  const t0 = performance.now();
  db.transaction(() => {
    for (const phone of numbers) insert.run(phone);
  })();
  const ms = performance.now() - t0;
  db.close();
  fs.rmSync(file, { force: true });
  return round(ms, 0);
}

export async function benchOptOutCheck(config: Config, log: Log): Promise<BenchResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SqliteStore } = require(path.join(ROOT, 'dist', 'store')) as typeof import('../../src/store');
  const total = setting('BENCH_OPTOUT_NUMBERS', 1_000_000, 100_000);
  const lookups = setting('BENCH_OPTOUT_LOOKUPS', 100_000, 20_000);
  const restarts = setting('BENCH_RESTARTS', 3, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-optout-'));
  const file = path.join(dir, 'exotel-sms.db');
  const n = total.toLocaleString('en');
  log(`  ${n} random numbers, ${lookups.toLocaleString('en')} lookups (half hits, half misses), store ${file}`);
  const { numbers, misses } = randomNumbers(total, Math.ceil(lookups / 2));

  try {
    // Import: the store's importOptStatus (status row + history row + indexes, one transaction) against
    // a bare insert of the same numbers into one table, before and after it.
    const bareBefore = bareImport(path.join(dir, 'bare-1.db'), numbers);
    let store = new SqliteStore(file);
    let t0 = performance.now();
    const imported = await store.importOptStatus(numbers, 'opted-out', 'import');
    const importMs = round(performance.now() - t0, 0);
    t0 = performance.now();
    await store.close();
    const closeMs = round(performance.now() - t0, 0);
    const bareAfter = bareImport(path.join(dir, 'bare-2.db'), numbers);
    const bareImportMs = (bareBefore + bareAfter) / 2;
    log(`  store.importOptStatus ${importMs} ms (${imported.changed} changed), closed in ${closeMs} ms; bare inserts ${bareBefore} / ${bareAfter} ms`);
    const fileMB = round(fs.statSync(file).size / 2 ** 20, 1);

    // Lookups: isOptedOut (awaited, as exotel-send calls it) against a bare prepared SELECT on a
    // connection of its own, and a Map in memory, in alternating blocks.
    store = new SqliteStore(file);
    const bareDb = new Database(file, { readonly: true });
    const bareSelect = bareDb.prepare("SELECT 1 FROM opt_out WHERE phone = ? AND status = 'opted-out'").pluck();
    const map = new Map(numbers.map((p) => [p, 'opted-out']));
    const hits = shuffle([...numbers]).slice(0, Math.floor(lookups / 2));
    const list = shuffle([...hits, ...misses.slice(0, lookups - hits.length)]);
    const names = ['store', 'bareSql', 'map'] as const;
    const methods: Record<(typeof names)[number], Check> = {
      store: (phone) => store.isOptedOut(phone),
      bareSql: (phone) => bareSelect.get(phone) === 1,
      map: (phone) => map.get(phone) === 'opted-out',
    };
    const samples = { store: [] as number[], bareSql: [] as number[], map: [] as number[] };
    const found = { store: 0, bareSql: 0, map: 0 };
    for (const name of names) await timeChecks(list.slice(0, 5000), methods[name], []); // warm-up
    const blocks = 10;
    const size = Math.ceil(list.length / blocks);
    for (let b = 0; b < blocks; b++) {
      const part = list.slice(b * size, (b + 1) * size);
      for (const name of b % 2 === 0 ? names : [...names].reverse()) found[name] += await timeChecks(part, methods[name], samples[name]);
    }
    const rates = { store: await checkRate(list, methods.store), bareSql: await checkRate(list, methods.bareSql), map: await checkRate(list, methods.map) };
    const stats = { store: percentiles(samples.store, [50, 90, 99, 99.9]), bareSql: percentiles(samples.bareSql, [50, 90, 99, 99.9]), map: percentiles(samples.map, [50, 90, 99, 99.9]) };
    const optedOutCount = await store.optedOutCount();
    bareDb.close();
    await store.close();
    log(`  isOptedOut p50 ${round(stats.store.p50, 2)} µs p99 ${round(stats.store.p99, 2)} µs; bare SELECT p50 ${round(stats.bareSql.p50, 2)} µs p99 ${round(stats.bareSql.p99, 2)} µs`);

    // Start: Node-RED with the reply pipeline on the full store, against the same start on an empty one.
    const mock = await new BenchMockExotel().start();
    const set = ourReplyFlows(mock.url);
    const nextPhone = customerNumbers(50_000_000);
    let i = 0;
    const nextBody = () => replyCallbackBody(nextSid(), nextPhone(), i++);
    const starts = { empty: [] as number[], full: [] as number[] };
    try {
      for (let r = 0; r < restarts; r++) {
        for (const kind of r % 2 === 0 ? (['empty', 'full'] as const) : (['full', 'empty'] as const)) {
          const ms = await timeStart(set, kind === 'full' ? file : path.join(dir, `empty-${r}.db`), nextBody);
          starts[kind].push(ms);
          log(`  start ${r + 1}/${restarts} ${kind.padEnd(5)} store: first callback answered ${ms} ms after spawn`);
        }
      }
    } finally {
      await mock.stop();
    }
    const startEmpty = median(starts.empty);
    const startFull = median(starts.full);

    const r2 = (v: number) => (Number.isFinite(v) ? round(v, 2) : 'n/a');
    const x = (a: number, b: number) => ratio(a, b, 2);
    return {
      title: `Opt-out check with ${n} numbers stored (${lookups.toLocaleString('en')} lookups, half hits; ${restarts} start(s) each, median)`,
      columns: ['measure', 'ours', 'baseline', 'baseline is', 'ours / baseline'],
      rows: [
        [`import ${n} numbers, ms`, importMs, bareImportMs, 'bare INSERT, 1 table*', x(importMs, bareImportMs)],
        ['check p50, µs', r2(stats.store.p50), r2(stats.bareSql.p50), 'bare prepared SELECT', x(stats.store.p50, stats.bareSql.p50)],
        ['check p99, µs', r2(stats.store.p99), r2(stats.bareSql.p99), 'bare prepared SELECT', x(stats.store.p99, stats.bareSql.p99)],
        ['check p99.9, µs', r2(stats.store['p99.9']), r2(stats.bareSql['p99.9']), 'bare prepared SELECT', x(stats.store['p99.9'], stats.bareSql['p99.9'])],
        ['checks a second', rates.store.perSec, rates.bareSql.perSec, 'bare prepared SELECT', x(rates.store.perSec, rates.bareSql.perSec)],
        ['check p50 / p99, µs', `${r2(stats.store.p50)} / ${r2(stats.store.p99)}`, `${r2(stats.map.p50)} / ${r2(stats.map.p99)}`, 'Map.get in memory*', `${x(stats.store.p50, stats.map.p50)} / ${x(stats.store.p99, stats.map.p99)}`],
        ['start → first callback 200, ms', startFull, startEmpty, 'same start, empty store', x(startFull, startEmpty)],
      ],
      targets: [
        { name: `import of ${n} numbers ≤ 15 s`, target: '≤ 15000 ms', actual: `${importMs} ms`, pass: importMs <= 15_000 },
        { name: 'isOptedOut p99 ≤ 50 µs', target: '≤ 50 µs', actual: `${r2(stats.store.p99)} µs`, pass: stats.store.p99 <= 50 },
        { name: `start to first callback, ${n} numbers stored, ≤ 2 s`, target: '≤ 2000 ms', actual: `${startFull} ms`, pass: startFull <= 2000 },
      ],
      checks: [
        check('every lookup right: hits found, misses not (store / SELECT / Map)', `${found.store} / ${found.bareSql} / ${found.map} of ${hits.length}`, found.store === hits.length && found.bareSql === hits.length && found.map === hits.length),
        check('every lookup right in the untimed pass (store)', `${rates.store.found} of ${hits.length}`, rates.store.found === hits.length),
        check('opted-out count in the store', optedOutCount, optedOutCount === total),
        check('numbers the import changed', imported.changed, imported.changed === total),
      ],
      facts: [{ name: 'store file after the import', value: `${fileMB} MB` }],
      notes: ['* the bare INSERT keeps no history and no indexes beyond its key; the Map is lost on restart and must fit in memory.'],
      data: { numbers: total, lookups: list.length, import: { ms: importMs, closeMs, bareMs: [bareBefore, bareAfter], result: imported, fileMB }, check: { ...stats, perSec: rates }, start: { fullMs: starts.full, emptyMs: starts.empty, medianFullMs: startFull, medianEmptyMs: startEmpty } },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
