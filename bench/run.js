#!/usr/bin/env node
// Benchmarks of the package in a real Node-RED (a child process, the package installed in its user
// directory as a user would), each measured against a bare Node-RED baseline in the same runtime at
// the same load, in alternating rounds so that machine noise hits both sides alike.
//
//   npm run bench                                  build, then every benchmark with the defaults
//   BENCH_DURATION=3 BENCH_ROUNDS=1 npm run bench  a quick run
//
// Settings (environment):
//   BENCH_DURATION     seconds per measured round and flow (default 10)
//   BENCH_ROUNDS       measured rounds per flow (default 3); the figures are the median of the rounds
//   BENCH_WARMUP       seconds of warm-up per flow before the rounds (default min(5, BENCH_DURATION))
//   BENCH_CONNECTIONS  concurrent connections (default 50)
//   BENCH_ONLY         comma-separated benchmark names to run (default all)
//   BENCH_CPU_PROF     a directory: run the Node-RED child with --cpu-prof, profiles written there;
//                      summarise one with `node bench/profile-summary.js <file>.cpuprofile`
//
// Prints one table per benchmark and writes the same figures to bench/results/latest.json.
// Targets are reported as PASS/MISS; the exit code is 0 whatever they say (this is a measurement,
// not a test). It is 1 only when the benchmark itself could not run.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const Database = require('better-sqlite3');

const ROOT = path.join(__dirname, '..');
const PKG = require(path.join(ROOT, 'package.json'));
const RED_JS = require.resolve('node-red/red.js', { paths: [ROOT] });
const NODE_RED_VERSION = require(path.join(path.dirname(RED_JS), 'package.json')).version;
const RESULTS_DIR = path.join(__dirname, 'results');

// ---------------------------------------------------------------------------------------------
// Settings

