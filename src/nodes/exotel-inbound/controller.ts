// exotel-inbound's behaviour without Node-RED or Express: authenticates a callback, records the SMS
// durably, acknowledges with an empty 200, and only then hands it to the flow; hands on again what a
// crash left unhandled.
import { parseAllowList, type AllowList } from '../../exotel/auth';
import { BodyError, type RawBody } from '../../exotel/request-body';
import { parseInbound, type InboundSms } from '../../exotel/webhook';
import { isUnavailable, type InboundRecord, type InboundTurns, type Store } from '../../store';
import type { ExotelAccount } from '../exotel-account/controller';
import { refusal } from '../shared/callback-auth';
import type { RefusalNotes } from './refusals';
import { StoreWait } from '../shared/store-wait';
import { ClaimKey } from '../shared/claim-key';
import { systemTimers, type FollowMessage, type NodeLog, type StatusLine, type Timers, type Translate } from '../shared/ports';

export const DEFAULT_REPLAY_WINDOW_MS = 10_000;
/** The longest an SMS waits for the flow to say it is done before it counts as handled all the same. */
export const DEFAULT_SETTLE_LIMIT_MS = 10 * 60_000;

export interface InboundMessage {
  payload: string;
  phone: string;
  /** `replayed` is set on an SMS handed on again after a stop or crash */
  sms: InboundSms & { replayed?: boolean };
}

import { normalisePath } from './contract';

export { normalisePath };

export type InboundSetup =
  | { ok: true; routePath: string; allowList: AllowList | null }
  /** `status` and `error` are catalogue keys */
  | { ok: false; status: string; error: string; vars: Record<string, string> };

/** Checks the node's configuration: an account, a plain path nobody else uses, a valid allow-list. */
export function setUp(config: { path?: string; allowList?: string }, hasAccount: boolean, ownerOf: (path: string) => string | undefined, nodeId: string): InboundSetup {
  if (!hasAccount) return { ok: false, status: 'status.noAccount', error: 'error.noAccount', vars: {} };
  const routePath = normalisePath(config.path);
  if (!routePath) return { ok: false, status: 'status.badPath', error: 'error.badPath', vars: { path: String(config.path ?? '').slice(0, 60) } };
  const owner = ownerOf(routePath);
  if (owner && owner !== nodeId) return { ok: false, status: 'status.pathInUse', error: 'error.pathInUse', vars: { owner, path: routePath } };
  try {
    return { ok: true, routePath, allowList: parseAllowList(config.allowList) };
  } catch (err) {
    return { ok: false, status: 'status.badAllowList', error: 'error.allowList', vars: { message: (err as Error).message } };
  }
}

/** A callback as it arrived, whatever the web framework. */
export interface InboundCall {
  method: string;
  ip: string | undefined;
  /** everything after the first "?" of the URL */
  query: string;
  authorization?: string;
  contentType?: string;
  readBody(): Promise<RawBody>;
}

/** The answer: 200 with an empty body, or a status with a JSON `{error}` (never text: it would become an SMS). */
export interface Reply {
  status: number;
  error?: string;
  /** ask for HTTP Basic credentials (401) */
  challenge?: boolean;
}

export interface InboundDeps {
  routePath: string;
  allowList: AllowList | null;
  account: Pick<ExotelAccount, 'accountSid' | 'defaultCountry' | 'checkWebhookToken' | 'redact'> & Partial<Pick<ExotelAccount, 'mode' | 'webhookAuth' | 'webhookProblem'>>;
  store: Pick<Store, 'recordInbound' | 'markInboundHandled' | 'unhandledInbound'>;
  translate: Translate;
  status: StatusLine;
  log: NodeLog;
  emit(msg: InboundMessage): void;
  /** tells when the flow is done with an SMS handed on (Node-RED's message hooks); without it, the window alone counts */
  follow?: FollowMessage;
  /** the account's node id when it is in sandbox mode: the only account whose sandbox replies this node takes */
  sandboxAccountId?: string | null;
  /** a new SMS that came over HTTP (not from the sandbox phone): a sandbox account shows it in the phone's thread */
  onCallbackSms?(sms: InboundSms): Promise<void>;
  replayWindowMs?: number;
  /** the upper bound for a flow that never says it is done (a node that never calls done()) */
  settleLimitMs?: number;
  timers?: Timers;
  /** a light call to the store, tried every `probeMs` while the database cannot be reached, to clear the red status by itself */
  probe?: () => Promise<unknown>;
  probeMs?: number;
  /**
   * several instances on one database: what dead instances acknowledged but did not finish, now this
   * one's; `key`: the same again after a claim whose answer was lost, and what it took is answered too
   */
  takeOver?: { claim: (key: string) => Promise<InboundRecord[]>; everyMs: number };
  /** several instances on one database: a customer's SMS go to the flow in arrival order, whichever instance received them */
  turns?: InboundTurns;
  /** keeps what was refused for the SMS tab's log */
  refusals?: RefusalNotes;
}

