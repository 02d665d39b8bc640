// What an SMS in node refused, kept for the SMS tab's log: the time, the path, why (a code the tab says
// in the operator's language, and the English reason the caller got), the sender, the start of the text
// and the SmsSid as far as the request could be read, and the address it came from. Never the token,
// the query string or a credential (every text goes through the account's redact()).
//
// Bounded: at most `perMinute` refusals a minute are logged one by one; the rest of a flood only counts,
// and one line at the end of that minute says how many more there were. Never in the webhook's way:
// noting is synchronous and O(1); the write follows, and a write that fails is a warning, once.
import type { RawBody } from '../../exotel/request-body';
import { toE164 } from '../../sms/phone';
import type { InboundRefusal, Store } from '../../store';
import type { ExotelAccount } from '../exotel-account/controller';
import { systemTimers, type NodeLog, type Timers, type Translate } from '../shared/ports';
import type { InboundCall, Reply } from './controller';

/** Refusals logged one by one, a minute and an endpoint (an instance's). */
export const REFUSALS_PER_MINUTE = 30;
/** The longest text kept of a refused SMS. */
export const MAX_LOGGED_BODY = 160;
/** How long a refused callback's body is waited for, for its sender: a sender that stalls is logged without. */
export const BODY_WAIT_MS = 2_000;
const MINUTE_MS = 60_000;

/** Why a callback was refused, as the tab names it (plugins/locales/…/exotel-sms.json, `refusals.<code>`). */
export type RefusalCode =
  | 'not_allowed'
  | 'no_token'
  | 'short_token'
  | 'bad_token'
  | 'wrong_account'
  | 'not_this_sandbox'
  | 'too_large'
  | 'content_type'
  | 'malformed'
  | 'refused';

/** The code of a refusal, from the status and reason the controller answered with. */
export function refusalCode(status: number, reason: string): RefusalCode {
  if (status === 401) return /no webhook token/.test(reason) ? 'no_token' : /too short/.test(reason) ? 'short_token' : 'bad_token';
  if (status === 403) return /allow-list/.test(reason) ? 'not_allowed' : /sandbox/.test(reason) ? 'not_this_sandbox' : /AccountSid/.test(reason) ? 'wrong_account' : 'refused';
  if (status === 413) return 'too_large';
  if (status === 415) return 'content_type';
  return status === 400 ? 'malformed' : 'refused';
}

