// The operators' view (the SMS tab of the editor) without Node-RED: the SMS log in and out, the
// opt-outs, the active conversations, the outbox and the day at a glance, read from the store page by
// page (keyset, newest first), and what an operator does by hand: opt a number out or in, import and
// export the opt-out list, end a conversation, send a failed SMS again or discard it, and answer a
// customer's data request. Input is what the admin API received; a bad one is a ViewError (HTTP 4xx).
import { randomUUID } from 'node:crypto';
import { CODE_MASK } from '../../sms/one-time-code';
import { toE164 } from '../../sms/phone';
import type {
  ConversationRecord,
  ErasedNumber,
  InboundLogLine,
  NumberData,
  OptOutChange,
  OptOutRecord,
  OptStatus,
  OutboxEntry,
  OutboxState,
  PageCursor,
  RefusalLine,
  SendLogEntry,
  Store,
} from '../../store';
import { isUnavailable } from '../../store';
import { numbersOfCsv, optOutCsv } from './csv';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;
/** The inbound log is purged this many SMS a statement: the event loop (SQLite) breathes in between. */
export const PURGE_BATCH = 5_000;
export const HOUR_MS = 3_600_000;
/** The chart's hours. */
export const CHART_HOURS = 24;
/** The longest CSV an import reads (about a million numbers). */
export const MAX_IMPORT_CHARS = 32 * 1024 * 1024;

export class ViewError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ViewError';
  }
}

/** A deployed exotel-account node as the view names it. */
export interface ViewAccount {
  id: string;
  name: string;
  /** Exotel's AccountSid: the inbound log names an account by it (blank for a sandbox account) */
  accountSid: string;
  mode: string;
  defaultCountry: string;
}

export interface ViewDeps {
  store: Store;
  accounts(): ViewAccount[];
  /** a send node's label, or null when it is not deployed */
  sendNode(nodeId: string): { name: string } | null;
  /** hands a failed send queued again to its send node */
  resend(entry: OutboxEntry): void;
  now?: () => number;
  /** how long "send again" waits before it asks the database again while it cannot be reached (ms) */
  storeRetryMs?: number;
}

/** How many times "send again" asks the database while it cannot be reached, before it answers 503. */
export const REQUEUE_TRIES = 3;

/**
 * "Send again" requests whose answer the database lost, by store and outbox id: the key each was made
 * with. The database may have queued the entry again, as this instance's, with nobody to send it; the
 * next "send again" of that entry asks with the same key and is answered that entry. The key never
 * leaves this process, so an entry found by it was never handed to its send node.
 */
const unansweredRequeues = new WeakMap<object, Map<number, string>>();

/** What a line of the log says went wrong: msg.error's code and message, or Exotel's delivery report. */
export interface Reason {
  code: string;
  message: string;
  /** what Exotel answered, when it answered with an error */
  httpStatus?: number;
}

/** One SMS of the log, in or out, or a callback an SMS in node refused. */
export interface LogLine {
  direction: 'in' | 'out';
  /** the inbound SmsSid, the send log's id, or the refusal log's id */
  id: string;
  sid: string | null;
  at: number;
  /** the customer ('' for a refused callback whose sender could not be read) */
  phone: string;
  body: string;
  /**
   * in: received (answered 200, recorded once; repeats counted in `duplicates`), or rejected (the SMS in
   * node refused the callback: `reason` says why, with a code of exotel-inbound/refusals.ts); out:
   * sending, sent, delivered or failed
   */
  status: string;
  reason: Reason | null;
  /** in: how many more times Exotel delivered it */
  duplicates: number;
  /** rejected: how many more callbacks of that minute were refused like it and not logged one by one */
  dropped: number;
  /** rejected: the address the callback came from */
  remote: string | null;
  /** the account's name, as far as it is deployed */
  account: string;
  /** out: the send node */
  node: { id: string; name: string } | null;
}