interface Emitted {
  sid: string;
  /** when it was handed on */
  at: number;
  /** the flow is done with it */
  done: boolean;
  stop?: () => void;
}

export class InboundController {
  private readonly counts = { received: 0, duplicate: 0, rejected: 0 };
  private readonly timers: Timers;
  private readonly replayWindowMs: number;
  private readonly settleLimitMs: number;
  private readonly settleTimer: NodeJS.Timeout;
  // Stryker disable next-line ArrayDeclaration: equivalent; an entry that is no Emitted has no time, so it is never settled nor marked
  private emitted: Emitted[] = [];
  /** SMS waiting for their turn (an earlier one of the same number is still in a flow) */
  private readonly waitingTurn = new Set<string>();
  private notDoneWarned = false;
  private closed = false;
  private readonly storeWait: StoreWait;
  private probeTimer: NodeJS.Timeout | undefined;
  private takeOverTimer: NodeJS.Timeout | undefined;
  /** the take-over claim's key: kept while a claim's answer is lost */
  private readonly claims = new ClaimKey();

  constructor(private readonly deps: InboundDeps) {
    this.timers = deps.timers ?? systemTimers;
    this.storeWait = new StoreWait({
      timers: this.timers,
      onDown: (err) => {
        deps.status.now('red', 'ring', deps.translate('status.storeUnavailable'));
        deps.log.error(deps.translate('error.storeUnavailable', { message: err.message }));
        this.startProbe();
      },
      onBack: () => {
        this.stopProbe();
        deps.log.log(deps.translate('log.storeBack'));
        this.showCounts();
        // What the flow was doing when the database went away may have failed half-way (a conversation
        // step, a send not yet in the outbox): hand on again what is not settled yet. The package's
        // nodes do nothing twice for one SmsSid, so what did get done is not done again.
        void this.handOn(() => deps.store.unhandledInbound(deps.routePath), 'log.replayAfterOutage');
      },
    });
    // An SMS counts as handled once the flow is done with it (every node it reached has called
    // done(): its opt-out, conversation step or outbox row is committed) and it was handed on at
    // least `replayWindowMs` ago, whichever comes last. A busy machine can take longer than the
    // window to act on an SMS: a fixed window alone would mark it handled before its effect was
    // in the store, and a crash would lose it. Should Node-RED die or stop sooner, it is handed on
    // again at the next start; the package's nodes do nothing twice for one SmsSid, so a replay is safe.
    this.replayWindowMs = deps.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.settleLimitMs = Math.max(deps.settleLimitMs ?? DEFAULT_SETTLE_LIMIT_MS, this.replayWindowMs);
    this.settleTimer = this.timers.setInterval(() => void this.markSettled(), Math.max(50, Math.min(this.replayWindowMs, 5_000)));
    const { webhookProblem, webhookAuth, mode } = deps.account;
    if (webhookProblem) {
      // The route stays, so that Exotel (and anyone else) gets a 401 that says why, not a 404.
      deps.status.now('red', 'ring', deps.translate(`status.${webhookProblem}`));
      deps.log.warn(deps.translate(`warn.${webhookProblem}`, { path: deps.routePath }));
    } else if (webhookAuth === 'none' && mode === 'live') {
      deps.status.now('yellow', 'ring', deps.translate('status.listeningOpen', { path: deps.routePath }));
      deps.log.warn(deps.translate('warn.noAuthentication', { path: deps.routePath }));
    } else {
      deps.status.now('grey', 'ring', deps.translate('status.listening', { path: deps.routePath }));
    }
  }

  /** Exotel's legacy applet asks with HEAD first. */
  head(call: InboundCall): Reply {
    return this.authorise(call) ?? { status: 200 };
  }

  /** A callback: answered through `respond` (before the SMS is handed to the flow). */
  callback(call: InboundCall, respond: (reply: Reply) => void): Promise<void> {
    return this.receive(call, respond, false);
  }

  /**
   * A reply typed in the sandbox phone, handed over in-process: the same token, allow-list, parsing,
   * dedupe and record as a callback, and the answer Exotel would get. Only for this node's own account,
   * and only while that account is in sandbox mode: a sandbox reply never reaches a live flow.
   */
  sandboxReply(accountId: string, call: InboundCall): Promise<Reply> {
    if (!this.deps.sandboxAccountId || accountId !== this.deps.sandboxAccountId) {
      return Promise.resolve(this.reject(403, 'this SMS in node takes sandbox replies only for its own sandbox account', call));
    }
    return new Promise((resolve) => void this.receive(call, resolve, true));
  }

