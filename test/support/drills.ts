// Shared tools of the failure drills (test/drills): a seeded random source, a bounded-concurrency
// runner, an HTTP client that never throws (a reset is a result, not an exception), the example
// flows switched to live against a mock, a read-only look into the store file, and the compliance
// check every drill runs at its end.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Received } from './drill-exotel';
import type { FlowNode } from './red';
import { seconds, until as untilEvery10ms, wait } from './wait';

/** A row of the store file, as a read-only look returns it. */
// The columns are the store's own (src/store/migrations.ts); the drills read them loosely.
export type Row = Record<string, any>;

/** The result of one HTTP request that never throws. */
export interface HttpResult {
  status: number | null;
  headers?: http.IncomingHttpHeaders;
  body?: Buffer;
  error?: string;
  ms: number;
}

type Random = () => number;
const codeOf = (err: unknown): string => {
  const e = err as { code?: string; message?: string };
  return String(e.code ?? e.message);
};

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

// ---------------------------------------------------------------------------------------------
// Randomness: every drill is reproducible from its seed (DRILL_SEED overrides the default).

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): Random {
  let a = seed >>> 0;
  return function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedFromEnv(fallback: number): number {
  const text = process.env.DRILL_SEED;
  return text && /^\d+$/.test(text) ? Number(text) : fallback;
}

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** `weighted(random, [[3, 'a'], [1, 'b']])` is 'a' three times in four. */
function weighted<T>(random: Random, table: readonly (readonly [number, T])[]): T {
  const total = table.reduce((n, [w]) => n + w, 0);
  let r = random() * total;
  for (const [w, value] of table) {
    if ((r -= w) < 0) return value;
  }
  return table[table.length - 1][1];
}

/** An SmsSid like Exotel's (32 hex characters), from the seeded source. */
function smsSid(random: Random): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

/** Distinct valid Indian mobile numbers, E.164: +91 9 8xxxxxxxx from a start index. */
function indianMobile(i: number): string {
  return `+9198${String(10_000_000 + i).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/**
 * Runs `fn(item, index)` over `items` with at most `concurrency` at once. `stop()` returning true
 * stops starting new ones. Resolves with the results, in order (undefined for those not started).
 */
async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  { stop = () => false }: { stop?: () => boolean } = {},
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length);
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

/**
 * Waits until `signature()` (any JSON-able value) has not changed for `quietMs`; resolves with it.
 * Fails after `timeoutMs`.
 */
/** `until` polling every 25 ms: what the drills poll is a store file or a child process. */
const until = (predicate: () => unknown | Promise<unknown>, timeoutMs: number, what: string): Promise<void> =>
  untilEvery10ms(predicate, timeoutMs, what, 25);

async function settle<T>(
  signature: () => T | Promise<T>,
  { quietMs = 1500, timeoutMs = 60_000, what = 'the system to settle' }: { quietMs?: number; timeoutMs?: number; what?: string } = {},
): Promise<T> {
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
      return JSON.parse(now) as T;
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
export interface HttpRequestOptions {
  url: string;
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
  chunks?: (string | Buffer)[];
}

function httpRequest({ url, method = 'POST', headers = {}, body, agent, timeoutMs = 30_000, chunks }: HttpRequestOptions): Promise<HttpResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<HttpResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ms: Date.now() - started, ...result });
    };
    let req: http.ClientRequest;
    try {
      req = http.request(url, { method, headers, agent });
    } catch (err) {
      finish({ status: null, error: `client:${codeOf(err)}` });
      return;
    }
    req.setTimeout(timeoutMs, () => {
      req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' }));
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => finish({ status: res.statusCode ?? null, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', (err) => finish({ status: res.statusCode ?? null, headers: res.headers, body: Buffer.concat(parts), error: codeOf(err) }));
    });
    // A response may have come before the upload ended (413 on a huge body): the later EPIPE/reset
    // of the upload is then not a failure of the server.
    req.on('error', (err) => finish({ status: null, error: codeOf(err) }));
    if (chunks) {
      // a streamed (chunked) body, written piece by piece
      let i = 0;
      const write = () => {
        while (i < chunks.length) {
          if (req.destroyed) return;
          if (!req.write(chunks[i++])) {
            req.once('drain', write);
            return;
          }
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
function rawRequest({ host, port, bytes, timeoutMs = 10_000 }: { host: string; port: number; bytes: string | Buffer; timeoutMs?: number }): Promise<HttpResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (result: Omit<HttpResult, 'ms'>) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ ms: Date.now() - started, ...result });
    };
    const socket = net.connect({ host, port }, () => socket.end(bytes));
    socket.setTimeout(timeoutMs, () => finish({ status: null, error: 'CLIENT_TIMEOUT' }));
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m && data.includes('\r\n\r\n')) finish({ status: Number(m[1]) });
    });
    socket.on('error', (err) => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      finish(m ? { status: Number(m[1]) } : { status: null, error: codeOf(err) });
    });
    socket.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      finish(m ? { status: Number(m[1]) } : { status: null, error: 'closed without a response' });
    });
  });
}

/** Posts an inbound SMS as Exotel does (form fields). */
function postCallback(base: string, webhookPath: string, token: string, fields: Record<string, string>, agent?: http.Agent): Promise<HttpResult> {
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

function readExample(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
}

/**
 * An example flow with every exotel-account switched from sandbox to live against `mockUrl`
 * (and the given SID, rate limit and credentials): the change a user makes to go live.
 */
function liveExample(
  name: string,
  { mockUrl, accountSid = 'drillacct', rateLimit, credentials }: { mockUrl: string; accountSid?: string; rateLimit?: number; credentials: Record<string, string> },
): { flow: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const flow = readExample(name);
  const creds: Record<string, Record<string, string>> = {};
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

export type StoreFile = ReturnType<typeof openStoreFile>;

function openStoreFile(file: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const q = (sql: string, ...args: unknown[]): Row[] => db.prepare(sql).all(...args) as Row[];
  return {
    db,
    inboundSids: () => new Set(db.prepare('SELECT sid FROM inbound').pluck().all() as string[]),
    inbound: () => q('SELECT * FROM inbound'),
    unhandled: () => db.prepare('SELECT COUNT(*) FROM inbound WHERE handled = 0').pluck().get() as number,
    optedOut: () => new Set(db.prepare("SELECT phone FROM opt_out WHERE status = 'opted-out'").pluck().all() as string[]),
    history: () => q('SELECT phone, status, keyword, source, at FROM opt_out_history ORDER BY id'),
    conversations: (name: string) => q('SELECT * FROM conversation WHERE name = ?', name),
    outbox: () => (hasTable(db, 'outbox') ? q('SELECT * FROM outbox') : []),
    close: () => db.close(),
  };
}

function hasTable(db: Database.Database, name: string): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

/** Runs `fn(store)` on a short-lived read-only connection. */
function withStoreFile<T>(file: string, fn: (store: StoreFile) => T): T {
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
export interface Compliance {
  checked: number;
  toOptedOut: number;
  confirmations: number;
  /** answers to HELP sent to opted-out numbers (accepted or not) */
  answers: number;
  violations: string[];
}

/**
 * An answer to HELP may reach an opted-out number (send SMS' "answers to HELP reach numbers that
 * opted out"): only the answer (`isAnswer`), only after that number sent HELP while opted out
 * (`asked`: inbound SMS as {phone, body, at}), at most one accepted answer per HELP asked (a request
 * the API refused, tried again, uses none).
 */
export interface HelpAnswers {
  isAnswer: (body: string) => boolean;
  asked: Array<{ phone: string; body: string; at: number }>;
}

function checkCompliance({ requests, history, isConfirmation, help }: { requests: Pick<Received, 'to' | 'body' | 'at' | 'answered'>[]; history: Row[]; isConfirmation: (body: string) => boolean; help?: HelpAnswers }): Compliance {
  const helps = new Map<string, number[]>();
  for (const sms of help?.asked ?? []) {
    if (!/^\s*help\s*$/i.test(sms.body)) continue;
    if (!helps.has(sms.phone)) helps.set(sms.phone, []);
    helps.get(sms.phone)!.push(sms.at);
  }
  const byPhone = new Map<string, Row[]>();
  for (const row of history) {
    if (!byPhone.has(row.phone)) byPhone.set(row.phone, []);
    byPhone.get(row.phone)!.push(row);
  }
  for (const rows of byPhone.values()) rows.sort((a, b) => a.at - b.at);
  const violations: string[] = [];
  const acceptedConfirmations = new Map<string, number>(); // "phone@optOutAt" → count
  let toOptedOut = 0;
  let confirmations = 0;
  let answers = 0;
  for (const r of requests) {
    const rows = byPhone.get(r.to);
    if (!rows) continue;
    let last: Row | null = null;
    for (const row of rows) {
      if (row.at < r.at) last = row; // a tie (same ms) is not "after": the guard ran before the request left
      else break;
    }
    if (!last || last.status !== 'opted-out') continue;
    // the first opt-out of this run of opted-out history rows is when the opt-out began
    let began = last;
    for (let i = rows.indexOf(last); i >= 0 && rows[i].status === 'opted-out'; i--) began = rows[i];
    toOptedOut++;
    if (help && help.isAnswer(r.body)) {
      // the first HELP this number sent after its opt-out began, not yet answered, before this request
      const times = helps.get(r.to) ?? [];
      const at = times.findIndex((t) => t >= began.at && t <= r.at);
      if (at !== -1) {
        answers++;
        if (r.answered === 200) times.splice(at, 1);
        continue;
      }
    }
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
  return { checked: requests.length, toOptedOut, confirmations, answers, violations };
}

/** Every string in `haystacks` (or their JSON) that contains one of `secrets`: [{secret, where, excerpt}]. */
function findSecrets(secrets: string[], haystacks: Iterable<readonly [string, unknown]>): { secret: string; where: string; excerpt: string }[] {
  const found: { secret: string; where: string; excerpt: string }[] = [];
  for (const [where, value] of haystacks) {
    let text: string | undefined;
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

export {
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