function numberFromEnv(name, fallback, { integer = false } = {}) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name}=${text}: expected a positive ${integer ? 'whole number' : 'number'}`);
  }
  return value;
}

function readConfig() {
  const duration = numberFromEnv('BENCH_DURATION', 10);
  return {
    duration,
    rounds: numberFromEnv('BENCH_ROUNDS', 3, { integer: true }),
    warmup: numberFromEnv('BENCH_WARMUP', Math.min(5, duration)),
    connections: numberFromEnv('BENCH_CONNECTIONS', 50, { integer: true }),
    only: (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value, digits = 2) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * SmsSids like Exotel's: 32 random hex characters. Random, not a counter, so that the inbound log's
 * primary key takes them in random order as in production (a counter would land every insert on
 * the same B-tree page and flatter the store). 122 random bits: a repeat is not going to happen,
 * and the count check below would show one.
 */
function sidGenerator() {
  return () => randomUUID().replaceAll('-', '');
}

/** The form body Exotel posts for an inbound SMS. */
function exotelFormBody(sid) {
  return `SmsSid=${sid}&From=09876543210&To=01140123456&Body=YES&AccountSid=benchacct`;
}

/** Clock ticks a second, for /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used, in ms; null where /proc is not there. */
function processCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Node-RED in a child process, with this package installed in its user directory

/**
 * Starts Node-RED with the given flows in a fresh user directory. The package is linked into
 * `<userDir>/node_modules/@smsflow/node-red-exotel` and listed in the user directory's package.json,
 * which is where `npm install @smsflow/node-red-exotel` would put it; Node-RED resolves the
 * symbolic link, so the nodes run from this repository's dist/ with its node_modules.
 */
async function startNodeRed({ flows, credentials = {}, settings = {}, cpuProfDir = null, label = 'node-red' }) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-'));
  const storePath = path.join(userDir, 'exotel-sms.db');
  const port = await freePort();

  fs.writeFileSync(
    path.join(userDir, 'package.json'),
    JSON.stringify({ name: 'exotel-bench-userdir', private: true, dependencies: { [PKG.name]: `file:${ROOT}` } }, null, 2),
  );
  const linkPath = path.join(userDir, 'node_modules', ...PKG.name.split('/'));
  fs.mkdirSync(path.dirname(linkPath), { recursive: true });
  fs.symlinkSync(ROOT, linkPath, 'dir');
  const resolved = require.resolve(path.join(linkPath, PKG['node-red'].nodes['exotel-inbound']));
  const loadedFrom = fs.realpathSync(resolved);

  const allSettings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    httpAdminRoot: false, // no editor: nothing but the flows under test answers on the port
    httpNodeRoot: '/',
    flowFile: 'flows.json',
    credentialSecret: false, // flows_cred.json in plain JSON, written below
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    exotelSms: { storePath },
    ...settings,
  };
  const settingsFile = path.join(userDir, 'settings.js');
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(allSettings, null, 2)};\n`);
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
  fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));

  const logFile = path.join(userDir, 'node-red.log');
  const logFd = fs.openSync(logFile, 'a');
  const nodeArgs = [];
  if (cpuProfDir) {
    fs.mkdirSync(cpuProfDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`);
  }
  const child = spawn(process.execPath, [...nodeArgs, RED_JS, '--userDir', userDir, '--settings', settingsFile], {
    cwd: userDir,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));

  const logTail = (lines = 40) => fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');

  async function stop() {
    if (!exited) {
      child.kill('SIGINT'); // Node-RED stops its flows (our nodes flush and close the store), then exits
      const timer = setTimeout(() => exited || child.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(timer);
    }
    return exited;
  }

  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    userDir,
    storePath,
    logFile,
    loadedFrom,
    pid: child.pid,
    isRunning: () => !exited,
    cpuMs: () => processCpuMs(child.pid),
    logTail,
    stop,
    remove: () => fs.rmSync(userDir, { recursive: true, force: true }),
  };
}

/** Waits until every endpoint answers the request `probe(url)` makes with a 2xx. */
async function waitForEndpoints(red, urls, probe, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  const pending = new Set(urls);
  let lastProblem = '';
  while (pending.size > 0) {
    if (!red.isRunning()) throw new Error(`Node-RED exited during start-up:\n${red.logTail()}`);
    if (Date.now() > end) {
      throw new Error(`Node-RED did not answer on ${[...pending].join(', ')} within ${timeoutMs / 1000} s (${lastProblem}):\n${red.logTail()}`);
    }
    for (const url of [...pending]) {
      try {
        const res = await probe(url);
        if (res.status >= 200 && res.status < 300) pending.delete(url);
        else lastProblem = `${url} answered ${res.status}`;
      } catch (err) {
        lastProblem = `${url}: ${err.cause?.code ?? err.message}`;
      }
    }
    if (pending.size > 0) await wait(200);
  }
}

// ---------------------------------------------------------------------------------------------
// Load

/**
 * One autocannon run. `makeBody()` gives each request its body and a key (such as its SmsSid);
 * the keys of requests answered 200 are collected, for checks against what the server recorded.
 */
function load({ url, connections, duration, method = 'POST', contentType, makeBody, collectKeys = false }) {
  const okKeys = collectKeys ? [] : null;
  const sentKeys = collectKeys ? [] : null;
  let ok = 0;
  const target = new URL(url);
  const request = {
    method,
    path: target.pathname + target.search,
    headers: contentType ? { 'content-type': contentType } : {},
    setupRequest(req, context) {
      const { key, body } = makeBody();
      context.key = key;
      if (sentKeys) sentKeys.push(key);
      req.body = body;
      return req;
    },
    onResponse(status, _body, context) {
      if (status === 200) {
        ok++;
        if (okKeys) okKeys.push(context.key);
      }
    },
  };
  return new Promise((resolve, reject) => {
    autocannon({ url: target.origin, connections, duration, requests: [request] }, (err, result) => {
      if (err) return reject(err);
      resolve({ result, ok, okKeys, sentKeys });
    });
  });
}

/** The figures of one autocannon result that the tables and the JSON report. */
function figures(result, ok, cpuMs = null) {
  const byStatus = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  return {
    reqPerSec: round(result.requests.average, 1),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: round(result.latency.mean) },
    responses: result.requests.total,
    ok200: ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    byStatus,
    seconds: result.duration,
    // Node-RED's CPU time (all threads, all its work) per completed request: less sensitive than
    // req/s to other load on the machine
    cpuUsPerReq: cpuMs === null || !result.requests.total ? null : round((cpuMs * 1000) / result.requests.total, 1),
  };
}

/**
 * Runs the same load against several flows: a warm-up each, then `rounds` rounds, the order of the
 * flows reversed every round. Returns per flow the rounds and their medians.
 */
async function alternate(flows, config, log) {
  const runs = Object.fromEntries(flows.map((f) => [f.name, { warmup: null, rounds: [] }]));
  for (const flow of flows) {
    log(`  warm-up ${flow.name} (${config.warmup} s)`);
    runs[flow.name].warmup = await flow.run(config.warmup);
  }
  for (let r = 0; r < config.rounds; r++) {
    const order = r % 2 === 0 ? flows : [...flows].reverse();
    for (const flow of order) {
      await wait(500);
      const run = await flow.run(config.duration);
      runs[flow.name].rounds.push(run);
      const f = run.figures;
      log(`  round ${r + 1}/${config.rounds} ${flow.name.padEnd(6)} ${String(f.reqPerSec).padStart(8)} req/s  p50 ${f.latencyMs.p50} ms  p99 ${f.latencyMs.p99} ms  CPU ${f.cpuUsPerReq} µs/req  non-2xx ${f.non2xx}`);
    }
  }
  const summary = {};
  for (const flow of flows) {
    const rounds = runs[flow.name].rounds.map((run) => run.figures);
    const all = [runs[flow.name].warmup, ...runs[flow.name].rounds].map((run) => run.figures);
    summary[flow.name] = {
      reqPerSec: median(rounds.map((f) => f.reqPerSec)),
      p50Ms: median(rounds.map((f) => f.latencyMs.p50)),
      p99Ms: median(rounds.map((f) => f.latencyMs.p99)),
      cpuUsPerReq: rounds.every((f) => f.cpuUsPerReq !== null) ? median(rounds.map((f) => f.cpuUsPerReq)) : null,
      non2xx: all.reduce((n, f) => n + f.non2xx, 0),
      errors: all.reduce((n, f) => n + f.errors, 0),
      timeouts: all.reduce((n, f) => n + f.timeouts, 0),
      ok200: all.reduce((n, f) => n + f.ok200, 0),
      warmup: runs[flow.name].warmup.figures,
      rounds,
    };
  }
  return { summary, runs };
}

// ---------------------------------------------------------------------------------------------
// Benchmarks: each takes the config and a logger, and returns
//   { title, columns, rows, targets: [{name, target, actual, pass}], checks: [{name, value, ok}], data }
// which the shared printer and the JSON writer take as they are.

const WEBHOOK_TOKEN = 'bench-webhook-token-5d1c';
const ACCOUNT_SID = 'benchacct';

/** The flows of the inbound benchmark: exotel-inbound on one path, http in → http response on another. */
function inboundAckFlows() {
  const ourPath = '/exotel/sms';
  const barePath = '/bare/sms';
  const flows = [
    { id: 'bench-tab', type: 'tab', label: 'bench' },
    {
      id: 'bench-account', type: 'exotel-account', accountSid: ACCOUNT_SID, apiBaseUrl: 'http://127.0.0.1:9',
      defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200,
    },
    { id: 'bench-inbound', z: 'bench-tab', type: 'exotel-inbound', account: 'bench-account', path: ourPath, allowList: '', wires: [[]] },
    { id: 'bench-http-in', z: 'bench-tab', type: 'http in', url: barePath, method: 'post', upload: false, swaggerDoc: '', wires: [['bench-http-response']] },
    { id: 'bench-http-response', z: 'bench-tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
  ];
  const credentials = { 'bench-account': { apiKey: 'bench-key', apiToken: 'bench-secret', webhookToken: WEBHOOK_TOKEN } };
  return { flows, credentials, ourPath, barePath, ourQuery: `?token=${WEBHOOK_TOKEN}` };
}

/** exotel-inbound's acknowledgement against a bare `http in` → `http response` flow. */
async function benchInboundAck(config, log) {
  const { flows, credentials, ourPath, barePath } = inboundAckFlows();
  const red = await startNodeRed({ flows, credentials, cpuProfDir: config.cpuProfDir, label: 'inbound-ack' });
  log(`  Node-RED ${NODE_RED_VERSION} pid ${red.pid} on ${red.baseUrl}, user dir ${red.userDir}`);
  log(`  exotel-inbound loaded from ${red.loadedFrom}`);
  const ourUrl = `${red.baseUrl}${ourPath}?token=${WEBHOOK_TOKEN}`;
  const bareUrl = `${red.baseUrl}${barePath}`;
  const nextSid = sidGenerator();
  const probeSids = [];
  const contentType = 'application/x-www-form-urlencoded';

  let measured;
  let ourKeys = [];
  let ourSent = [];
  let exitStatus;
  try {
    await waitForEndpoints(red, [ourUrl, bareUrl], (url) => {
      const sid = nextSid();
      return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: exotelFormBody(sid) }).then((res) => {
        if (url === ourUrl && res.status === 200) probeSids.push(sid);
        return res;
      });
    });
    const makeBody = () => {
      const sid = nextSid();
      return { key: sid, body: exotelFormBody(sid) };
    };
    const runner = (name, url, collectKeys) => ({
      name,
      async run(duration) {
        const cpuBefore = red.cpuMs();
        const { result, ok, okKeys, sentKeys } = await load({ url, connections: config.connections, duration, contentType, makeBody, collectKeys });
        const cpuAfter = red.cpuMs();
        if (okKeys) ourKeys = ourKeys.concat(okKeys);
        if (sentKeys) ourSent = ourSent.concat(sentKeys);
        return { figures: figures(result, ok, cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore) };
      },
    });
    measured = await alternate([runner('ours', ourUrl, true), runner('bare', bareUrl, false)], config, log);
  } finally {
    exitStatus = await red.stop();
  }

  // Counts: every SMS acknowledged with 200 must be in the inbound log, once. autocannon ends a run by
  // closing its connections with a request in flight on each: the server may have logged those
  // without autocannon seeing the 200. So: the log = the 200s + some of the requests in flight at a
  // stop, and nothing else.
  const db = new Database(red.storePath, { readonly: true, fileMustExist: true });
  const logged = new Set(db.prepare('SELECT sid FROM inbound').pluck().all());
  const unhandled = db.prepare('SELECT COUNT(*) FROM inbound WHERE handled = 0').pluck().get();
  db.close();
  const acked = new Set([...ourKeys, ...probeSids]);
  const inFlightAtStop = new Set(ourSent.filter((sid) => !acked.has(sid)));
  const ackedNotLogged = [...acked].filter((sid) => !logged.has(sid)).length;
  const loggedNotAcked = [...logged].filter((sid) => !acked.has(sid));
  const loggedNeverSent = loggedNotAcked.filter((sid) => !inFlightAtStop.has(sid)).length;
  const counts = {
    inboundRows: logged.size,
    ok200: acked.size,
    ok200Load: ourKeys.length,
    ok200Probes: probeSids.length,
    sent: ourSent.length + probeSids.length,
    duplicatesAcked: ourKeys.length + probeSids.length - acked.size,
    ackedNotLogged,
    inFlightAtStop: inFlightAtStop.size,
    inFlightAtStopLogged: loggedNotAcked.length - loggedNeverSent,
    loggedNeverSent,
    unhandledAfterStop: unhandled,
    nodeRedExit: exitStatus,
  };
  const countsMatch = ackedNotLogged === 0 && counts.duplicatesAcked === 0 && loggedNeverSent === 0 &&
    logged.size === acked.size + counts.inFlightAtStopLogged;
  if (countsMatch) red.remove();
  else log(`  counts do not match: user dir kept at ${red.userDir}`);

  const { ours, bare } = measured.summary;
  const ratios = {
    reqPerSec: round(ours.reqPerSec / bare.reqPerSec, 3),
    p50: round(ours.p50Ms / bare.p50Ms, 3),
    p99: round(ours.p99Ms / bare.p99Ms, 3),
    cpuPerReq: ours.cpuUsPerReq && bare.cpuUsPerReq ? round(ours.cpuUsPerReq / bare.cpuUsPerReq, 3) : null,
  };
  const perRoundRatios = ours.rounds.map((f, i) => ({
    reqPerSec: round(f.reqPerSec / bare.rounds[i].reqPerSec, 3),
    p99: round(f.latencyMs.p99 / bare.rounds[i].latencyMs.p99, 3),
  }));
  const targets = [
    { name: 'req/s ours ≥ 0.9 × bare', target: '≥ 0.9', actual: ratios.reqPerSec, pass: ratios.reqPerSec >= 0.9 },
    { name: 'p99 ours ≤ bare', target: '≤ 1.0', actual: ratios.p99, pass: ratios.p99 <= 1.0 },
  ];
  const checks = [
    { name: 'non-2xx responses (ours / bare)', value: `${ours.non2xx} / ${bare.non2xx}`, ok: ours.non2xx === 0 && bare.non2xx === 0 },
    { name: 'socket errors / timeouts (ours / bare)', value: `${ours.errors}/${ours.timeouts} / ${bare.errors}/${bare.timeouts}`, ok: ours.errors + ours.timeouts + bare.errors + bare.timeouts === 0 },
    { name: 'inbound log rows = 200s on ours + logged in flight', value: `${counts.inboundRows} = ${counts.ok200} + ${counts.inFlightAtStopLogged}`, ok: countsMatch },
    { name: 'acknowledged but not in the log', value: ackedNotLogged, ok: ackedNotLogged === 0 },
    { name: 'in the log, 200 not seen: in flight at a stop', value: `${counts.inFlightAtStopLogged} of ${counts.inFlightAtStop}`, ok: true },
    { name: 'in the log but never sent', value: loggedNeverSent, ok: loggedNeverSent === 0 },
    { name: 'log rows not marked handled after stop', value: unhandled, ok: unhandled === 0 },
    { name: 'Node-RED stopped cleanly on SIGINT', value: exitStatus.signal ?? `exit ${exitStatus.code}`, ok: exitStatus.code === 0 },
  ];

  const row = (name, s) => [name, s.reqPerSec, s.p50Ms, s.p99Ms, s.cpuUsPerReq ?? 'n/a', s.non2xx, s.ok200];
  return {
    title: `Inbound acknowledgement: exotel-inbound vs bare http in → http response (${config.connections} connections, ${config.rounds} × ${config.duration} s, median)`,
    columns: ['flow', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'non-2xx', '200s'],
    rows: [
      row('ours (exotel-inbound)', ours),
      row('bare (http in/response)', bare),
      ['ours / bare', ratios.reqPerSec, ratios.p50, ratios.p99, ratios.cpuPerReq ?? 'n/a', '', ''],
    ],
    targets,
    checks,
    data: { flows: { ours, bare }, ratios, perRoundRatios, counts, endpoints: { ours: ourPath, bare: barePath }, loadedFrom: red.loadedFrom },
  };
}

// Later: 'reply-pipeline' (inbound → keyword-switch → conversation-state → exotel-send against a mock
// Exotel), 'opt-out-check' (1M numbers in the store), 'conversations-memory', 'send-overhead'.
const BENCHMARKS = {
  'inbound-ack': benchInboundAck,
};

// ---------------------------------------------------------------------------------------------
// Output

function printTable(columns, rows) {
  const text = rows.map((r) => r.map((cell) => String(cell ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of text) console.log(line(r));
}

function printBenchmark(name, bench) {
  console.log(`\n${name}: ${bench.title}\n`);
  printTable(bench.columns, bench.rows);
  if (bench.targets.length) {
    console.log('');
    printTable(['target', 'wanted', 'actual', ''], bench.targets.map((t) => [t.name, t.target, t.actual, t.pass ? 'PASS' : 'MISS']));
  }
  if (bench.checks.length) {
    console.log('');
    printTable(['check', 'value', ''], bench.checks.map((c) => [c.name, c.value, c.ok ? 'OK' : 'FAIL']));
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageAtStart: os.loadavg().map((n) => round(n)),
  };
}

async function main() {
  const config = readConfig();
  const log = (line) => process.stderr.write(line + '\n');
  const names = config.only.length ? config.only : Object.keys(BENCHMARKS);
  const unknown = names.filter((n) => !BENCHMARKS[n]);
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);

  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    nodeRed: NODE_RED_VERSION,
    package: `${PKG.name}@${PKG.version}`,
    config: { duration: config.duration, rounds: config.rounds, warmup: config.warmup, connections: config.connections, cpuProfDir: config.cpuProfDir },
    benchmarks: {},
  };
  for (const name of names) {
    log(`${name}:`);
    const bench = await BENCHMARKS[name](config, log);
    report.benchmarks[name] = { title: bench.title, targets: bench.targets, checks: bench.checks, ...bench.data };
    printBenchmark(name, bench);
  }
  report.machine.loadAverageAtEnd = os.loadavg().map((n) => round(n));
  const m = report.machine;
  console.log(`load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end (other work on the machine makes req/s and p99 noisy; CPU µs/req is steadier)`);
  console.log(`\n${m.cpus} × ${m.model}, Node ${m.node}, Node-RED ${report.nodeRed}, ${report.date}`);

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, 'latest.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), file) || file}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err.stack ?? err);
    process.exit(1);
  });
}

// For scratch scripts (profiling one flow alone, trying a benchmark in isolation).
module.exports = { BENCHMARKS, inboundAckFlows, WEBHOOK_TOKEN, startNodeRed, waitForEndpoints, load, figures, alternate, printTable, median, sidGenerator, exotelFormBody };
