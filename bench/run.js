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
// Benchmarks (BENCH_ONLY names) and their own settings:
//   inbound-ack           exotel-inbound's acknowledgement vs a bare http in → http response flow
//   reply-pipeline        inbound → keyword-switch → opt-out check → conversation route → exotel-send,
//                         to a local mock of Exotel (bench/mock-exotel.js), vs the same job built
//                         naively from core nodes (http in → http response + change → http request);
//                         uses BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP, BENCH_CONNECTIONS
//   opt-out-check         1,000,000 numbers in the store: import, isOptedOut per check, start-up
//     BENCH_OPTOUT_NUMBERS  numbers stored (default 1000000)
//     BENCH_OPTOUT_LOOKUPS  checks timed, half hits, half misses (default 100000)
//     BENCH_RESTARTS        Node-RED starts on the full and on an empty store, each (default 3)
//   conversations-memory  the Node-RED process's memory with 100,000 active conversations
//     BENCH_CONVERSATIONS   conversations started (default 100000), and as many bare requests first
//   send-overhead         exotel-send's time per message over a bare undici request to the same mock
//     BENCH_SEND_MESSAGES   messages timed each way (default 2000)
//   rate-limit            the account's default limit (200 a minute) in real time (bench/rate-limit.js);
//                         with other benchmarks it runs in the background from the start of the run
//     BENCH_RATE_SECONDS    seconds of load (default 125: two full minutes)
//     BENCH_RATE_OFFERED    messages offered a second (default 5)
//
// Prints one table per benchmark and writes the same figures to bench/results/latest.json.
// Targets are reported as PASS/MISS; the exit code is 0 whatever they say (this is a measurement,
// not a test). It is 1 only when the benchmark itself could not run.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
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
async function startNodeRed({ flows, credentials = {}, settings = {}, cpuProfDir = null, label = 'node-red', nodeArgs: extraNodeArgs = [], settingsCode = '' }) {
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
  // settingsCode: JavaScript run on `settings` before it is exported (what JSON cannot say, such as
  // functions in functionGlobalContext)
  fs.writeFileSync(settingsFile, `const settings = ${JSON.stringify(allSettings, null, 2)};\n${settingsCode}\nmodule.exports = settings;\n`);
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
  fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));

  const logFile = path.join(userDir, 'node-red.log');
  const logFd = fs.openSync(logFile, 'a');
  const nodeArgs = [...extraNodeArgs];
  if (cpuProfDir) {
    fs.mkdirSync(cpuProfDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`);
  }
  const spawnedAt = performance.now();
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
    spawnedAt,
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
function load({ url, connections, duration, amount, method = 'POST', contentType, makeBody, collectKeys = false }) {
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
    // amount: a fixed number of requests rather than a duration
    const options = amount ? { amount } : { duration };
    autocannon({ url: target.origin, connections, ...options, requests: [request] }, (err, result) => {
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
      reqPerSec: round(median(rounds.map((f) => f.reqPerSec)), 1),
      p50Ms: round(median(rounds.map((f) => f.latencyMs.p50)), 1),
      p99Ms: round(median(rounds.map((f) => f.latencyMs.p99)), 1),
      cpuUsPerReq: rounds.every((f) => f.cpuUsPerReq !== null) ? round(median(rounds.map((f) => f.cpuUsPerReq)), 1) : null,
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

// ---------------------------------------------------------------------------------------------
// Shared by the benchmarks below

const { BenchMockExotel } = require('./mock-exotel');

/** Percentiles of a list of numbers (sorted in place). */
function percentiles(values, ps = [50, 90, 99]) {
  const sorted = Float64Array.from(values).sort();
  const out = {};
  for (const p of ps) out[`p${p}`] = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
  out.mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  out.max = sorted.length ? sorted[sorted.length - 1] : null;
  out.count = sorted.length;
  return out;
}

/** Polls until `read()` stops changing for `quietMs` (or `timeoutMs` passes); returns the last value and when it last changed. */
async function settle(read, { quietMs = 1000, timeoutMs = 60_000, intervalMs = 50 } = {}) {
  const start = performance.now();
  let value = await read();
  let changedAt = performance.now();
  while (performance.now() - changedAt < quietMs && performance.now() - start < timeoutMs) {
    await wait(intervalMs);
    const next = await read();
    if (next !== value) {
      value = next;
      changedAt = performance.now();
    }
  }
  return { value, lastChangeMs: changedAt - start, timedOut: performance.now() - start >= timeoutMs };
}

/**
 * Customer numbers: each callback comes from a number of its own (a counter in the mobile series
 * 98xxxxxxxx), so that no two replies of one customer meet in the conversation node's one-at-a-time
 * hold, and the number parser's cache does not make every lookup free: traffic from many customers.
 */
function customerNumbers(start = 0) {
  let n = start;
  return () => String(9_800_000_000 + (n++ % 100_000_000));
}

/** The last ten digits of a number: +919876543210, 09876543210 and 9876543210 are one customer. */
const tenDigits = (phone) => String(phone).replace(/\D/g, '').slice(-10);

/** How the replies an account's mock received match the callbacks answered 200 (keys: ten digits). */
function matchReplies(recipients, okKeys, sentKeys) {
  const replies = new Map();
  for (const to of recipients) {
    const key = tenDigits(to);
    replies.set(key, (replies.get(key) ?? 0) + 1);
  }
  const acked = new Set(okKeys);
  const sent = new Set(sentKeys);
  let ackedWithout = 0;
  for (const key of acked) if (!replies.has(key)) ackedWithout++;
  let twice = 0;
  let notAcked = 0;
  let neverSent = 0;
  for (const [key, count] of replies) {
    if (count > 1) twice++;
    if (!acked.has(key)) {
      notAcked++;
      if (!sent.has(key)) neverSent++;
    }
  }
  return { replies: recipients.length, acked: acked.size, ackedWithoutReply: ackedWithout, numbersRepliedTwice: twice, repliedNotAcked: notAcked, repliedNeverSent: neverSent };
}

// ---------------------------------------------------------------------------------------------
// 2. reply-pipeline: inbound → keyword-switch → opt-out check → conversation route → exotel-send,
// against the same job built naively from core nodes (http in → http response + change → http request)

const REPLY_TEXT = 'Thank you for your message. Reply HELP for help or STOP to stop these messages.';

function replyPipelineFlows(mockUrl, { ours = true, naive = true } = {}) {
  const ourPath = '/exotel/reply';
  const naivePath = '/naive/reply';
  const flows = [{ id: 'reply-tab', type: 'tab', label: 'reply pipeline' }];
  const credentials = {};
  if (ours) {
    flows.push(
      {
        id: 'reply-account', type: 'exotel-account', name: 'bench (rate limit lifted)', accountSid: 'benchreply', apiBaseUrl: mockUrl,
        defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 100_000_000, queueLimit: 100_000,
      },
      { id: 'reply-inbound', z: 'reply-tab', type: 'exotel-inbound', account: 'reply-account', path: ourPath, allowList: '', wires: [['reply-keywords']] },
      {
        id: 'reply-keywords', z: 'reply-tab', type: 'keyword-switch', property: 'payload', propertyType: 'msg',
        rules: [{ t: 'keywords', v: 'START, UNSTOP, SUBSCRIBE' }, { t: 'keywords', v: 'STOP, UNSUBSCRIBE, QUIT, END, OPTOUT' }, { t: 'keywords', v: 'HELP, INFO' }],
        matchMode: 'whole', typos: false, checkall: 'false', outputs: 4,
        wires: [['reply-check'], ['reply-check'], ['reply-check'], ['reply-check']],
      },
      // check: opted in | opted out | unknown
      { id: 'reply-check', z: 'reply-tab', type: 'opt-out-store', action: 'check', phone: 'phone', phoneType: 'msg', defaultCountry: 'IN', importAs: 'opted-out', outputs: 3, wires: [['reply-route'], [], ['reply-route']] },
      // route: answer | no active conversation | timed out
      {
        id: 'reply-route', z: 'reply-tab', type: 'conversation-state', conversation: 'survey', action: 'route', key: 'phone', keyType: 'msg',
        step: '', steps: ['answer'], timeout: '', maxAge: 24, data: '', dataType: 'none', saveAs: '', code: false, outputs: 3,
        wires: [['reply-send'], ['reply-send'], []],
      },
      {
        id: 'reply-send', z: 'reply-tab', type: 'exotel-send', account: 'reply-account', to: 'phone', toType: 'msg', text: REPLY_TEXT, textType: 'str',
        from: '', dltTemplateId: '', smsType: '', priority: '', statusCallback: '', attempts: 4, optOutConfirmation: false, wires: [[], []],
      },
    );
    credentials['reply-account'] = { apiKey: 'bench-key', apiToken: 'bench-secret', webhookToken: WEBHOOK_TOKEN };
  }
  if (naive) {
    flows.push(
      { id: 'naive-in', z: 'reply-tab', type: 'http in', url: naivePath, method: 'post', upload: false, swaggerDoc: '', wires: [['naive-response', 'naive-change']] },
      { id: 'naive-response', z: 'reply-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] },
      {
        id: 'naive-change', z: 'reply-tab', type: 'change', name: 'form for send.json',
        rules: [
          { t: 'set', p: 'payload.To', pt: 'msg', to: 'payload.From', tot: 'msg' },
          { t: 'set', p: 'payload.From', pt: 'msg', to: 'BENCH', tot: 'str' },
          { t: 'set', p: 'payload.Body', pt: 'msg', to: REPLY_TEXT, tot: 'str' },
          { t: 'delete', p: 'payload.SmsSid', pt: 'msg' },
          { t: 'delete', p: 'payload.AccountSid', pt: 'msg' },
          { t: 'set', p: 'headers', pt: 'msg', to: '{"content-type":"application/x-www-form-urlencoded"}', tot: 'json' },
        ],
        wires: [['naive-request']],
      },
      {
        // keep-alive on ("persist"): the strongest naive flow (the default, off, opens a connection a request)
        id: 'naive-request', z: 'reply-tab', type: 'http request', name: 'POST send.json', method: 'POST', ret: 'txt', paytoqs: 'ignore',
        url: `${mockUrl}/v1/Accounts/benchnaive/Sms/send.json`, tls: '', persist: true, proxy: '', insecureHTTPParser: false,
        authType: 'basic', senderr: false, headers: [], wires: [[]],
      },
    );
    credentials['naive-request'] = { user: 'bench-key', password: 'bench-secret' };
  }
  return { flows, credentials, ourPath, naivePath, ourAccount: 'benchreply', naiveAccount: 'benchnaive' };
}

const REPLY_BODIES = ['Hi', 'HELP', 'yes please', '2', 'Where is my order?', 'START', 'ok thanks'];

function replyCallbackBody(sid, phone, i) {
  return `SmsSid=${sid}&From=0${phone}&To=01140123456&Body=${encodeURIComponent(REPLY_BODIES[i % REPLY_BODIES.length])}&AccountSid=benchreply`;
}

async function benchReplyPipeline(config, log) {
  const mock = await new BenchMockExotel().start();
  const { flows, credentials, ourPath, naivePath, ourAccount, naiveAccount } = replyPipelineFlows(mock.url);
  const red = await startNodeRed({ flows, credentials, cpuProfDir: config.cpuProfDir, label: 'reply-pipeline' });
  log(`  Node-RED ${NODE_RED_VERSION} pid ${red.pid} on ${red.baseUrl}; mock Exotel on ${mock.url} (worker thread)`);
  const ourUrl = `${red.baseUrl}${ourPath}?token=${WEBHOOK_TOKEN}`;
  const naiveUrl = `${red.baseUrl}${naivePath}`;
  const contentType = 'application/x-www-form-urlencoded';
  const nextSid = sidGenerator();
  const nextPhone = customerNumbers();
  let counter = 0;
  const keys = { [ourAccount]: { ok: [], sent: [] }, [naiveAccount]: { ok: [], sent: [] } };
  const count = async (accountSid) => (await mock.counts())[accountSid] ?? 0;

  let measured;
  let exitStatus;
  const drains = { [ourAccount]: [], [naiveAccount]: [] };
  try {
    await waitForEndpoints(red, [ourUrl, naiveUrl], (url) => {
      const phone = nextPhone();
      return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: replyCallbackBody(nextSid(), phone, counter++) }).then((res) => {
        const k = keys[url === ourUrl ? ourAccount : naiveAccount];
        k.sent.push(phone);
        if (res.status === 200) k.ok.push(phone);
        return res;
      });
    });
    const makeBody = () => {
      const phone = nextPhone();
      return { key: phone, body: replyCallbackBody(nextSid(), phone, counter++) };
    };
    const runner = (name, url, accountSid) => ({
      name,
      async run(duration) {
        // what the previous run left in flight is sent before this one starts
        await settle(() => count(accountSid), { quietMs: 500 });
        const repliesBefore = await count(accountSid);
        const cpuBefore = red.cpuMs();
        const { result, ok, okKeys, sentKeys } = await load({ url, connections: config.connections, duration, contentType, makeBody, collectKeys: true });
        const cpuAfter = red.cpuMs();
        const repliesAtEnd = await count(accountSid);
        const drained = await settle(() => count(accountSid), { quietMs: 1000, timeoutMs: 120_000 });
        const cpuDrained = red.cpuMs();
        keys[accountSid].ok.push(...okKeys);
        keys[accountSid].sent.push(...sentKeys);
        const replies = repliesAtEnd - repliesBefore;
        const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
        const f = figures(result, ok, cpuMs);
        f.repliesPerSec = round(replies / result.duration, 1);
        // Node-RED's CPU time per reply, the backlog's replies included: all the work a reply costs
        const allReplies = drained.value - repliesBefore;
        f.cpuUsPerReply = cpuBefore === null || cpuDrained === null || !allReplies ? null : round(((cpuDrained - cpuBefore) * 1000) / allReplies, 1);
        // answered 200 but not yet replied to when the load stopped (replies to requests whose 200
        // autocannon had not read when it stopped can make the difference negative: 0 then)
        f.backlogAtEnd = Math.max(0, ok - replies);
        f.drainMs = drained.value === repliesAtEnd ? 0 : round(drained.lastChangeMs, 0); // from the end of the load to the last reply
        // every reply of the round, over the time from the start of the load to the last reply
        f.completedPerSec = round(allReplies / (result.duration + f.drainMs / 1000), 1);
        drains[accountSid].push({ backlogAtEnd: f.backlogAtEnd, drainMs: f.drainMs, timedOut: drained.timedOut });
        log(`    ${name}: ${f.repliesPerSec} replies/s out (${f.reqPerSec} callbacks/s answered), backlog at the end ${f.backlogAtEnd}, drained in ${f.drainMs} ms`);
        return { figures: f };
      },
    });
    measured = await alternate([runner('ours', ourUrl, ourAccount), runner('naive', naiveUrl, naiveAccount)], config, log);
  } finally {
    exitStatus = await red.stop();
  }
  const [ourRecipients, naiveRecipients] = await Promise.all([mock.recipients(ourAccount), mock.recipients(naiveAccount)]);
  await mock.stop();
  const ourMatch = matchReplies(ourRecipients, keys[ourAccount].ok, keys[ourAccount].sent);
  const naiveMatch = matchReplies(naiveRecipients, keys[naiveAccount].ok, keys[naiveAccount].sent);
  const oneEach = (m) => m.ackedWithoutReply === 0 && m.numbersRepliedTwice === 0 && m.repliedNeverSent === 0;
  if (oneEach(ourMatch)) red.remove();
  else log(`  replies do not match callbacks: user dir kept at ${red.userDir}`);

  const summarise = (name) => {
    const rounds = measured.summary[name].rounds;
    return {
      ...measured.summary[name],
      repliesPerSec: round(median(rounds.map((f) => f.repliesPerSec)), 1),
      completedPerSec: round(median(rounds.map((f) => f.completedPerSec)), 1),
      cpuUsPerReply: rounds.every((f) => f.cpuUsPerReply !== null) ? round(median(rounds.map((f) => f.cpuUsPerReply)), 1) : null,
      backlogAtEnd: round(median(rounds.map((f) => f.backlogAtEnd)), 0),
    };
  };
  const ours = summarise('ours');
  const naive = summarise('naive');
  const ratio = (a, b) => (a === null || b === null || !b ? null : round(a / b, 3));
  const ratios = {
    repliesPerSec: ratio(ours.repliesPerSec, naive.repliesPerSec),
    completedPerSec: ratio(ours.completedPerSec, naive.completedPerSec),
    callbacksPerSec: ratio(ours.reqPerSec, naive.reqPerSec),
    p99: ratio(ours.p99Ms, naive.p99Ms),
    cpuPerReply: ratio(ours.cpuUsPerReply, naive.cpuUsPerReply),
  };
  const perRoundRatios = ours.rounds.map((f, i) => ({
    repliesPerSec: round(f.repliesPerSec / naive.rounds[i].repliesPerSec, 3),
    completedPerSec: round(f.completedPerSec / naive.rounds[i].completedPerSec, 3),
  }));
  const targets = [
    { name: 'replies/s ours ≥ 1.0 × naive', target: '≥ 1.0', actual: ratios.repliesPerSec, pass: ratios.repliesPerSec >= 1.0 },
  ];
  const checks = [
    { name: 'ours: every callback answered 200 got one reply', value: `${ourMatch.acked - ourMatch.ackedWithoutReply} of ${ourMatch.acked}`, ok: ourMatch.ackedWithoutReply === 0 },
    { name: 'ours: numbers replied to twice', value: ourMatch.numbersRepliedTwice, ok: ourMatch.numbersRepliedTwice === 0 },
    { name: 'ours: replies to callbacks in flight at a stop (200 not seen)', value: ourMatch.repliedNotAcked - ourMatch.repliedNeverSent, ok: true },
    { name: 'ours: replies to numbers never sent', value: ourMatch.repliedNeverSent, ok: ourMatch.repliedNeverSent === 0 },
    { name: 'naive: every callback answered 200 got one reply', value: `${naiveMatch.acked - naiveMatch.ackedWithoutReply} of ${naiveMatch.acked}`, ok: naiveMatch.ackedWithoutReply === 0 },
    { name: 'naive: numbers replied to twice', value: naiveMatch.numbersRepliedTwice, ok: naiveMatch.numbersRepliedTwice === 0 },
    { name: 'non-2xx / errors (ours / naive)', value: `${ours.non2xx}/${ours.errors + ours.timeouts} / ${naive.non2xx}/${naive.errors + naive.timeouts}`, ok: ours.non2xx + naive.non2xx + ours.errors + naive.errors === 0 },
    { name: 'ours: slowest drain after a round (backlog)', value: `${Math.max(...drains[ourAccount].map((d) => d.drainMs))} ms (${Math.max(...drains[ourAccount].map((d) => d.backlogAtEnd))})`, ok: !drains[ourAccount].some((d) => d.timedOut) },
    { name: 'naive: slowest drain after a round (backlog)', value: `${Math.max(...drains[naiveAccount].map((d) => d.drainMs))} ms (${Math.max(...drains[naiveAccount].map((d) => d.backlogAtEnd))})`, ok: !drains[naiveAccount].some((d) => d.timedOut) },
    { name: 'Node-RED stopped cleanly on SIGINT', value: exitStatus.signal ?? `exit ${exitStatus.code}`, ok: exitStatus.code === 0 },
  ];
  const row = (name, s) => [name, s.repliesPerSec, s.completedPerSec, s.reqPerSec, s.p50Ms, s.p99Ms, s.cpuUsPerReply ?? 'n/a', s.backlogAtEnd];
  return {
    title: `Reply pipeline: inbound → keyword-switch → opt-out check → conversation route → exotel-send vs naive http in → change → http request, to a local mock of Exotel, rate limit lifted (${config.connections} connections, ${config.rounds} × ${config.duration} s, median)`,
    columns: ['flow', 'replies/s out', 'incl. backlog', 'callbacks/s', 'ack p50 ms', 'ack p99 ms', 'CPU µs/reply', 'backlog at end'],
    rows: [
      row('ours (6 package nodes)', ours),
      row('naive (core nodes)', naive),
      ['ours / naive', ratios.repliesPerSec, ratios.completedPerSec, ratios.callbacksPerSec, ratio(ours.p50Ms, naive.p50Ms), ratios.p99, ratios.cpuPerReply ?? 'n/a', ''],
    ],
    targets,
    checks,
    notes: [
      'replies/s out: requests the mock Exotel received while the load ran, a second (the target). incl. backlog: every reply of a round over the time',
      'from the start of its load to its last reply. callbacks/s: callbacks answered 200 a second (both flows answer before they send). backlog at end:',
      'callbacks answered but not yet replied to when the load stopped (all replied to afterwards: see the checks). CPU µs/reply: Node-RED\'s CPU time',
      'from the start of the load to the last reply, a reply. The naive http request node keeps its connections alive (its "persist" option).',
    ],
    data: { flows: { ours, naive }, ratios, perRoundRatios, replies: { ours: ourMatch, naive: naiveMatch }, drains },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. opt-out-check: 1,000,000 numbers in the store: the import, the check exotel-send makes before
// every send, and a restart of Node-RED on that store

/** `count` distinct random Indian mobile numbers in E.164, and `misses` more that are not among them. */
function randomNumbers(count, misses) {
  const seen = new Set();
  const make = () => {
    const bytes = randomBytes(8);
    const lead = 6 + (bytes[0] % 4);
    const rest = (bytes.readUInt32LE(1) % 1_000_000_000).toString().padStart(9, '0');
    return `+91${lead}${rest}`;
  };
  while (seen.size < count) seen.add(make());
  const others = new Set();
  while (others.size < misses) {
    const n = make();
    if (!seen.has(n)) others.add(n);
  }
  return { numbers: [...seen], misses: [...others] };
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Times `check(phone)` around each call (await included when it returns a promise), in µs. */
async function timeChecks(phones, check, into) {
  let found = 0;
  for (const phone of phones) {
    const t0 = process.hrtime.bigint();
    const r = await check(phone);
    const t1 = process.hrtime.bigint();
    into.push(Number(t1 - t0) / 1000);
    if (r) found++;
  }
  return found;
}

/** Checks a second, untimed: the whole list, one after another. */
async function checkRate(phones, check) {
  const t0 = performance.now();
  let found = 0;
  for (const phone of phones) if (await check(phone)) found++;
  const ms = performance.now() - t0;
  return { perSec: round(phones.length / (ms / 1000), 0), found };
}

/** From spawn to the first callback answered 200 on the exotel-inbound endpoint. */
async function timeStart(flows, credentials, storePath, path_, nextBody) {
  const red = await startNodeRed({ flows, credentials, settings: { exotelSms: { storePath } }, label: 'restart' });
  const url = `${red.baseUrl}${path_}?token=${WEBHOOK_TOKEN}`;
  try {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (!red.isRunning()) throw new Error(`Node-RED exited during start-up:\n${red.logTail()}`);
      if (performance.now() > deadline) throw new Error(`no answer within 60 s:\n${red.logTail()}`);
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: nextBody() });
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

async function benchOptOutCheck(config, log) {
  const { SqliteStore } = require(path.join(ROOT, 'dist', 'store'));
  const total = numberFromEnv('BENCH_OPTOUT_NUMBERS', 1_000_000, { integer: true });
  const lookups = numberFromEnv('BENCH_OPTOUT_LOOKUPS', 100_000, { integer: true });
  const restarts = numberFromEnv('BENCH_RESTARTS', 3, { integer: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-optout-'));
  const file = path.join(dir, 'exotel-sms.db');
  const bareFile = (n) => path.join(dir, `bare-${n}.db`);

  log(`  ${total.toLocaleString('en')} random numbers, ${lookups.toLocaleString('en')} lookups (half hits, half misses), store ${file}`);
  const { numbers, misses } = randomNumbers(total, Math.ceil(lookups / 2));

  // Import: the store's importOptStatus (status row + history row + indexes, one transaction) against a
  // bare better-sqlite3 insert of the same numbers into a one-table WAL database, before and after it.
  const bareImport = (n) => {
    const db = new Database(bareFile(n));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec("CREATE TABLE opt_out (phone TEXT PRIMARY KEY, status TEXT NOT NULL) WITHOUT ROWID");
    const insert = db.prepare("INSERT INTO opt_out (phone, status) VALUES (?, 'opted-out')");
    const t0 = performance.now();
    db.transaction(() => {
      for (const phone of numbers) insert.run(phone);
    })();
    const ms = performance.now() - t0;
    db.close();
    fs.rmSync(bareFile(n), { force: true });
    return round(ms, 0);
  };
  const bareBefore = bareImport(1);
  log(`  bare insert of ${total.toLocaleString('en')} numbers: ${bareBefore} ms`);
  let store = new SqliteStore(file);
  let t0 = performance.now();
  const imported = await store.importOptStatus(numbers, 'opted-out', 'import');
  const importMs = round(performance.now() - t0, 0);
  log(`  store.importOptStatus: ${importMs} ms (${imported.changed} changed)`);
  t0 = performance.now();
  await store.close();
  const closeMs = round(performance.now() - t0, 0);
  const bareAfter = bareImport(2);
  log(`  bare insert again: ${bareAfter} ms; store closed (checkpoint) in ${closeMs} ms`);
  const bareImportMs = (bareBefore + bareAfter) / 2;
  const fileMB = round(fs.statSync(file).size / 2 ** 20, 1);

  // Lookups: the store's isOptedOut (awaited, as exotel-send calls it) against a bare prepared
  // SELECT on a connection of its own, and a Map in memory, in alternating blocks.
  store = new SqliteStore(file);
  const bareDb = new Database(file, { readonly: true });
  const bareSelect = bareDb.prepare("SELECT 1 FROM opt_out WHERE phone = ? AND status = 'opted-out'").pluck();
  const map = new Map(numbers.map((n) => [n, 'opted-out']));
  const hits = shuffle([...numbers]).slice(0, Math.floor(lookups / 2));
  const list = shuffle([...hits, ...misses.slice(0, lookups - hits.length)]);
  const methods = {
    store: (phone) => store.isOptedOut(phone),
    bareSql: (phone) => bareSelect.get(phone) === 1,
    map: (phone) => map.get(phone) === 'opted-out',
  };
  const samples = { store: [], bareSql: [], map: [] };
  const found = { store: 0, bareSql: 0, map: 0 };
  // warm-up: the first pages come from the OS cache into SQLite's
  for (const name of Object.keys(methods)) await timeChecks(list.slice(0, 5000), methods[name], []);
  const blocks = 10;
  const size = Math.ceil(list.length / blocks);
  for (let b = 0; b < blocks; b++) {
    const part = list.slice(b * size, (b + 1) * size);
    const order = b % 2 === 0 ? ['store', 'bareSql', 'map'] : ['map', 'bareSql', 'store'];
    for (const name of order) found[name] += await timeChecks(part, methods[name], samples[name]);
  }
  const rates = {};
  for (const name of ['store', 'bareSql', 'map']) rates[name] = await checkRate(list, methods[name]);
  const stats = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, percentiles(values, [50, 90, 99, 99.9])]));
  const correct = found.store === hits.length && found.bareSql === hits.length && found.map === hits.length;
  const optedOutCount = await store.optedOutCount();
  bareDb.close();
  await store.close();
  log(`  isOptedOut p50 ${round(stats.store.p50, 2)} µs p99 ${round(stats.store.p99, 2)} µs; bare SELECT p50 ${round(stats.bareSql.p50, 2)} µs p99 ${round(stats.bareSql.p99, 2)} µs; Map p50 ${round(stats.map.p50, 2)} µs`);

  // Restart: Node-RED with the reply pipeline on the 1M store, against the same start on an empty store.
  const mock = await new BenchMockExotel().start();
  const { flows, credentials, ourPath } = replyPipelineFlows(mock.url, { naive: false });
  const nextSid = sidGenerator();
  const nextPhone = customerNumbers(50_000_000);
  let i = 0;
  const nextBody = () => replyCallbackBody(nextSid(), nextPhone(), i++);
  const starts = { empty: [], full: [] };
  try {
    for (let r = 0; r < restarts; r++) {
      for (const kind of r % 2 === 0 ? ['empty', 'full'] : ['full', 'empty']) {
        const storePath = kind === 'full' ? file : path.join(dir, `empty-${r}.db`);
        const ms = await timeStart(flows, credentials, storePath, ourPath, nextBody);
        starts[kind].push(ms);
        log(`  start ${r + 1}/${restarts} ${kind.padEnd(5)} store: first callback answered ${ms} ms after spawn`);
      }
    }
  } finally {
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const startEmpty = median(starts.empty);
  const startFull = median(starts.full);

  const r = (v, d = 2) => (v === null ? 'n/a' : round(v, d));
  const ratio = (a, b) => round(a / b, 2);
  const targets = [
    { name: `import of ${total.toLocaleString('en')} numbers ≤ 15 s`, target: '≤ 15000 ms', actual: `${importMs} ms`, pass: importMs <= 15_000 },
    { name: 'isOptedOut p99 ≤ 50 µs', target: '≤ 50 µs', actual: `${r(stats.store.p99)} µs`, pass: stats.store.p99 <= 50 },
    { name: `start to first callback, ${total.toLocaleString('en')} numbers stored, ≤ 2 s`, target: '≤ 2000 ms', actual: `${startFull} ms`, pass: startFull <= 2000 },
  ];
  const checks = [
    { name: 'every lookup right (hits found, misses not)', value: `${found.store} / ${found.bareSql} / ${found.map} of ${hits.length}`, ok: correct },
    { name: 'opted-out count in the store', value: optedOutCount, ok: optedOutCount === total },
    { name: 'store file size', value: `${fileMB} MB`, ok: true },
  ];
  return {
    title: `Opt-out check with ${total.toLocaleString('en')} numbers stored (${lookups.toLocaleString('en')} lookups, half hits; ${restarts} starts each, median)`,
    columns: ['measure', 'ours', 'baseline', 'baseline is', 'ours / baseline'],
    rows: [
      [`import ${total.toLocaleString('en')} numbers, ms`, importMs, bareImportMs, 'bare INSERT, 1 table', ratio(importMs, bareImportMs)],
      ['check p50, µs', r(stats.store.p50), r(stats.bareSql.p50), 'bare prepared SELECT', ratio(stats.store.p50, stats.bareSql.p50)],
      ['check p99, µs', r(stats.store.p99), r(stats.bareSql.p99), 'bare prepared SELECT', ratio(stats.store.p99, stats.bareSql.p99)],
      ['check p99.9, µs', r(stats.store['p99.9']), r(stats.bareSql['p99.9']), 'bare prepared SELECT', ratio(stats.store['p99.9'], stats.bareSql['p99.9'])],
      ['checks a second', rates.store.perSec, rates.bareSql.perSec, 'bare prepared SELECT', ratio(rates.store.perSec, rates.bareSql.perSec)],
      ['check p50 / p99, µs', `${r(stats.store.p50)} / ${r(stats.store.p99)}`, `${r(stats.map.p50)} / ${r(stats.map.p99)}`, 'Map.get in memory', `${ratio(stats.store.p50, stats.map.p50)} / ${ratio(stats.store.p99, stats.map.p99)}`],
      ['checks a second', rates.store.perSec, rates.map.perSec, 'Map.get in memory', ratio(rates.store.perSec, rates.map.perSec)],
      ['start → first callback 200, ms', startFull, startEmpty, 'same start, empty store', ratio(startFull, startEmpty)],
    ],
    targets,
    checks,
    data: {
      numbers: total,
      lookups: list.length,
      import: { ms: importMs, closeMs, bareMs: [bareBefore, bareAfter], result: imported, fileMB },
      check: { store: stats.store, bareSql: stats.bareSql, map: stats.map, perSec: rates },
      start: { fullMs: starts.full, emptyMs: starts.empty, medianFullMs: startFull, medianEmptyMs: startEmpty },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 4. conversations-memory: the Node-RED process's memory with 100,000 active conversations

/**
 * settings.js code that lets a function node read the process's memory and collect garbage
 * (Node-RED's function nodes see neither `process` nor `gc`); the child runs with --expose-gc.
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

function conversationMemoryFlows() {
  const flows = [
    { id: 'conv-tab', type: 'tab', label: 'conversations' },
    // conversations are held in the store: the account is only there for the nodes' shared runtime
    { id: 'conv-in', z: 'conv-tab', type: 'http in', url: '/bench/conversation/start', method: 'post', upload: false, swaggerDoc: '', wires: [['conv-start']] },
    {
      id: 'conv-start', z: 'conv-tab', type: 'conversation-state', conversation: 'appointment', action: 'start', key: 'payload.phone', keyType: 'msg',
      step: 'confirm', steps: [], timeout: 60, maxAge: 24, data: 'payload', dataType: 'msg', saveAs: '', code: false, outputs: 1, wires: [['conv-response']],
    },
    { id: 'conv-response', z: 'conv-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] },
    // the route node of the same conversation: its timers look for due deadlines as in a real flow
    {
      id: 'conv-route', z: 'conv-tab', type: 'conversation-state', conversation: 'appointment', action: 'route', key: 'phone', keyType: 'msg',
      step: '', steps: ['confirm'], timeout: '', maxAge: 24, data: '', dataType: 'none', saveAs: '', code: false, outputs: 3, wires: [[], [], []],
    },
    { id: 'bare-in', z: 'conv-tab', type: 'http in', url: '/bench/bare', method: 'post', upload: false, swaggerDoc: '', wires: [['bare-response']] },
    { id: 'bare-response', z: 'conv-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] },
    { id: 'mem-in', z: 'conv-tab', type: 'http in', url: '/bench/memory', method: 'get', upload: false, swaggerDoc: '', wires: [['mem-fn']] },
    {
      id: 'mem-fn', z: 'conv-tab', type: 'function', name: 'gc, then memory', outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [],
      func: [
        "const gc = global.get('benchGc');",
        "const memory = global.get('benchMemory');",
        'let n = 0;',
        'const step = () => {',
        '  const collected = gc();',
        '  if (++n < 5) return setTimeout(step, 100);',
        '  msg.payload = { ...memory(), collected };',
        '  node.send(msg);',
        '};',
        'step();',
        'return null;',
      ].join('\n'),
      wires: [['mem-response']],
    },
    { id: 'mem-response', z: 'conv-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] },
  ];
  return { flows, credentials: {} };
}

async function benchConversationsMemory(config, log) {
  const total = numberFromEnv('BENCH_CONVERSATIONS', 100_000, { integer: true });
  const warm = Math.min(5_000, total);
  const { flows, credentials } = conversationMemoryFlows();
  const red = await startNodeRed({ flows, credentials, nodeArgs: ['--expose-gc'], settingsCode: MEMORY_SETTINGS_CODE, cpuProfDir: config.cpuProfDir, label: 'conversations' });
  log(`  Node-RED ${NODE_RED_VERSION} pid ${red.pid} on ${red.baseUrl} (--expose-gc)`);
  const startUrl = `${red.baseUrl}/bench/conversation/start`;
  const bareUrl = `${red.baseUrl}/bench/bare`;
  const memoryUrl = `${red.baseUrl}/bench/memory`;
  const contentType = 'application/x-www-form-urlencoded';
  const nextPhone = customerNumbers(20_000_000);
  const makeBody = () => {
    const phone = nextPhone();
    return { key: phone, body: `phone=0${phone}&date=Jan+20&time=3+PM&clinic=Koramangala&doctor=Dr+Rao` };
  };
  const memory = async () => {
    const res = await fetch(memoryUrl);
    if (res.status !== 200) throw new Error(`memory endpoint answered ${res.status}`);
    return res.json();
  };
  const MB = (bytes) => round(bytes / 2 ** 20, 1);
  const drive = async (url, amount) => {
    const t0 = performance.now();
    const { result, ok } = await load({ url, connections: config.connections, amount, contentType, makeBody });
    return { ok, non2xx: result.non2xx, errors: result.errors + result.timeouts, seconds: round((performance.now() - t0) / 1000, 1), reqPerSec: round(result.requests.average, 0) };
  };

  let samples;
  let runs;
  let exitStatus;
  try {
    await waitForEndpoints(red, [startUrl, bareUrl, memoryUrl], (url) =>
      url === memoryUrl ? fetch(url) : fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: makeBody().body }),
    );
    const first = await memory();
    if (!first.collected) throw new Error('the child cannot collect garbage (--expose-gc missing)');
    // warm-up: both endpoints, so that code, pools and caches are in their working state before the baseline
    log(`  warm-up: ${warm} requests each`);
    await drive(bareUrl, warm);
    await drive(startUrl, warm);
    const before = await memory();
    log(`  before: RSS ${MB(before.rss)} MB, heap ${MB(before.heapUsed)} MB`);
    // baseline: the same number of requests through a bare http in → http response flow
    const bare = await drive(bareUrl, total);
    const afterBare = await memory();
    log(`  after ${total.toLocaleString('en')} bare requests (${bare.reqPerSec} req/s): RSS ${MB(afterBare.rss)} MB, heap ${MB(afterBare.heapUsed)} MB`);
    const ours = await drive(startUrl, total);
    const afterOurs = await memory();
    log(`  after ${total.toLocaleString('en')} conversation starts (${ours.reqPerSec} req/s): RSS ${MB(afterOurs.rss)} MB, heap ${MB(afterOurs.heapUsed)} MB`);
    // the route node's timers run over the conversations for a few seconds
    await wait(3_000);
    const settled = await memory();
    samples = { first, before, afterBare, afterOurs, settled };
    runs = { bare, ours };
  } finally {
    exitStatus = await red.stop();
  }
  const db = new Database(red.storePath, { readonly: true, fileMustExist: true });
  const active = db.prepare("SELECT COUNT(*) FROM conversation WHERE name = 'appointment' AND expires_at > ?").pluck().get(Date.now());
  const withDeadline = db.prepare("SELECT COUNT(*) FROM conversation WHERE name = 'appointment' AND deadline_at IS NOT NULL").pluck().get();
  db.close();
  const storeMB = MB(fs.statSync(red.storePath).size);
  const expected = warm + total + 1; // + the probe
  if (active >= warm + total) red.remove();
  else log(`  fewer conversations than starts: user dir kept at ${red.userDir}`);

  const { before, afterBare, afterOurs, settled } = samples;
  const growth = (a, b, key) => MB(b[key] - a[key]);
  const bareGrowth = { rss: growth(before, afterBare, 'rss'), heap: growth(before, afterBare, 'heapUsed') };
  const ourGrowth = { rss: growth(afterBare, afterOurs, 'rss'), heap: growth(afterBare, afterOurs, 'heapUsed') };
  const totalGrowth = { rss: growth(before, afterOurs, 'rss'), heap: growth(before, afterOurs, 'heapUsed') };
  const ratio = (a, b) => round(a / b, 3);
  const targets = [
    { name: `RSS growth with ${total.toLocaleString('en')} conversations ≤ 150 MB`, target: '≤ 150 MB', actual: `${ourGrowth.rss} MB`, pass: ourGrowth.rss <= 150 },
    { name: `heap growth with ${total.toLocaleString('en')} conversations ≤ 150 MB`, target: '≤ 150 MB', actual: `${ourGrowth.heap} MB`, pass: ourGrowth.heap <= 150 },
  ];
  const checks = [
    { name: 'active conversations in the store (warm-up + starts + probe)', value: `${active} of ${expected}`, ok: active >= warm + total },
    { name: 'with a deadline (no reply within 60 min)', value: withDeadline, ok: withDeadline === active },
    { name: 'non-2xx / errors (starts / bare)', value: `${runs.ours.non2xx}/${runs.ours.errors} / ${runs.bare.non2xx}/${runs.bare.errors}`, ok: runs.ours.non2xx + runs.ours.errors + runs.bare.non2xx + runs.bare.errors === 0 },
    { name: 'store file', value: `${storeMB} MB`, ok: true },
    { name: 'Node-RED stopped cleanly on SIGINT', value: exitStatus.signal ?? `exit ${exitStatus.code}`, ok: exitStatus.code === 0 },
  ];
  const row = (name, a, b) => [name, MB(b.rss), MB(b.rss - a.rss), MB(b.heapUsed), MB(b.heapUsed - a.heapUsed), MB(b.external), MB(b.peakRss ?? 0)];
  return {
    title: `${total.toLocaleString('en')} active conversations: memory of the Node-RED process after GC, against the same number of bare http in → http response requests`,
    columns: ['after', 'RSS MB', 'RSS growth', 'heap MB', 'heap growth', 'external MB', 'peak RSS MB'],
    rows: [
      ['warm-up (the start)', MB(before.rss), '', MB(before.heapUsed), '', MB(before.external), MB(before.peakRss ?? 0)],
      row(`+ ${total.toLocaleString('en')} bare requests (baseline)`, before, afterBare),
      row(`+ ${total.toLocaleString('en')} conversation starts`, afterBare, afterOurs),
      row('+ 3 s of the route node’s timers', afterBare, settled),
      // a ratio of growths means nothing when the baseline's is about 0: the difference says it
      ['starts − bare growth, MB', '', round(ourGrowth.rss - bareGrowth.rss, 1), '', round(ourGrowth.heap - bareGrowth.heap, 1), '', ''],
      ['after / before', ratio(afterOurs.rss, before.rss), '', ratio(afterOurs.heapUsed, before.heapUsed), '', '', ''],
    ],
    targets,
    checks,
    data: { conversations: total, warm, active, withDeadline, storeMB, memory: samples, growthMB: { bare: bareGrowth, ours: ourGrowth, total: totalGrowth }, runs },
  };
}

// ---------------------------------------------------------------------------------------------
// 5a. send-overhead: what exotel-send adds to a bare undici request to the same mock, one message at
// a time. In this process, with node-red-node-test-helper (the nodes' own runtime, no HTTP in front).

const SEND_TEXT = 'Your order #12345 has shipped and will reach you by Jan 22. Track it at example.com/t/12345';

async function benchSendOverhead(config, log) {
  const perSide = numberFromEnv('BENCH_SEND_MESSAGES', 2_000, { integer: true });
  const warm = 300;
  const { Pool, request } = require('undici');
  const red = require(path.join(ROOT, 'test', 'support', 'red.js'));
  const mock = await new BenchMockExotel().start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-send-'));
  red.settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db') } });
  const flow = [
    { id: 'send-tab', type: 'tab' },
    { id: 'acc-fast', type: 'exotel-account', accountSid: 'benchsend', apiBaseUrl: mock.url, defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 100_000_000 },
    { id: 'send-fast', z: 'send-tab', type: 'exotel-send', account: 'acc-fast', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', attempts: 4, wires: [['sent-fast'], ['failed-fast']] },
    { id: 'sent-fast', z: 'send-tab', type: 'helper' },
    { id: 'failed-fast', z: 'send-tab', type: 'helper' },
  ];
  const creds = { 'acc-fast': { apiKey: 'bench-key', apiToken: 'bench-secret' } };

  // (a) the bare request: what any client must do, built the same way (form body, Basic auth,
  // keep-alive pool of 8 like the package's client, the JSON answer read and parsed)
  const pool = new Pool(mock.url, { connections: 8, pipelining: 1, keepAliveTimeout: 30_000 });
  const authorization = 'Basic ' + Buffer.from('bench-key:bench-secret').toString('base64');
  const bareUrl = `${mock.url}/v1/Accounts/benchbare/Sms/send.json`;
  const bare = async (phone) => {
    const body = new URLSearchParams({ From: 'BENCH', To: phone, Body: SEND_TEXT, EncodingType: 'plain' }).toString();
    const res = await request(bareUrl, {
      dispatcher: pool, method: 'POST', body,
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    });
    const json = JSON.parse(await res.body.text());
    if (res.statusCode !== 200 || !json.SMSMessage?.Sid) throw new Error(`bare request answered ${res.statusCode}`);
  };

  let result;
  try {
    await red.load(flow, creds);
    // The helper wraps every Node method (send, status, metric, log…) in a sinon spy that records each
    // call: a cost on the node's side only, and no part of Node-RED. Unwrapped again here.
    red.helper._sandbox?.restore?.();
    const sendNode = red.helper.getNode('send-fast');
    let waiter = null;
    red.helper.getNode('sent-fast').on('input', (msg) => waiter?.resolve(msg));
    red.helper.getNode('failed-fast').on('input', (msg) => waiter?.reject(new Error(`exotel-send failed: ${JSON.stringify(msg.error)}`)));
    // (b) from the message given to the node to the message on its "sent" output
    const viaNode = (phone) =>
      new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        // as a reply goes out: the customer's number in E.164 and the inbound SMS it answers
        sendNode.receive({ payload: SEND_TEXT, phone, sms: { sid: randomUUID().replaceAll('-', '') } });
      });
    const nextPhone = customerNumbers(30_000_000);
    const ways = { bare, node: viaNode };
    const samples = { bare: [], node: [] };
    const timeBlock = async (name, count, into) => {
      for (let i = 0; i < count; i++) {
        const phone = `+91${nextPhone()}`;
        const t0 = process.hrtime.bigint();
        await ways[name](phone);
        into?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    log(`  warm-up: ${warm} messages each`);
    await timeBlock('bare', warm);
    await timeBlock('node', warm);
    const blocks = 8;
    const size = Math.ceil(perSide / blocks);
    const blockP50 = { bare: [], node: [] };
    for (let b = 0; b < blocks; b++) {
      for (const name of b % 2 === 0 ? ['bare', 'node'] : ['node', 'bare']) {
        const part = [];
        await timeBlock(name, size, part);
        samples[name].push(...part);
        blockP50[name].push(percentiles(part).p50);
      }
    }
    const stats = { bare: percentiles(samples.bare), node: percentiles(samples.node) };
    log(`  bare p50 ${round(stats.bare.p50, 3)} ms p99 ${round(stats.bare.p99, 3)} ms; exotel-send p50 ${round(stats.node.p50, 3)} ms p99 ${round(stats.node.p99, 3)} ms`);
    result = { stats, counts: await mock.counts(), blockP50, timed: size * blocks };
  } finally {
    await red.helper.unload().catch(() => undefined);
    await pool.close();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const { stats, counts, blockP50, timed } = result;
  const diffP50 = round(stats.node.p50 - stats.bare.p50, 3);
  const blockDiffs = blockP50.node.map((p, i) => round(p - blockP50.bare[i], 3));
  const r3 = (v) => round(v, 3);
  const row = (label, key) => [label, r3(stats.node[key]), r3(stats.bare[key]), r3(stats.node[key] - stats.bare[key]), round(stats.node[key] / stats.bare[key], 2)];
  return {
    title: `Sending one message at a time: exotel-send in Node-RED (message in → "sent" out) vs a bare undici POST to the same mock (${timed} each, 8 alternating blocks)`,
    columns: ['per message, ms', 'exotel-send', 'bare undici', 'difference', 'ratio'],
    rows: [row('p50', 'p50'), row('p90', 'p90'), row('p99', 'p99'), row('mean', 'mean')],
    targets: [{ name: 'exotel-send p50 − bare undici p50 ≤ 0.5 ms', target: '≤ 0.5 ms', actual: `${diffP50} ms`, pass: diffP50 <= 0.5 }],
    checks: [
      { name: 'requests at the mock (exotel-send / bare)', value: `${counts.benchsend} / ${counts.benchbare} of ${timed + warm} each`, ok: counts.benchsend === timed + warm && counts.benchbare === timed + warm },
      { name: 'p50 difference per block pair, ms', value: blockDiffs.join(' '), ok: true },
    ],
    data: { messages: timed, warm, bare: stats.bare, node: stats.node, p50DifferenceMs: diffP50, blockP50, blockDiffs },
  };
}

// ---------------------------------------------------------------------------------------------
// 5b. rate-limit: the account's default limit (200 a minute) under continuous load, in real time
// (bench/rate-limit.js). It waits nearly all the time, so a full run starts it first, in a child
// process, and collects it at the end: two minutes of waiting would not fit otherwise.

function startRateLimitChild(log) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'rate-limit.js')], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of String(d).split('\n').filter(Boolean)) if (line.startsWith('    rate limit')) log(line);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench/rate-limit.js exited with ${code}:\n${err.slice(-4000)}`));
      try {
        resolve({ ...JSON.parse(out), stderr: err.trim() });
      } catch (e) {
        reject(new Error(`bench/rate-limit.js printed no result: ${e.message}\n${err.slice(-4000)}`));
      }
    });
  });
}