/** Text as it may be shown: control characters as spaces, at most `max` characters (… when cut). */
export function shortText(value: string, max: number): string {
  const text = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

type Fields = Map<string, string>;

/** Text and number fields by lower-case name, the first of each name kept (the query's before the body's). */
function addFields(fields: Fields, entries: Iterable<[string, unknown]>): void {
  for (const [key, value] of entries) {
    const name = key.toLowerCase();
    if ((typeof value === 'string' || typeof value === 'number') && !fields.has(name)) fields.set(name, String(value));
  }
}

/** A JSON object's fields, or null when the text is not one (a form, or nothing). */
function jsonFields(text: string): Array<[string, unknown]> | null {
  if (!/^\s*\{/.test(text)) return null;
  try {
    return Object.entries(JSON.parse(text) as object);
  } catch {
    return null;
  }
}

/**
 * The sender, text and SmsSid of a refused callback, as far as its query and body say (form fields or a
 * JSON object, whatever the content type claims; nothing checked, nothing else kept).
 */
export function senderOf(query: string, raw: RawBody | undefined, defaultCountry: string): Pick<InboundRefusal, 'from' | 'body' | 'sid'> {
  const fields: Fields = new Map();
  addFields(fields, new URLSearchParams(query));
  const text = raw ? raw.body.toString('utf8') : '';
  addFields(fields, jsonFields(text) ?? new URLSearchParams(text));
  const first = (...names: string[]) => names.map((name) => fields.get(name)).find((value) => value !== undefined && value.trim() !== '');
  const from = first('from', 'sender');
  const body = first('body', 'messagebody');
  const sid = first('smssid', 'sid');
  return {
    from: from === undefined ? null : (toE164(from, defaultCountry, 'possible') ?? shortText(from, 32)),
    body: body === undefined ? null : shortText(body, MAX_LOGGED_BODY),
    sid: sid === undefined ? null : shortText(sid, 64),
  };
}

/** What the controller tells of each callback it refuses. */
export interface RefusalNotes {
  /** `raw`: the body, when the controller read it before refusing */
  note(call: InboundCall, reply: Reply, raw?: RawBody): void;
  /** Logs the rest of a flood at once and waits for what is being written. */
  close(): Promise<void>;
}

export interface RefusalRecorderDeps {
  store: Pick<Store, 'logRefusal'>;
  endpoint: string;
  account: Pick<ExotelAccount, 'accountSid' | 'defaultCountry' | 'redact'>;
  log: NodeLog;
  translate: Translate;
  timers?: Timers;
  perMinute?: number;
  bodyWaitMs?: number;
}

export class RefusalRecorder implements RefusalNotes {
  private readonly timers: Timers;
  private readonly perMinute: number;
  private minute = -1;
  private logged = 0;
  /** refusals of this minute not logged one by one, and the last of them */
  private dropped = 0;
  private lastDropped: InboundRefusal | null = null;
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly writing = new Set<Promise<void>>();
  private warned = false;
  private closed = false;

  constructor(private readonly deps: RefusalRecorderDeps) {
    this.timers = deps.timers ?? systemTimers;
    this.perMinute = deps.perMinute ?? REFUSALS_PER_MINUTE;
  }

  note(call: InboundCall, reply: Reply, raw?: RawBody): void {
    if (this.closed) return;
    const { account, endpoint } = this.deps;
    const at = this.timers.now();
    const minute = Math.floor(at / MINUTE_MS);
    if (minute !== this.minute) {
      this.logDropped();
      this.minute = minute;
      this.logged = 0;
    }
    const reason = reply.error ?? '';
    const refusal: InboundRefusal = {
      endpoint, accountSid: account.accountSid, at, status: reply.status, code: refusalCode(reply.status, reason), reason: account.redact(reason),
      from: null, body: null, sid: null, remote: call.ip ?? null, dropped: 0,
    };
    if (this.logged >= this.perMinute) {
      this.dropped++;
      this.lastDropped = refusal;
      this.dropTimer ??= this.timers.setTimeout(() => this.logDropped(), (minute + 1) * MINUTE_MS - at);
      return;
    }
    this.logged++;
    this.track(this.bodyOf(call, reply, raw).then((body) => this.write({ ...refusal, ...this.redacted(senderOf(call.query, body, account.defaultCountry)) })));
  }

  async close(): Promise<void> {
    this.closed = true;
    // the flood's line after the lines of its minute
    await this.settle();
    this.logDropped();
    await this.settle();
  }

  private async settle(): Promise<void> {
    while (this.writing.size) await Promise.all([...this.writing]);
  }

  /**
   * The body, for the sender: as the controller read it; or read now when the callback was refused
   * before its body was read (its token or address), for at most `bodyWaitMs`; else none.
   */
  private bodyOf(call: InboundCall, reply: Reply, raw: RawBody | undefined): Promise<RawBody | undefined> {
    if (raw || (reply.status !== 401 && reply.status !== 403) || call.method === 'GET' || call.method === 'HEAD') return Promise.resolve(raw);
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => resolve(undefined), this.deps.bodyWaitMs ?? BODY_WAIT_MS);
      const done = (body: RawBody | undefined) => {
        this.timers.clearTimeout(timer);
        resolve(body);
      };
      call.readBody().then(done, () => done(undefined));
    });
  }

  private redacted(fields: Pick<InboundRefusal, 'from' | 'body' | 'sid'>): Pick<InboundRefusal, 'from' | 'body' | 'sid'> {
    const redact = (text: string | null) => (text === null ? null : this.deps.account.redact(text));
    return { from: redact(fields.from), body: redact(fields.body), sid: redact(fields.sid) };
  }

  /** The line that stands for the refusals of the minute not logged one by one. */
  private logDropped(): void {
    this.timers.clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    if (!this.lastDropped) return;
    const line = { ...this.lastDropped, dropped: this.dropped };
    this.dropped = 0;
    this.lastDropped = null;
    this.track(this.write(line));
  }

  private write(refusal: InboundRefusal): Promise<void> {
    return this.deps.store.logRefusal(refusal).then(
      () => {
        this.warned = false;
      },
      (err: Error) => {
        // Once until a write succeeds again: a database that went away would say so for every refusal.
        if (this.warned) return;
        this.warned = true;
        this.deps.log.warn(this.deps.translate('warn.refusalLog', { path: this.deps.endpoint, message: this.deps.account.redact(err.message) }));
      },
    );
  }

  private track(writing: Promise<void>): void {
    this.writing.add(writing);
    void writing.finally(() => this.writing.delete(writing));
  }
}