  private async receive(call: InboundCall, respond: (reply: Reply) => void, fromSandbox: boolean): Promise<void> {
    const { account, store, log, translate: m } = this.deps;
    try {
      const refused = this.authorise(call);
      if (refused) return respond(refused);
      let raw: RawBody;
      try {
        // Stryker disable next-line ObjectLiteral: equivalent; the parser reads no body that is missing or empty
        raw = call.method === 'GET' ? { body: Buffer.alloc(0) } : await call.readBody();
      } catch (err) {
        if (err instanceof BodyError) return respond(this.reject(err.status, err.message, call));
        throw err;
      }
      const parsed = parseInbound({ method: call.method, contentType: raw.contentType ?? call.contentType, query: call.query, rawBody: raw.body }, account.defaultCountry);
      if (!parsed.ok) return respond(this.reject(parsed.status, parsed.reason, call, raw));
      const sms = parsed.sms;
      if (sms.accountSid && account.accountSid && sms.accountSid !== account.accountSid) {
        return respond(this.reject(403, 'the AccountSid is not this account’s', call, raw));
      }
      if (!sms.accountSid) sms.accountSid = account.accountSid;
      const record: InboundRecord = { ...sms, endpoint: this.deps.routePath };
      let isNew: boolean;
      try {
        isNew = await store.recordInbound(record);
      } catch (err) {
        // Not recorded: answer 503 so that Exotel tries again, rather than lose the SMS.
        this.storeWait.note(err);
        if (!this.storeWait.unavailable) log.error(m('error.record', { sid: sms.sid, message: (err as Error).message }));
        const reason = this.storeWait.unavailable ? 'the database is unavailable' : 'the message could not be recorded';
        return respond({ status: 503, error: `${reason}; try again` });
      }
      respond({ status: 200 });
      this.storeWait.note();
      if (!isNew) {
        this.counts.duplicate++;
        this.showCounts();
        return;
      }
      this.counts.received++;
      this.showCounts();
      // In the phone's thread before the flow can answer it, so that the answer comes after it.
      if (!fromSandbox && this.deps.onCallbackSms) {
        await this.deps.onCallbackSms(sms).catch((err: Error) => log.warn(m('warn.sandboxThread', { sid: sms.sid, message: account.redact(err.message) })));
      }
      if (!this.closed) this.emit(sms);
    } catch (err) {
      log.error(m('error.callback', { message: account.redact((err as Error).message) }));
      respond({ status: 500, error: 'internal error' });
    }
  }

  /** SMS recorded before a restart but never handed to the flow (the process died in between). */
  async replay(): Promise<void> {
    if (this.closed) return;
    const { store, takeOver } = this.deps;
    await this.handOn(() => store.unhandledInbound(this.deps.routePath), 'log.replay');
    if (takeOver && !this.takeOverTimer && !this.closed) {
      const claim = async () => (await this.claims.claim(takeOver.claim)) ?? [];
      this.takeOverTimer = this.timers.setInterval(() => void this.handOn(claim, 'log.takeOver'), takeOver.everyMs);
    }
  }

  private async handOn(read: () => Promise<InboundRecord[]>, logKey: string): Promise<void> {
    const { log, translate: m } = this.deps;
    try {
      const pending = await read();
      if (pending.length > 0) log.log(m(logKey, { count: pending.length }));
      for (const record of pending) {
        if (this.closed) return;
        const { endpoint: _endpoint, ...sms } = record;
        this.emit(sms, true);
      }
    } catch (err) {
      this.storeWait.note(err);
      if (!this.storeWait.unavailable) log.error(m('error.readLog', { message: (err as Error).message }));
    }
  }