async function benchRateLimit(config, log) {
  const background = config.background?.['rate-limit'];
  if (background) log('  (started in the background at the beginning of the run)');
  else log(`  ${process.env.BENCH_RATE_SECONDS || 125} s in real time`);
  const run = await (background ?? startRateLimitChild(log));
  const { loadStart, loadEnd, offered, sent, failed, failures, offeredPerSec, seconds, warnings } = run;
  const arrivals = [...run.arrivals].sort((a, b) => a - b);
  const limit = 200;
  // counted as Exotel would count them: when the requests arrive
  const T0 = arrivals[0] ?? loadStart;
  const fullMinutes = Math.floor((loadEnd - T0) / 60_000);
  const perMinute = [];
  for (let m = 0; m < fullMinutes; m++) perMinute.push(arrivals.filter((t) => t >= T0 + m * 60_000 && t < T0 + (m + 1) * 60_000).length);
  let maxWindow = 0;
  let maxWindowAt = null;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while (j < arrivals.length && arrivals[j] < arrivals[i] + 60_000) j++;
    if (j - i > maxWindow) {
      maxWindow = j - i;
      maxWindowAt = arrivals[i] - T0;
    }
  }
  // the tightest gap between a request and the one `limit` later (≥ 60 000 ms keeps every window at ≤ limit)
  let minGap = null;
  for (let i = 0; i + limit < arrivals.length; i++) {
    const gap = arrivals[i + limit] - arrivals[i];
    if (minGap === null || gap < minGap) minGap = gap;
  }
  const within = (n) => n >= limit * 0.98 && n <= limit;
  const meanPerMinute = perMinute.length ? perMinute.reduce((a, b) => a + b, 0) / perMinute.length : null;
  const warned = [...new Set(warnings)];
  return {
    title: `Rate limit: one exotel-send node, the account's default limit (${limit} a minute), ${offeredPerSec} messages a second offered for ${seconds} s, counted where the mock Exotel receives them`,
    columns: ['measure', 'sends', 'baseline', 'baseline is', 'ratio'],
    rows: [
      ...perMinute.map((n, m) => [`minute ${m + 1} from the first send`, n, limit, 'the limit', round(n / limit, 3)]),
      ['mean of the full minutes', meanPerMinute === null ? 'n/a' : round(meanPerMinute, 1), limit, 'the limit', meanPerMinute === null ? 'n/a' : round(meanPerMinute / limit, 3)],
      ['most in any 60 s window', maxWindow, limit, 'the limit', round(maxWindow / limit, 3)],
      ['offered a minute', round(offeredPerSec * 60, 0), limit, 'the limit', round((offeredPerSec * 60) / limit, 2)],
    ],
    targets: [
      { name: `sends in each full minute within 2% of ${limit}`, target: `${limit * 0.98}–${limit}`, actual: perMinute.join(', ') || 'no full minute', pass: perMinute.length > 0 && perMinute.every(within) },
      { name: `most sends in any 60 s window ≤ ${limit}`, target: `≤ ${limit}`, actual: maxWindow, pass: maxWindow <= limit },
    ],
    checks: [
      { name: 'full minutes observed', value: perMinute.length, ok: perMinute.length >= 2 },
      { name: 'offered / sent / failed / requests at the mock', value: `${offered} / ${sent} / ${failed} / ${arrivals.length}`, ok: failed === 0 && sent === arrivals.length },
      { name: `shortest time from a request to the ${limit}th after it`, value: minGap === null ? 'n/a' : `${minGap} ms`, ok: minGap === null || minGap >= 60_000 },
      { name: 'busiest 60 s window starts', value: maxWindowAt === null ? 'n/a' : `${round(maxWindowAt / 1000, 3)} s after the first send`, ok: true },
      { name: 'first send after the load began', value: `${T0 - loadStart} ms`, ok: true },
      { name: 'process warnings', value: warned.length ? `${warned.length}: ${warned[0].slice(0, 90)}…` : 'none', ok: warned.length === 0 },
    ],
    data: { limit, seconds, offeredPerSec, offered, sent, failed, failures, perMinute, maxWindow, maxWindowAtMs: maxWindowAt, minGapMs: minGap, firstSendAfterMs: T0 - loadStart, warnings: warned, arrivalsFromFirstMs: arrivals.map((t) => t - T0) },
  };
}