export interface Page<T> {
  items: T[];
  /** the cursor of the next page, or null at the end */
  next: string | null;
}

export interface ConversationLine extends Omit<ConversationRecord, 'code' | 'revision'> {
  ageMs: number;
  /** until the current step times out; null when it does not */
  timeoutInMs: number | null;
  expiresInMs: number;
}

export interface OutboxLine {
  id: number;
  node: { id: string; name: string; deployed: boolean };
  phone: string;
  body: string;
  /** `held`: queued, and waiting for TRAI's hours (until `heldUntil`) */
  state: OutboxState | 'held';
  heldUntil: number | null;
  attempts: number;
  reason: Reason | null;
  /** an attempt got no answer: Exotel may have sent it */
  maybeSent: boolean;
  /** the text held a one-time code, kept only masked: it cannot be sent again */
  holdsCode: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ImportSummary {
  changed: number;
  unchanged: number;
  /** rows not imported, with why (the first 20) */
  refused: Array<{ line: number; value: string; why: 'number' | 'status' }>;
  refusedCount: number;
}

export interface Glance {
  /** since the start of the day (the browser's midnight) */
  today: { received: number; sent: number; delivered: number; failed: number };
  /** per hour, from `start`, CHART_HOURS of them */
  hours: { start: number; bucketMs: number; received: number[]; sent: number[]; delivered: number[]; failed: number[] };
  optedOut: number;
  activeConversations: number;
  outbox: Record<OutboxState, number>;
  accounts: Array<{ id: string; name: string; mode: string }>;
}

type Query = Record<string, unknown>;

function text(value: unknown, max = 200): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ViewError(400, 'a parameter is not text');
  if (value.length > max) throw new ViewError(400, `a parameter is longer than ${max} characters`);
  return value.trim();
}

function time(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ViewError(400, `${name} must be a time in ms since 1970`);
  return ms;
}

function limitOf(value: unknown): number {
  if (value === undefined || value === '') return DEFAULT_PAGE;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ViewError(400, `limit must be a whole number from 1 to ${MAX_PAGE}`);
  return limit;
}

