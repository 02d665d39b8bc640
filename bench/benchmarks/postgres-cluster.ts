// postgres-cluster: what several instances on PostgreSQL cost, each against a baseline in the same run.
//   1. inbound acknowledgement: exotel-inbound with its store on PostgreSQL against the same node on SQLite
//   2. the reply pipeline (inbound → keyword-switch → opt-out check → conversation route → exotel-send to
//      a mock Exotel, limit lifted) on PostgreSQL against the same flow on SQLite
//   3. two Node-RED instances on one PostgreSQL (the load split between them, as a round-robin proxy
//      would) against one instance alone on the same database
// Each Node-RED is a process of its own; sides alternate every round. Needs a PostgreSQL (PGHOST/PGPORT/
// PGUSER, default 127.0.0.1:5432 as the tests use); a database of its own is created and dropped.
import type { Config } from '../lib/config';
import { alternate, figures, load, medianOf, type Figures, type Side, type SideSummary } from '../lib/load';
import { ratio, round, settle, wait } from '../lib/measure';
import { startNodeRed, untilIdle, waitForEndpoints, type NodeRedChild } from '../lib/node-red';
import { createBenchDatabase, type BenchDatabase } from '../lib/postgres';
import { check, cleanStop, type BenchResult, type Check, type Log } from '../lib/report';
import { customerNumbers, exotelFormBody, FORM, matchReplies, nextSid, WEBHOOK_TOKEN } from '../lib/traffic';
import { BenchMockExotel } from '../mock-exotel';
import { inboundAckFlows } from './inbound-ack';
import { ourReplyFlows, OUR_ACCOUNT, OUR_PATH, replyCallbackBody } from './reply-flows';

const INBOUND_PATH = '/exotel/sms';
/** the SMS are marked handled soon, so that the marks of one side's run are done before the other's */
const REPLAY_WINDOW_MS = 1_000;

interface Target {
  red: NodeRedChild;
  url: string;
}

/** The same load on several instances at once (the connections split between them), as one figure. */
async function loadOn(targets: Target[], connections: number, duration: number, makeBody: () => { key: string; body: string }) {
  const each = Math.max(1, Math.floor(connections / targets.length));
  const cpuBefore = targets.map((t) => t.red.cpuMs());
  const runs = await Promise.all(targets.map((t) => load({ url: t.url, connections: each, duration, contentType: FORM, makeBody, collectKeys: true })));
  const cpuAfter = targets.map((t) => t.red.cpuMs());
  const cpu = cpuBefore.every((c, i) => c !== null && cpuAfter[i] !== null) ? cpuAfter.reduce((n: number, c, i) => n + (c as number) - (cpuBefore[i] as number), 0) : null;
  const parts = runs.map((r) => figures(r.result, r.ok));
  const responses = parts.reduce((n, f) => n + f.responses, 0);
  const f: Figures = {
    ...parts[0],
    reqPerSec: round(parts.reduce((n, p) => n + p.reqPerSec, 0), 1),
    latencyMs: { ...parts[0].latencyMs, p50: Math.max(...parts.map((p) => p.latencyMs.p50)), p99: Math.max(...parts.map((p) => p.latencyMs.p99)) },
    responses,
    ok200: parts.reduce((n, p) => n + p.ok200, 0),
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    timeouts: parts.reduce((n, p) => n + p.timeouts, 0),
    cpuUsPerReq: cpu === null || !responses ? null : round((cpu * 1000) / responses, 1),
  };
  return { f, okKeys: runs.flatMap((r) => r.okKeys), sentKeys: runs.flatMap((r) => r.sentKeys), duration: parts[0].seconds };
}

const labels = new WeakMap<NodeRedChild, string>();

async function stopAll(reds: NodeRedChild[]): Promise<Check[]> {
  const checks: Check[] = [];
  for (const red of reds) {
    const exit = await red.stop();
    checks.push({ ...cleanStop(exit), name: `${labels.get(red)}: Node-RED stopped cleanly on SIGINT` });
    red.remove();
  }
  return checks;
}

