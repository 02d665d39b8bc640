// Shared tools of the failure drills (test/drills): a seeded random source, a bounded-concurrency
// runner, an HTTP client that never throws (a reset is a result, not an exception), the example
// flows switched to live against a mock, a read-only look into the store file, and the compliance
// check every drill runs at its end.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const Database = require('better-sqlite3');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

// ---------------------------------------------------------------------------------------------
// Randomness: every drill is reproducible from its seed (DRILL_SEED overrides the default).

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedFromEnv(fallback) {
  const text = process.env.DRILL_SEED;
  return text && /^\d+$/.test(text) ? Number(text) : fallback;
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

/** `weighted(random, [[3, 'a'], [1, 'b']])` is 'a' three times in four. */
function weighted(random, table) {
  const total = table.reduce((n, [w]) => n + w, 0);
  let r = random() * total;
  for (const [w, value] of table) {
    if ((r -= w) < 0) return value;
  }
  return table[table.length - 1][1];
}

/** An SmsSid like Exotel's (32 hex characters), from the seeded source. */
function smsSid(random) {
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

/** Distinct valid Indian mobile numbers, E.164: +91 9 8xxxxxxxx from a start index. */
function indianMobile(i) {
  return `+9198${String(10_000_000 + i).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/**
 * Runs `fn(item, index)` over `items` with at most `concurrency` at once. `stop()` returning true
 * stops starting new ones. Resolves with the results, in order (undefined for those not started).
 */
async function runPool(items, concurrency, fn, { stop = () => false } = {}) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await wait(25);
  }
}

/**
 * Waits until `signature()` (any JSON-able value) has not changed for `quietMs`; resolves with it.
 * Fails after `timeoutMs`.
 */
async function settle(signature, { quietMs = 1500, timeoutMs = 60_000, what = 'the system to settle' } = {}) {
  const end = Date.now() + timeoutMs;
  let last = JSON.stringify(await signature());
  let since = Date.now();
  for (;;) {
    await wait(100);
    const now = JSON.stringify(await signature());
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return JSON.parse(now);
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${now.slice(0, 300)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/**
 * One request; never rejects. Resolves with {status, headers, body (Buffer), ms} or
 * {status: null, error: code, ms} when no response came (reset, refused, timeout).
 */
function httpRequest({ url, method = 'POST', headers = {}, body, agent, timeoutMs = 30_000, chunks }) {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      resolve({ ms: Date.now() - started, ...result });
    };
    let req;
    try {
      req = http.request(url, { method, headers, agent });
    } catch (err) {
      finish({ status: null, error: `client:${err.code ?? err.message}` });
      return;
    }
    req.setTimeout(timeoutMs, () => {
      req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' }));
    });
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', (err) => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), error: err.code ?? err.message }));
    });
    // A response may have come before the upload ended (413 on a huge body): the later EPIPE/reset
    // of the upload is then not a failure of the server.
    req.on('error', (err) => finish({ status: null, error: err.code ?? err.message }));
    if (chunks) {
      // a streamed (chunked) body, written piece by piece
      let i = 0;
      const write = () => {
        while (i < chunks.length) {
          if (req.destroyed) return;
          if (!req.write(chunks[i++])) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    } else {
      req.end(body);
    }
  });
}

/**
 * Raw bytes on a TCP socket (requests Node's client refuses to make); resolves with the status of the
 * response's first line, or {status: null, error} when the socket closed without one.
 */
function rawRequest({ host, port, bytes, timeoutMs = 10_000 }) {
  const started = Date.now();
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ ms: Date.now() - started, ...result });
    };
    const socket = net.connect({ host, port }, () => socket.end(bytes));
    socket.setTimeout(timeoutMs, () => finish({ status: null, error: 'CLIENT_TIMEOUT' }));
    socket.on('data', (c) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m && data.includes('\r\n\r\n')) finish({ status: Number(m[1]) });
    });
    socket.on('error', (err) => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      finish(m ? { status: Number(m[1]) } : { status: null, error: err.code ?? err.message });
    });
    socket.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      finish(m ? { status: Number(m[1]) } : { status: null, error: 'closed without a response' });
    });
  });
}

/** Posts an inbound SMS as Exotel does (form fields). */
function postCallback(base, webhookPath, token, fields, agent) {
  return httpRequest({
    url: `${base}${webhookPath}?token=${encodeURIComponent(token)}`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    agent,
  });
}

// ---------------------------------------------------------------------------------------------
// Flows

function readExample(name) {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
}

/**
 * An example flow with every exotel-account switched from sandbox to live against `mockUrl`
 * (and the given SID, rate limit and credentials): the change a user makes to go live.
 */
function liveExample(name, { mockUrl, accountSid = 'drillacct', rateLimit, credentials }) {
  const flow = readExample(name);
  const creds = {};
  for (const node of flow) {
    if (node.type === 'exotel-account') {
      node.mode = 'live';
      node.apiBaseUrl = mockUrl;
      node.accountSid = accountSid;
      if (rateLimit !== undefined) node.rateLimit = rateLimit;
      creds[node.id] = { ...credentials };
    }
  }
  return { flow, credentials: creds };
}

// ---------------------------------------------------------------------------------------------
// The store file, from outside (a second connection, read-only)

function openStoreFile(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const q = (sql, ...args) => db.prepare(sql).all(...args);
  return {
    db,
    inboundSids: () => new Set(db.prepare('SELECT sid FROM inbound').pluck().all()),
    inbound: () => q('SELECT * FROM inbound'),
    unhandled: () => db.prepare('SELECT COUNT(*) FROM inbound WHERE handled = 0').pluck().get(),
    optedOut: () => new Set(db.prepare("SELECT phone FROM opt_out WHERE status = 'opted-out'").pluck().all()),
    history: () => q('SELECT phone, status, keyword, source, at FROM opt_out_history ORDER BY id'),
    conversations: (name) => q('SELECT * FROM conversation WHERE name = ?', name),
    outbox: () => (hasTable(db, 'outbox') ? q('SELECT * FROM outbox') : []),
    close: () => db.close(),
  };
}

function hasTable(db, name) {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

/** Runs `fn(store)` on a short-lived read-only connection. */
function withStoreFile(file, fn) {
  const store = openStoreFile(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Compliance: the mock API never receives a message to an opted-out number, except the one
// opt-out confirmation.

/**
 * `requests`: what the mock received, [{to, body, at, answered}] (every request, whatever it was
 * answered: a request is a message handed to Exotel). `history`: the store's opt_out_history rows
 * ({phone, status, at}). A request to a number whose last change before the request was an opt-out
 * is a violation unless `isConfirmation(body)`; of those confirmations, at most one per opt-out may
 * be accepted by the API (answered 200). Returns {checked, toOptedOut, confirmations, violations}.
 */
function checkCompliance({ requests, history, isConfirmation }) {
  const byPhone = new Map();
  for (const row of history) {
    if (!byPhone.has(row.phone)) byPhone.set(row.phone, []);
    byPhone.get(row.phone).push(row);
  }
  for (const rows of byPhone.values()) rows.sort((a, b) => a.at - b.at);
  const violations = [];
  const acceptedConfirmations = new Map(); // "phone@optOutAt" → count
  let toOptedOut = 0;
  let confirmations = 0;
  for (const r of requests) {
    const rows = byPhone.get(r.to);
    if (!rows) continue;
    let last = null;
    for (const row of rows) {
      if (row.at < r.at) last = row; // a tie (same ms) is not "after": the guard ran before the request left
      else break;
    }
    if (!last || last.status !== 'opted-out') continue;
    // the first opt-out of this run of opted-out history rows is when the opt-out began
    let began = last;
    for (let i = rows.indexOf(last); i >= 0 && rows[i].status === 'opted-out'; i--) began = rows[i];
    toOptedOut++;
    if (!isConfirmation(r.body)) {
      violations.push(`${r.to} was opted out at ${new Date(began.at).toISOString()} and the API received "${String(r.body).slice(0, 60)}" at ${new Date(r.at).toISOString()}`);
      continue;
    }
    confirmations++;
    if (r.answered === 200) {
      const key = `${r.to}@${began.at}`;
      const n = (acceptedConfirmations.get(key) ?? 0) + 1;
      acceptedConfirmations.set(key, n);
      if (n === 2) violations.push(`${r.to} got more than one opt-out confirmation for its opt-out at ${new Date(began.at).toISOString()}`);
    }
  }
  return { checked: requests.length, toOptedOut, confirmations, violations };
}

/** Every string in `haystacks` (or their JSON) that contains one of `secrets`: [{secret, where, excerpt}]. */
function findSecrets(secrets, haystacks) {
  const found = [];
  for (const [where, value] of haystacks) {
    let text;
    try {
      text = typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    } catch {
      text = String(value);
    }
    if (!text) continue;
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      if (at !== -1) found.push({ secret, where, excerpt: text.slice(Math.max(0, at - 60), at + secret.length + 20) });
    }
  }
  return found;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

module.exports = {
  prng,
  seedFromEnv,
  pick,
  weighted,
  smsSid,
  indianMobile,
  runPool,
  wait,
  until,
  settle,
  httpRequest,
  rawRequest,
  postCallback,
  readExample,
  liveExample,
  openStoreFile,
  withStoreFile,
  checkCompliance,
  findSecrets,
  seconds,
};