/** A page's cursor as the editor carries it: opaque, URL-safe. */
export function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(value: unknown, kinds: string): Array<string | number> | null {
  if (value === undefined || value === '') return null;
  try {
    const parts = JSON.parse(Buffer.from(text(value, 1_000), 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === kinds.length && parts.every((part, i) => typeof part === (kinds[i] === 'n' ? 'number' : 'string'))) {
      return parts as Array<string | number>;
    }
  } catch {
    // not ours: refused below
  }
  throw new ViewError(400, 'the page cursor is not one this view gave');
}

/** msg.error's code (Exotel's own, a number, is kept as text), message and the HTTP status Exotel answered. */
function reasonOf(error: unknown): Reason | null {
  if (!error || typeof error !== 'object') return null;
  const { code, message, httpStatus } = error as { code?: unknown; message?: unknown; httpStatus?: unknown };
  const reason: Reason = { code: typeof code === 'string' || typeof code === 'number' ? String(code) : '', message: typeof message === 'string' ? message : '' };
  if (typeof httpStatus === 'number') reason.httpStatus = httpStatus;
  return reason;
}

/** How a sent SMS stands, in the words of the log. */
export function sendStatus(entry: SendLogEntry): { status: string; reason: Reason | null } {
  if (entry.state === 'failed') return { status: 'failed', reason: reasonOf(entry.error) };
  if (entry.state === 'sending') return { status: 'sending', reason: null };
  if (entry.delivery === 'delivered') return { status: 'delivered', reason: null };
  if (entry.delivery === 'failed') return { status: 'failed', reason: { code: entry.exotelStatus ?? 'failed', message: [entry.detail, entry.code].filter(Boolean).join(' ') } };
  return { status: 'sent', reason: null };
}

export class OperatorsView {
  private readonly now: () => number;

  constructor(private readonly deps: ViewDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The country a number typed without its code belongs to: the first deployed account's. */
  private country(): string {
    return this.deps.accounts()[0]?.defaultCountry || 'IN';
  }

  /** A number as typed, in E.164; a ViewError when it is none. */
  phone(value: unknown): string {
    const phone = toE164(text(value, 40), this.country(), 'possible');
    if (!phone) throw new ViewError(400, 'not a phone number');
    return phone;
  }

  private account(id: unknown): ViewAccount | undefined {
    const wanted = text(id);
    if (!wanted) return undefined;
    const account = this.deps.accounts().find((a) => a.id === wanted);
    if (!account) throw new ViewError(404, 'no deployed Exotel account has this id');
    return account;
  }

  private accountName(match: (a: ViewAccount) => boolean, fallback: string): string {
    const account = this.deps.accounts().find(match);
    return account ? account.name : fallback;
  }

  // ---- the log: inbound and outbound, merged newest first ------------------------------------

  /**
   * One page of the log. `q`: a number (that customer's SMS) or text; `direction`: in, out or both;
   * `since`/`until`: ms; `account`: an exotel-account node; `after`: the previous page's cursor.
   * Refused callbacks are inbound lines, status rejected. Lines of the same millisecond: outbound, then
   * received, then rejected, each by its id, newest first.
   */
  async log(query: Query): Promise<Page<LogLine>> {
    const limit = limitOf(query.limit);
    const direction = text(query.direction);
    if (direction && direction !== 'in' && direction !== 'out') throw new ViewError(400, 'direction must be in or out');
    const q = text(query.q);
    const digits = q.replace(/[^0-9]/g, '');
    const asPhone = query.phone !== undefined ? this.phone(query.phone) : digits.length >= 8 && /^[+0-9 ()-]+$/.test(q) ? toE164(q, this.country(), 'possible') : null;
    const search = asPhone ? { phone: asPhone } : q ? { text: q } : {};
    const since = time(query.since, 'since');
    const until = time(query.until, 'until');
    const account = this.account(query.account);
    const cursor = decodeCursor(query.after, 'nss') as LogCursor | null;
    if (cursor && !LINE_KINDS.includes(cursor[1])) throw new ViewError(400, 'the page cursor is not one this view gave');
    const inboundQuery = { ...search, since, until, accountSid: account?.accountSid, limit: limit + 1 };
    const [outbound, inbound, refused] = await Promise.all([
      direction === 'in' ? [] : this.deps.store.sendLogPage({ ...search, since, until, account: account?.id, limit: limit + 1, after: cursor && afterFor('out', cursor) }),
      direction === 'out' ? [] : this.deps.store.inboundLogPage({ ...inboundQuery, after: cursor && afterFor('in', cursor) }),
      direction === 'out' ? [] : this.deps.store.refusalPage({ ...inboundQuery, after: cursor && afterFor('rejected', cursor) }),
    ]);
    const lines = newestFirst(outbound.map((e) => this.outLine(e)), inbound.map((l) => this.inLine(l)), refused.map((r) => this.refusedLine(r)));
    const items = lines.slice(0, limit);
    const last = items[items.length - 1];
    return { items, next: lines.length > limit && last ? encodeCursor([last.at, kindOf(last), last.id]) : null };
  }

  private inLine(line: InboundLogLine): LogLine {
    return {
      direction: 'in', id: line.sid, sid: line.sid, at: line.recordedAt, phone: line.from, body: line.body,
      status: 'received', reason: null, duplicates: line.duplicates, dropped: 0, remote: null,
      account: this.accountName((a) => a.accountSid === line.accountSid, line.accountSid), node: null,
    };
  }

  private refusedLine(line: RefusalLine): LogLine {
    return {
      direction: 'in', id: String(line.id), sid: line.sid, at: line.at, phone: line.from ?? '', body: line.body ?? '',
      status: 'rejected', reason: { code: line.code, message: line.reason, httpStatus: line.status }, duplicates: 0, dropped: line.dropped, remote: line.remote,
      account: this.accountName((a) => a.accountSid === line.accountSid, line.accountSid), node: null,
    };
  }

  private outLine(entry: SendLogEntry): LogLine {
    const node = this.deps.sendNode(entry.nodeId);
    return {
      direction: 'out', id: String(entry.id), sid: entry.sid, at: entry.createdAt, phone: entry.phone, body: entry.body,
      ...sendStatus(entry), duplicates: 0, dropped: 0, remote: null,
      account: this.accountName((a) => a.id === entry.account, entry.account), node: { id: entry.nodeId, name: node?.name ?? '' },
    };
  }

  // ---- opt-outs ------------------------------------------------------------------------------

  async optOuts(query: Query): Promise<Page<OptOutRecord>> {
    const limit = limitOf(query.limit);
    const status = text(query.status) || 'opted-out';
    if (!['opted-out', 'opted-in', 'all'].includes(status)) throw new ViewError(400, 'status must be opted-out, opted-in or all');
    const q = text(query.q).replace(/[\s()-]/g, '');
    const cursor = decodeCursor(query.after, 'ns') as [number, string] | null;
    const records = await this.deps.store.optOutPage({
      status: status as OptStatus | 'all', text: q || undefined, limit: limit + 1, after: cursor && { at: cursor[0], id: cursor[1] },
    });
    const items = records.slice(0, limit);
    const last = items[items.length - 1];
    return { items, next: records.length > limit && last ? encodeCursor([last.updatedAt, last.phone]) : null };
  }

  async optOutHistory(phoneInput: unknown): Promise<{ phone: string; record: OptOutRecord | null; history: Array<OptOutChange & { at: number }> }> {
    const phone = this.phone(phoneInput);
    const [record, history] = await Promise.all([this.deps.store.getOptStatus(phone), this.deps.store.optOutHistory(phone)]);
    return { phone, record, history: history.reverse() };
  }

  /** Opts a number out or in by hand: source `manual`, with who did it when the editor knows. */
  async setOptStatus(body: Query, by: string | null): Promise<OptOutRecord> {
    const phone = this.phone(body.phone);
    const status = text(body.status);
    if (status !== 'opted-out' && status !== 'opted-in') throw new ViewError(400, 'status must be opted-out or opted-in');
    const { record } = await this.deps.store.setOptStatus({ phone, status, keyword: null, source: 'manual', by });
    return record;
  }

  async optOutCsv(): Promise<string> {
    return optOutCsv(await this.deps.store.exportOptStatus());
  }

  /** Imports a CSV of numbers (see numbersOfCsv): each row's status, else `status`; source `import`. */
  async importOptOuts(csv: unknown, statusInput: unknown, by: string | null): Promise<ImportSummary> {
    if (typeof csv !== 'string' || !csv.trim()) throw new ViewError(400, 'the CSV is empty');
    if (csv.length > MAX_IMPORT_CHARS) throw new ViewError(413, `the CSV is larger than ${MAX_IMPORT_CHARS / 1024 / 1024} MB: split it`);
    const status = text(statusInput) || 'opted-out';
    if (status !== 'opted-out' && status !== 'opted-in') throw new ViewError(400, 'status must be opted-out or opted-in');
    const { byStatus, badStatus } = numbersOfCsv(csv, status);
    const refused: ImportSummary['refused'] = badStatus.map((row) => ({ ...row, why: 'status' as const }));
    const country = this.country();
    let changed = 0;
    let unchanged = 0;
    for (const [rowStatus, rows] of byStatus) {
      const phones: string[] = [];
      for (const row of rows) {
        const phone = toE164(row.value, country, 'possible');
        if (phone) phones.push(phone);
        else refused.push({ ...row, why: 'number' });
      }
      if (!phones.length) continue;
      const result = await this.deps.store.importOptStatus(phones, rowStatus, 'import', by);
      changed += result.changed;
      unchanged += result.unchanged;
    }
    if (changed + unchanged === 0 && refused.length === 0) throw new ViewError(400, 'the CSV holds no number');
    refused.sort((a, b) => a.line - b.line);
    return { changed, unchanged, refused: refused.slice(0, 20), refusedCount: refused.length };
  }

  // ---- conversations -------------------------------------------------------------------------

  async conversations(query: Query): Promise<Page<ConversationLine>> {
    const limit = limitOf(query.limit);
    const now = this.now();
    const cursor = decodeCursor(query.after, 'nss') as [number, string, string] | null;
    const records = await this.deps.store.conversationPage(
      { name: text(query.name) || undefined, text: text(query.q).replace(/[\s()-]/g, '') || undefined, limit: limit + 1, after: cursor && { at: cursor[0], id: `${cursor[1]}\u0000${cursor[2]}` } },
      now,
    );
    const items = records.slice(0, limit).map(({ code: _code, revision: _revision, ...rest }) => ({
      ...rest,
      ageMs: now - rest.startedAt,
      timeoutInMs: rest.deadlineAt === null ? null : Math.max(0, rest.deadlineAt - now),
      expiresInMs: Math.max(0, rest.expiresAt - now),
    }));
    const last = items[items.length - 1];
    return { items, next: records.length > limit && last ? encodeCursor([last.startedAt, last.name, last.key]) : null };
  }

  async endConversation(body: Query): Promise<ConversationRecord> {
    const name = text(body.name);
    const key = text(body.key);
    if (!name || !key) throw new ViewError(400, 'name and key name the conversation');
    const ended = await this.deps.store.endConversation(name, key);
    if (!ended) throw new ViewError(404, 'this conversation is no longer active');
    return { ...ended, code: null };
  }

  // ---- the outbox ----------------------------------------------------------------------------

  async outbox(query: Query): Promise<Page<OutboxLine>> {
    const limit = limitOf(query.limit);
    const state = text(query.state);
    if (state && !['queued', 'sending', 'failed'].includes(state)) throw new ViewError(400, 'state must be queued, sending or failed');
    const cursor = decodeCursor(query.after, 'ns') as [number, string] | null;
    const entries = await this.deps.store.outboxPage({ state: (state || undefined) as OutboxState | undefined, limit: limit + 1, after: cursor && { at: cursor[0], id: cursor[1] } });
    const items = entries.slice(0, limit).map((entry) => this.outboxLine(entry));
    const last = items[items.length - 1];
    return { items, next: entries.length > limit && last ? encodeCursor([last.createdAt, String(last.id)]) : null };
  }

  private outboxLine(entry: OutboxEntry): OutboxLine {
    const node = this.deps.sendNode(entry.nodeId);
    const request = (entry.request ?? {}) as { body?: unknown; sealed?: unknown };
    const body = typeof request.body === 'string' ? request.body : '';
    // a promotional send held for TRAI's hours waits in the outbox, queued, until its time
    const notBefore = entry.notBefore;
    const held = entry.state === 'queued' && notBefore !== null && notBefore > this.now();
    return {
      id: entry.id, node: { id: entry.nodeId, name: node?.name ?? '', deployed: !!node }, phone: entry.phone, body,
      state: held ? 'held' : entry.state, heldUntil: held ? notBefore : null,
      attempts: entry.attempts, reason: reasonOf(entry.error), maybeSent: (entry.error as { maybeSent?: unknown } | null)?.maybeSent === true,
      holdsCode: request.sealed === undefined && body.includes(CODE_MASK), createdAt: entry.createdAt, updatedAt: entry.updatedAt,
    };
  }

  private async outboxEntryOf(idInput: unknown): Promise<OutboxEntry> {
    const id = Number(idInput);
    if (!Number.isSafeInteger(id) || id < 1) throw new ViewError(400, 'not an outbox id');
    const entry = await this.deps.store.outboxEntry(id);
    if (!entry) throw new ViewError(404, 'this send is no longer in the outbox');
    return entry;
  }

  private async failedEntry(idInput: unknown): Promise<OutboxEntry> {
    const entry = await this.outboxEntryOf(idInput);
    if (entry.state !== 'failed') throw new ViewError(409, 'only a failed send can be sent again or discarded');
    return entry;
  }

  /** Queues a failed send again, attempts from zero, and hands it to its send node. */
  async retry(idInput: unknown): Promise<OutboxLine> {
    const entry = await this.outboxEntryOf(idInput);
    const unanswered = unansweredRequeues.get(this.deps.store) ?? new Map<number, string>();
    unansweredRequeues.set(this.deps.store, unanswered);
    // an earlier request for it whose answer was lost: this one asks with its key (and nobody else meanwhile)
    const earlier = unanswered.get(entry.id);
    if (earlier === undefined && entry.state !== 'failed') throw new ViewError(409, 'only a failed send can be sent again or discarded');
    unanswered.delete(entry.id);
    const key = earlier ?? randomUUID();
    const line = this.outboxLine(entry);
    if (line.holdsCode) throw new ViewError(409, 'its text held a one-time code, kept only masked: start the verification again for a new code');
    if (!line.node.deployed) throw new ViewError(409, 'its send node is no longer deployed');
    let queued: OutboxEntry | null;
    try {
      queued = await this.requeue(entry.id, key);
    } catch (err) {
      // the database may have queued it without answering: the next "send again" of it asks with this key
      if (isUnavailable(err)) unanswered.set(entry.id, key);
      throw err;
    }
    if (!queued) throw new ViewError(409, 'only a failed send can be sent again or discarded');
    this.deps.resend(queued);
    return this.outboxLine(queued);
  }

  /** The requeue, asked again with the same key while the database cannot be reached (its answer may be lost after the commit). */
  private async requeue(id: number, key: string): Promise<OutboxEntry | null> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.deps.store.requeueOutboxEntry(id, key);
      } catch (err) {
        if (!isUnavailable(err) || tries >= REQUEUE_TRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.deps.storeRetryMs ?? 1_000));
      }
    }
  }

  async discard(idInput: unknown): Promise<void> {
    const entry = await this.failedEntry(idInput);
    if (!(await this.deps.store.discardOutboxEntry(entry.id))) throw new ViewError(409, 'only a failed send can be sent again or discarded');
  }

  // ---- at a glance ---------------------------------------------------------------------------

  /**
   * Today's counts and the last CHART_HOURS hours, one account's or all. `day`: the browser's midnight;
   * `start`: the first hour of the chart (the browser's hours), both ms.
   */
  async glance(query: Query): Promise<Glance> {
    const now = this.now();
    const day = time(query.day, 'day') ?? now - (now % 86_400_000);
    const start = time(query.start, 'start') ?? now - (now % HOUR_MS) - (CHART_HOURS - 1) * HOUR_MS;
    if (day > now || now - day > 2 * 86_400_000) throw new ViewError(400, 'day must be the start of today');
    if (start > now || now - start > (CHART_HOURS + 2) * HOUR_MS) throw new ViewError(400, 'start must be within the last day');
    const account = this.account(query.account);
    const { store } = this.deps;
    const end = start + CHART_HOURS * HOUR_MS;
    const todayMs = now + 1 - day;
    const [received, sent, receivedToday, sentToday, optedOut, activeConversations, outbox] = await Promise.all([
      store.inboundCounts(start, end, HOUR_MS, account?.accountSid),
      store.sendCounts(start, end, HOUR_MS, account?.id),
      store.inboundCounts(day, now + 1, todayMs, account?.accountSid),
      store.sendCounts(day, now + 1, todayMs, account?.id),
      store.optedOutCount(),
      store.activeConversationCount(),
      store.outboxCounts(),
    ]);
    return {
      today: { received: receivedToday[0] ?? 0, sent: sentToday.sent[0] ?? 0, delivered: sentToday.delivered[0] ?? 0, failed: sentToday.failed[0] ?? 0 },
      hours: { start, bucketMs: HOUR_MS, received, ...sent },
      optedOut,
      activeConversations,
      outbox,
      accounts: this.deps.accounts().map(({ id, name, mode }) => ({ id, name, mode })),
    };
  }

  // ---- a customer's data request -------------------------------------------------------------

  async numberData(phoneInput: unknown): Promise<NumberData & { exportedAt: string }> {
    const data = await this.deps.store.numberData(this.phone(phoneInput));
    return { ...data, exportedAt: new Date(this.now()).toISOString() };
  }

  async eraseNumber(phoneInput: unknown): Promise<ErasedNumber & { phone: string }> {
    const phone = this.phone(phoneInput);
    return { phone, ...(await this.deps.store.eraseNumber(phone)) };
  }
}