/** 1. exotel-inbound's acknowledgement with the store on PostgreSQL against SQLite. */
async function inboundPart(config: Config, db: BenchDatabase, log: Log) {
  const { ours: flows, credentials } = inboundAckFlows();
  const store = { type: 'postgres', connectionString: db.url };
  const reds: NodeRedChild[] = [];
  const acked: string[] = [];
  let summary: Record<string, SideSummary>;
  let stops: Check[] = [];
  try {
    const sqlite = await startNodeRed({ flows, credentials, exotelSms: { replayWindowMs: REPLAY_WINDOW_MS }, label: 'bench-pg-inbound-sqlite' }, log);
    labels.set(sqlite, 'inbound, SQLite');
    reds.push(sqlite);
    const pg = await startNodeRed({ flows, credentials, exotelSms: { replayWindowMs: REPLAY_WINDOW_MS, store }, label: 'bench-pg-inbound-pg' }, log);
    labels.set(pg, 'inbound, PostgreSQL');
    reds.push(pg);
    const url = (red: NodeRedChild) => `${red.baseUrl}${INBOUND_PATH}?token=${WEBHOOK_TOKEN}`;
    for (const red of reds) await waitForEndpoints(red, [url(red)], (u) => fetch(u, { method: 'POST', headers: { 'content-type': FORM }, body: exotelFormBody(nextSid()) }));
    const makeBody = () => {
      const sid = nextSid();
      return { key: sid, body: exotelFormBody(sid) };
    };
    const side = (name: string, red: NodeRedChild): Side => ({
      name,
      async run(duration) {
        const { f, okKeys } = await loadOn([{ red, url: url(red) }], config.connections, duration, makeBody);
        if (red === pg) acked.push(...okKeys);
        await wait(REPLAY_WINDOW_MS + 500); // the handled marks
        await untilIdle(red);
        return f;
      },
    });
    summary = await alternate([side('pg', pg), side('sqlite', sqlite)], config, log);
  } finally {
    stops = await stopAll(reds);
  }
  const found = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound WHERE sid = ANY($1::text[])', [acked]))[0].n;
  return { summary, acked: acked.length, found, stops };
}

interface PipelineSide {
  name: string;
  targets: Target[];
  account: string;
}

/** The reply pipeline on several sides (each one or more instances), alternating; replies counted at the mock. */
type Keys = Record<string, { ok: string[]; sent: string[] }>;

const nextPhone = customerNumbers();
let counter = 0;

async function pipeline(config: Config, mock: BenchMockExotel, sides: PipelineSide[], keys: Keys, log: Log) {
  for (const s of sides) keys[s.account] ??= { ok: [], sent: [] };
  const count = async (account: string) => (await mock.counts())[account] ?? 0;
  const bodyFor = (account: string) => () => {
    const phone = nextPhone();
    return { key: phone, body: replyCallbackBody(nextSid(), phone, counter++).replace(`AccountSid=${OUR_ACCOUNT}`, `AccountSid=${account}`) };
  };
  for (const s of sides) {
    for (const t of s.targets) {
      await waitForEndpoints(t.red, [t.url], async (url) => {
        const { key, body } = bodyFor(s.account)();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM }, body });
        keys[s.account].sent.push(key);
        if (res.status === 200) keys[s.account].ok.push(key);
        return res;
      });
    }
  }
  let timedOut = false;
  const run = (s: PipelineSide): Side => ({
    name: s.name,
    async run(duration) {
      await settle(() => count(s.account), { quietMs: 500 });
      const before = await count(s.account);
      const { f, okKeys, sentKeys } = await loadOn(s.targets, config.connections, duration, bodyFor(s.account));
      const atEnd = await count(s.account);
      const drained = await settle(() => count(s.account), { quietMs: 1000, timeoutMs: 120_000 });
      if (drained.timedOut) timedOut = true;
      await wait(REPLAY_WINDOW_MS + 500);
      for (const t of s.targets) await untilIdle(t.red);
      keys[s.account].ok.push(...okKeys);
      keys[s.account].sent.push(...sentKeys);
      f.repliesPerSec = round((atEnd - before) / f.seconds, 1);
      f.backlogAtEnd = Math.max(0, f.ok200 - (atEnd - before));
      log(`    ${s.name}: ${f.repliesPerSec} replies/s out (${f.reqPerSec} callbacks/s answered), backlog at the end ${f.backlogAtEnd}`);
      return f;
    },
  });
  const summary = await alternate(sides.map(run), config, log);
  const repliesPerSec = (name: string) => medianOf(summary[name].rounds, (f) => f.repliesPerSec as number) as number;
  return { summary, repliesPerSec, timedOut };
}