const BENCHMARKS = {
  'inbound-ack': benchInboundAck,
  'reply-pipeline': benchReplyPipeline,
  'opt-out-check': benchOptOutCheck,
  'conversations-memory': benchConversationsMemory,
  'send-overhead': benchSendOverhead,
  'rate-limit': benchRateLimit,
};

/** Benchmarks that mostly wait: a run of several starts these first, in a child process, and reports them last. */
const BACKGROUND = { 'rate-limit': startRateLimitChild };

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
  if (bench.notes?.length) {
    console.log('');
    for (const note of bench.notes) console.log(note);
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
  // The store's checkpoint worker is unref'd: awaiting its exit (store.close()) with nothing else
  // pending would let the process end mid-benchmark.
  const keepAlive = setInterval(() => undefined, 60_000);
  config.background = {};
  if (names.length > 1) {
    for (const name of names.filter((n) => BACKGROUND[n])) {
      log(`${name}: started in the background`);
      config.background[name] = BACKGROUND[name](log);
      config.background[name].catch(() => undefined); // reported when its turn comes
    }
  }
  const ordered = [...names.filter((n) => !config.background[n]), ...names.filter((n) => config.background[n])];
  for (const name of ordered) {
    log(`${name}:`);
    const bench = await BENCHMARKS[name](config, log);
    report.benchmarks[name] = {
      title: bench.title, table: { columns: bench.columns, rows: bench.rows }, targets: bench.targets, checks: bench.checks,
      ...(bench.notes ? { notes: bench.notes } : {}), ...bench.data,
    };
    printBenchmark(name, bench);
  }
  clearInterval(keepAlive);
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