/**
 * The pages, each newest first as the database ordered it, as one: lines of the same millisecond in the
 * order of the pages given (outbound, received, rejected). Merged, not sorted again, so that each page
 * keeps its database's order (a cursor then goes on exactly where its page stopped).
 */
export function newestFirst(...pages: LogLine[][]): LogLine[] {
  const lines: LogLine[] = [];
  const at = pages.map(() => 0);
  for (;;) {
    let next = -1;
    pages.forEach((page, p) => {
      if (at[p] < page.length && (next === -1 || page[at[p]].at > pages[next][at[next]].at)) next = p;
    });
    if (next === -1) return lines;
    lines.push(pages[next][at[next]++]);
  }
}

/** What a line of the log is, in its cursor, in the order lines of one millisecond are shown. */
type LineKind = 'out' | 'in' | 'rejected';
const LINE_KINDS: readonly string[] = ['out', 'in', 'rejected'] satisfies LineKind[];
type LogCursor = [number, LineKind, string];

function kindOf(line: LogLine): LineKind {
  return line.direction === 'in' && line.status === 'rejected' ? 'rejected' : line.direction;
}

/**
 * Where the page of lines of one kind goes on after the cursor's line: after its own id when the line is
 * of that kind; else every line of that millisecond is still to come (a kind shown after the cursor's),
 * or was shown already (a kind shown before it). Ids: '' is before every SmsSid, '0' and '-1' every row id.
 */
function afterFor(kind: LineKind, [at, lineKind, id]: LogCursor): PageCursor {
  if (kind === lineKind) return { at, id };
  const stillToCome = LINE_KINDS.indexOf(kind) > LINE_KINDS.indexOf(lineKind);
  if (kind === 'in') return stillToCome ? { at: at + 1, id: '' } : { at, id: '' };
  return stillToCome ? { at: at + 1, id: '0' } : { at, id: '-1' };
}

/**
 * Deletes the inbound SMS and the refused callbacks older than the retention period, a batch at a time
 * (the send nodes delete the send log's); returns how many of each.
 */
export async function purgeOldLogs(
  store: Pick<Store, 'purgeInboundLog' | 'purgeRefusals'>,
  before: number,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<{ inbound: number; refused: number }> {
  const inbatches = async (purge: (before: number, limit: number) => Promise<number>) => {
    let total = 0;
    for (;;) {
      const purged = await purge(before, PURGE_BATCH);
      total += purged;
      if (purged < PURGE_BATCH) return total;
      await pause();
    }
  };
  const inbound = await inbatches((b, limit) => store.purgeInboundLog(b, limit));
  return { inbound, refused: await inbatches((b, limit) => store.purgeRefusals(b, limit)) };
}