  /** Stops handing on; marks as handled what the flow is done with (the rest is handed on again at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    // Stryker disable next-line ConditionalExpression: equivalent; clearing no timer does nothing
    if (this.takeOverTimer) this.timers.clearInterval(this.takeOverTimer);
    this.deps.status.stop();
    this.timers.clearInterval(this.settleTimer);
    await this.markSettled();
    await this.deps.refusals?.close();
    for (const e of this.emitted) e.stop?.();
    // Stryker disable next-line ArrayDeclaration: equivalent; a closed node settles nothing more, and an entry with no time is never settled
    this.emitted = [];
    for (const sid of this.waitingTurn) this.deps.turns?.drop(sid);
    this.waitingTurn.clear();
  }

  private startProbe(): void {
    const probe = this.deps.probe;
    if (!probe || this.probeTimer || this.closed) return;
    this.probeTimer = this.timers.setInterval(() => {
      probe().then(
        () => this.storeWait.note(),
        // Stryker disable next-line ArrowFunction: equivalent; the probe runs only while the store is down, and noting another failure then changes nothing
        (err: unknown) => this.storeWait.note(err),
      );
    }, this.deps.probeMs ?? 2_000);
  }

  private stopProbe(): void {
    // Stryker disable next-line ConditionalExpression: equivalent; clearing no timer does nothing
    if (this.probeTimer) this.timers.clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private emit(sms: InboundSms, replayed = false): void {
    const turns = this.deps.turns;
    if (!turns) return this.handTo(sms, replayed);
    // Several instances: in its turn, after the earlier SMS of this number (it stays unhandled meanwhile).
    this.waitingTurn.add(sms.sid);
    turns.take(sms).then(
      () => undefined,
      (err: Error) => this.deps.log.warn(this.deps.translate('warn.turn', { sid: sms.sid, message: err.message })),
    ).finally(() => {
      if (!this.waitingTurn.delete(sms.sid) || this.closed) return;
      this.handTo(sms, replayed);
    });
  }

  private handTo(sms: InboundSms, replayed: boolean): void {
    const msg: InboundMessage = { payload: sms.body, phone: sms.from, sms: replayed ? { ...sms, replayed: true } : { ...sms } };
    const entry: Emitted = { sid: sms.sid, at: this.timers.now(), done: !this.deps.follow };
    this.emitted.push(entry);
    const followed = this.deps.follow?.(msg, (failure) => {
      if (failure === undefined) {
        entry.done = true;
        this.deps.turns?.finish(sms);
        return;
      }
      // A node gave up on it because the database went away: not handled. It stays unhandled in
      // the store and is handed on again once the database answers (the nodes do nothing twice).
      this.emitted = this.emitted.filter((e) => e !== entry);
      this.storeWait.note(failure);
    });
    entry.stop = followed?.stop;
    this.deps.emit(msg);
    followed?.sent();
  }

  private async markSettled(): Promise<void> {
    const now = this.timers.now();
    const windowFrom = now - this.replayWindowMs;
    const limitFrom = now - this.settleLimitMs;
    const settled: Emitted[] = [];
    // Stryker disable next-line ArrayDeclaration: equivalent; an entry with no time is never settled nor marked
    const left: Emitted[] = [];
    for (const e of this.emitted) ((e.done && e.at <= windowFrom) || e.at <= limitFrom ? settled : left).push(e);
    if (settled.length === 0) return;
    this.emitted = left;
    const { log, translate: m } = this.deps;
    const notDone = settled.filter((e) => !e.done);
    // Stryker disable next-line OptionalChaining: equivalent; only a followed SMS can be not done, and follow() always gives a stop
    for (const e of notDone) e.stop?.();
    if (notDone.length > 0 && !this.notDoneWarned) {
      // Once per node: a node of the flow that never calls done() would otherwise say so for every SMS.
      this.notDoneWarned = true;
      log.warn(m('warn.notDone', { count: notDone.length, seconds: Math.round(this.settleLimitMs / 1_000) }));
    }
    await this.deps.store.markInboundHandled(settled.map((e) => e.sid)).catch((err: Error) => {
      // The database cannot be reached (restarting): marked at a later tick, once it answers. Dropped,
      // they would stay unhandled while this instance runs (nothing else hands them on again), kept past
      // the retention period, and handed on again at the next start.
      if (isUnavailable(err)) this.emitted.unshift(...settled);
      else log.warn(m('warn.markHandled', { count: settled.length, message: err.message }));
    });
  }

  /** The refusal of a callback that is not from Exotel for this account, or null when it is. */
  private authorise(call: InboundCall): Reply | null {
    const refused = refusal(this.deps.account, this.deps.allowList, call);
    return refused ? this.reject(refused.status, refused.reason, call) : null;
  }

  private reject(status: number, reason: string, call: InboundCall, raw?: RawBody): Reply {
    this.counts.rejected++;
    this.showCounts();
    const reply = { status, error: reason, challenge: status === 401 };
    this.deps.refusals?.note(call, reply, raw);
    return reply;
  }

  private showCounts(): void {
    const problem = this.deps.account.webhookProblem;
    if (problem) return this.deps.status.set('red', 'ring', this.deps.translate(`status.${problem}`));
    const { received, rejected } = this.counts;
    // An account open to anyone stays yellow: the user chose it, but it should not look all right.
    const open = this.deps.account.webhookAuth === 'none' && this.deps.account.mode === 'live';
    const fill = open || (rejected > 0 && received === 0) ? 'yellow' : 'green';
    this.deps.status.set(fill, 'dot', this.deps.translate(open ? 'status.countsOpen' : 'status.counts', this.counts));
  }
}