function replyChecks(label: string, m: ReturnType<typeof matchReplies>, config: Config, instances: number): Check[] {
  const stops = (config.rounds + 1) * 2 * instances;
  return [
    check(`${label}: every callback answered 200 got a reply`, `${m.acked - m.ackedWithoutReply} of ${m.acked}`, m.ackedWithoutReply === 0),
    check(`${label}: numbers replied to twice`, m.numbersRepliedTwice, m.numbersRepliedTwice === 0),
    check(`${label}: replies to numbers never sent`, m.repliedNeverSent, m.repliedNeverSent === 0),
    check(`${label}: replies to callbacks in flight at a stop ≤ connections × runs`, m.repliedNotAcked, m.repliedNotAcked <= config.connections * stops),
  ];
}

export async function benchPostgresCluster(config: Config, log: Log): Promise<BenchResult> {
  const checks: Check[] = [];
  // 1. inbound acknowledgement
  log('  1. inbound acknowledgement, PostgreSQL against SQLite');
  let db = await createBenchDatabase('inbound');
  let inbound;
  try {
    inbound = await inboundPart(config, db, log);
  } finally {
    await db.drop();
  }
  checks.push(check('inbound: every callback answered 200 on PostgreSQL is in its inbound log', `${inbound.found} of ${inbound.acked}`, inbound.found === inbound.acked), ...inbound.stops);
  const inb = inbound.summary;
  checks.push(check('inbound: non-2xx / errors (PostgreSQL / SQLite)', `${inb.pg.non2xx}/${inb.pg.errors + inb.pg.timeouts} / ${inb.sqlite.non2xx}/${inb.sqlite.errors + inb.sqlite.timeouts}`, inb.pg.non2xx + inb.sqlite.non2xx + inb.pg.errors + inb.sqlite.errors + inb.pg.timeouts + inb.sqlite.timeouts === 0));

  // 2. and 3. the reply pipeline: PostgreSQL against SQLite, then two instances against one
  const mock = await new BenchMockExotel().start();
  db = await createBenchDatabase('reply');
  const reds: NodeRedChild[] = [];
  const keys: Keys = {};
  const replies: Record<string, ReturnType<typeof matchReplies>> = {};
  let vsSqlite;
  let scaling;
  try {
    const store = { type: 'postgres', connectionString: db.url };
    const flowsFor = (account: string) => JSON.parse(JSON.stringify(ourReplyFlows(mock.url)).replaceAll(OUR_ACCOUNT, account)) as ReturnType<typeof ourReplyFlows>;
    const start = async (label: string, account: string, exotelSms: Record<string, unknown>) => {
      const red = await startNodeRed({ ...flowsFor(account), exotelSms: { replayWindowMs: REPLAY_WINDOW_MS, ...exotelSms }, cpuProfDir: config.cpuProfDir, label }, log);
      labels.set(red, label);
      reds.push(red);
      return { red, url: `${red.baseUrl}${OUR_PATH}?token=${WEBHOOK_TOKEN}` };
    };
    const sqlite = await start('bench-pg-reply-sqlite', 'benchsqlite', {});
    const pgA = await start('bench-pg-reply-pg-a', 'benchpg', { store });
    log('  2. reply pipeline, PostgreSQL against SQLite');
    vsSqlite = await pipeline(config, mock, [{ name: 'pg', targets: [pgA], account: 'benchpg' }, { name: 'sqlite', targets: [sqlite], account: 'benchsqlite' }], keys, log);
    await sqlite.red.stop(); // not in the way of the two instances
    // the same flow and account as the first instance, as replicas behind a proxy
    const pgB = await start('bench-pg-reply-pg-b', 'benchpg', { store });
    log('  3. reply pipeline, two instances on one PostgreSQL against one');
    scaling = await pipeline(config, mock, [{ name: 'two', targets: [pgA, pgB], account: 'benchpg' }, { name: 'one', targets: [pgA], account: 'benchpg' }], keys, log);
    for (const account of Object.keys(keys)) replies[account] = matchReplies(await mock.recipients(account), keys[account].ok, keys[account].sent);
  } finally {
    checks.push(...(await stopAll(reds)));
    await mock.stop();
    await db.drop();
  }
  checks.push(...replyChecks('PostgreSQL (one and two instances)', replies.benchpg, config, 3), ...replyChecks('SQLite', replies.benchsqlite, config, 1));
  checks.push(check('every run’s backlog drained within 120 s', vsSqlite.timedOut || scaling.timedOut ? 'no' : 'yes', !vsSqlite.timedOut && !scaling.timedOut));

  const ratios = {
    inbound: ratio(inb.pg.reqPerSec, inb.sqlite.reqPerSec),
    inboundP99: ratio(inb.pg.p99Ms, inb.sqlite.p99Ms),
    reply: ratio(vsSqlite.repliesPerSec('pg'), vsSqlite.repliesPerSec('sqlite')),
    twoInstances: ratio(scaling.repliesPerSec('two'), scaling.repliesPerSec('one')),
  };
  const cpu = (s: SideSummary) => s.cpuUsPerReq ?? 'n/a';
  return {
    title: `Several instances on PostgreSQL: inbound acknowledgement and the reply pipeline against SQLite, and two instances against one (${config.connections} connections, ${config.rounds} × ${config.duration} s, median)`,
    columns: ['benchmark', 'PostgreSQL', 'baseline, same run', 'ratio', 'p99 ms (ours / baseline)', 'CPU µs/req (ours / baseline)'],
    rows: [
      ['inbound acknowledgement, callbacks/s', inb.pg.reqPerSec, `SQLite: ${inb.sqlite.reqPerSec}`, ratios.inbound, `${inb.pg.p99Ms} / ${inb.sqlite.p99Ms}`, `${cpu(inb.pg)} / ${cpu(inb.sqlite)}`],
      ['reply pipeline, replies/s', vsSqlite.repliesPerSec('pg'), `SQLite: ${vsSqlite.repliesPerSec('sqlite')}`, ratios.reply, `${vsSqlite.summary.pg.p99Ms} / ${vsSqlite.summary.sqlite.p99Ms}`, `${cpu(vsSqlite.summary.pg)} / ${cpu(vsSqlite.summary.sqlite)}`],
      ['reply pipeline, two instances, replies/s', scaling.repliesPerSec('two'), `one instance: ${scaling.repliesPerSec('one')}`, ratios.twoInstances, `${scaling.summary.two.p99Ms} / ${scaling.summary.one.p99Ms}`, `${cpu(scaling.summary.two)} / ${cpu(scaling.summary.one)}`],
    ],
    targets: [
      { name: 'inbound acknowledgement on PostgreSQL ≥ 0.8 × SQLite', target: '≥ 0.8', actual: ratios.inbound, pass: ratios.inbound !== null && ratios.inbound >= 0.8 },
      { name: 'reply pipeline on PostgreSQL ≥ 0.8 × SQLite', target: '≥ 0.8', actual: ratios.reply, pass: ratios.reply !== null && ratios.reply >= 0.8 },
      { name: 'two instances ≥ 1.0 × one', target: '≥ 1.0', actual: ratios.twoInstances, pass: ratios.twoInstances !== null && ratios.twoInstances >= 1.0 },
    ],
    checks,
    notes: [
      'Every Node-RED is a process of its own; PostgreSQL runs on the same machine (TCP loopback), as do the load generator and the mock Exotel.',
      'Two instances: the connections split between them, as a round-robin proxy would; callbacks/s and replies/s of both together. CPU µs/req: both processes\' CPU time, a request.',
      'On a machine with more cores than processes, two instances add a core of Node-RED each; here they share 2 cores with PostgreSQL, the load generator and the mock.',
    ],
    data: { ratios, inbound: inb, replyVsSqlite: vsSqlite.summary, twoVsOne: scaling.summary, replies },
  };
}
