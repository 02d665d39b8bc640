// 4. conversations-memory: the Node-RED process's memory with 100,000 active conversations, against the
// same number of bare http in → http response requests. The two alternate in blocks (bare then starts,
// then starts then bare, …), the memory read after garbage collection around every block, so that
// neither side always comes first and gets the growth of warming up.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { setting, type Config } from '../lib/config';
import { load } from '../lib/load';
import { round, wait } from '../lib/measure';
import { startNodeRed, waitForEndpoints, type NodeRedChild } from '../lib/node-red';
import { check, cleanStop, type BenchResult, type Log } from '../lib/report';
import { customerNumbers, FORM } from '../lib/traffic';

/**
 * settings.js code that lets a function node read the process's memory and collect garbage (function
 * nodes see neither `process` nor `gc`); the child runs with --expose-gc.
 */
const MEMORY_SETTINGS_CODE = `settings.functionGlobalContext = {
  benchMemory: () => {
    const m = process.memoryUsage();
    let hwm = null;
    try { hwm = Number(/VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch {}
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, peakRss: hwm };
  },
  benchGc: () => { if (global.gc) global.gc(); return !!global.gc; },
};`;

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  peakRss: number | null;
  collected: boolean;
}

function conversationMemoryFlows(): object[] {
  const httpIn = (id: string, url: string, method: string, next: string) => ({ id, z: 'conv-tab', type: 'http in', url, method, upload: false, swaggerDoc: '', wires: [[next]] });
  const httpOut = (id: string) => ({ id, z: 'conv-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] });
  return [
    { id: 'conv-tab', type: 'tab', label: 'conversations' },
    httpIn('conv-in', '/bench/conversation/start', 'post', 'conv-start'),
    {
      id: 'conv-start', z: 'conv-tab', type: 'conversation-state', conversation: 'appointment', action: 'start', key: 'payload.phone', keyType: 'msg',
      step: 'confirm', steps: [], timeout: 60, maxAge: 24, data: 'payload', dataType: 'msg', saveAs: '', code: false, outputs: 1, wires: [['conv-response']],
    },
    httpOut('conv-response'),
    // the route node of the same conversation: its timers look for due deadlines as in a real flow
    {
      id: 'conv-route', z: 'conv-tab', type: 'conversation-state', conversation: 'appointment', action: 'route', key: 'phone', keyType: 'msg',
      step: '', steps: ['confirm'], timeout: '', maxAge: 24, data: '', dataType: 'none', saveAs: '', code: false, outputs: 3, wires: [[], [], []],
    },
    // the baseline: a bare request that keeps nothing
    httpIn('bare-in', '/bench/bare', 'post', 'bare-response'),
    httpOut('bare-response'),
    httpIn('mem-in', '/bench/memory', 'get', 'mem-fn'),
    {
      id: 'mem-fn', z: 'conv-tab', type: 'function', name: 'gc, then memory', outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [],
      func: "const gc = global.get('benchGc');\nconst memory = global.get('benchMemory');\nlet n = 0;\nconst step = () => {\n  const collected = gc();\n  if (++n < 5) return setTimeout(step, 100);\n  msg.payload = { ...memory(), collected };\n  node.send(msg);\n};\nstep();\nreturn null;",
      wires: [['mem-response']],
    },
    httpOut('mem-response'),
  ];
}

const MB = (bytes: number) => round(bytes / 2 ** 20, 1);

export async function benchConversationsMemory(config: Config, log: Log): Promise<BenchResult> {
  const total = setting('BENCH_CONVERSATIONS', 100_000, 10_000);
  const blocks = 4;
  const perBlock = Math.ceil(total / blocks);
  const warm = Math.min(5_000, total);
  const red: NodeRedChild = await startNodeRed({ flows: conversationMemoryFlows(), nodeArgs: ['--expose-gc'], settingsCode: MEMORY_SETTINGS_CODE, cpuProfDir: config.cpuProfDir, label: 'bench-conversations' }, log);
  const urls = { ours: `${red.baseUrl}/bench/conversation/start`, bare: `${red.baseUrl}/bench/bare`, memory: `${red.baseUrl}/bench/memory` };
  const nextPhone = customerNumbers(20_000_000);
  const makeBody = () => {
    const phone = nextPhone();
    return { key: phone, body: `phone=0${phone}&date=Jan+20&time=3+PM&clinic=Koramangala&doctor=Dr+Rao` };
  };
  const memory = async (): Promise<Memory> => {
    const res = await fetch(urls.memory);
    if (res.status !== 200) throw new Error(`memory endpoint answered ${res.status}`);
    return (await res.json()) as Memory;
  };
  const drive = async (url: string, amount: number) => {
    const { result, ok } = await load({ url, connections: config.connections, amount, contentType: FORM, makeBody });
    return { ok, non2xx: result.non2xx, errors: result.errors + result.timeouts, reqPerSec: round(result.requests.average, 0) };
  };
  const growth = { ours: { rss: 0, heap: 0 }, bare: { rss: 0, heap: 0 } };
  const runs = { ours: { ok: 0, non2xx: 0, errors: 0 }, bare: { ok: 0, non2xx: 0, errors: 0 } };
  const blockLog: Array<{ side: string; rssMB: number; heapMB: number }> = [];
  let first!: Memory;
  let before!: Memory;
  let last: Memory;
  let settled!: Memory;
  let warmOk = 0;
  let exit;
  try {
    await waitForEndpoints(red, [urls.ours, urls.bare, urls.memory], (url) =>
      url === urls.memory ? fetch(url) : fetch(url, { method: 'POST', headers: { 'content-type': FORM }, body: makeBody().body }),
    );
    first = await memory();
    if (!first.collected) throw new Error('the child cannot collect garbage (--expose-gc missing)');
    log(`  warm-up: ${warm} requests each`);
    await drive(urls.bare, warm);
    warmOk = (await drive(urls.ours, warm)).ok;
    before = await memory();
    last = before;
    log(`  before: RSS ${MB(before.rss)} MB, heap ${MB(before.heapUsed)} MB; ${blocks} blocks of ${perBlock} each way, alternating`);
    for (let b = 0; b < blocks; b++) {
      for (const side of b % 2 === 0 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const)) {
        const run = await drive(urls[side], perBlock);
        const now = await memory();
        growth[side].rss += now.rss - last.rss;
        growth[side].heap += now.heapUsed - last.heapUsed;
        for (const k of ['ok', 'non2xx', 'errors'] as const) runs[side][k] += run[k];
        blockLog.push({ side, rssMB: MB(now.rss - last.rss), heapMB: MB(now.heapUsed - last.heapUsed) });
        log(`  block ${b + 1}/${blocks} ${side.padEnd(4)} (${run.reqPerSec} req/s): RSS ${MB(now.rss - last.rss)} MB, heap ${MB(now.heapUsed - last.heapUsed)} MB`);
        last = now;
      }
    }
    // the route node's timers run over the conversations for a few seconds
    await wait(3_000);
    settled = await memory();
  } finally {
    exit = await red.stop();
  }
  const db = new Database(red.storePath, { readonly: true, fileMustExist: true });
  const active = db.prepare("SELECT COUNT(*) FROM conversation WHERE name = 'appointment' AND expires_at > ?").pluck().get(Date.now()) as number;
  const withDeadline = db.prepare("SELECT COUNT(*) FROM conversation WHERE name = 'appointment' AND deadline_at IS NOT NULL").pluck().get() as number;
  db.close();
  const storeMB = MB(fs.statSync(red.storePath).size);
  const started = warmOk + runs.ours.ok + 1; // + the probe
  if (active === started) red.remove();
  else log(`  conversations do not match starts: user dir kept at ${red.userDir}`);

  const ours = { rss: MB(growth.ours.rss), heap: MB(growth.ours.heap) };
  const bare = { rss: MB(growth.bare.rss), heap: MB(growth.bare.heap) };
  const n = (perBlock * blocks).toLocaleString('en');
  return {
    title: `${n} active conversations: the Node-RED process's memory after GC, against ${n} bare http in → http response requests (${blocks} alternating blocks each)`,
    columns: ['requests', 'RSS growth MB', 'heap growth MB', 'errors'],
    rows: [
      [`${n} conversation starts`, ours.rss, ours.heap, runs.ours.non2xx + runs.ours.errors],
      [`${n} bare requests* (baseline)`, bare.rss, bare.heap, runs.bare.non2xx + runs.bare.errors],
      // a ratio of growths means nothing when the baseline's is about 0: the difference says it
      ['starts − bare', round(ours.rss - bare.rss, 1), round(ours.heap - bare.heap, 1), ''],
      ['RSS / heap at the end, MB', MB(settled.rss), MB(settled.heapUsed), ''],
    ],
    targets: [
      { name: `RSS growth with ${n} conversations ≤ 150 MB`, target: '≤ 150 MB', actual: `${ours.rss} MB`, pass: ours.rss <= 150 },
      { name: `heap growth with ${n} conversations ≤ 150 MB`, target: '≤ 150 MB', actual: `${ours.heap} MB`, pass: ours.heap <= 150 },
    ],
    checks: [
      check('active conversations in the store = starts answered 200 (warm-up + blocks + probe)', `${active} of ${started}`, active === started),
      check('with a deadline (no reply within 60 min)', withDeadline, withDeadline === active),
      check('non-2xx / errors (starts / bare)', `${runs.ours.non2xx}/${runs.ours.errors} / ${runs.bare.non2xx}/${runs.bare.errors}`, runs.ours.non2xx + runs.ours.errors + runs.bare.non2xx + runs.bare.errors === 0),
      check('every request of the blocks answered 200', `${runs.ours.ok} / ${runs.bare.ok} of ${perBlock * blocks}`, runs.ours.ok === perBlock * blocks && runs.bare.ok === perBlock * blocks),
      cleanStop(exit),
    ],
    facts: [
      { name: 'store file', value: `${storeMB} MB` },
      { name: 'peak RSS, MB', value: MB(settled.peakRss ?? 0) },
    ],
    notes: ['* bare: answers 200 and keeps nothing; the conversations are kept in the store, so they survive a restart.'],
    data: { conversations: perBlock * blocks, warm, active, withDeadline, storeMB, memory: { first, before, settled }, growthMB: { ours, bare }, blocks: blockLog, runs },
  };
}
