// exotel-send's behaviour without Node-RED: turns a message into an SMS (number, text, sender, DLT),
// checks the opt-out, puts it in the outbox, hands it to the dispatcher, and hands the message on as
// sent or failed. After a restart it settles what the outbox still holds for this node.
import { randomBytes, randomUUID } from 'node:crypto';
import type { SendRequest } from '../../exotel/client';
import { SendError, type SendErrorInfo } from '../../exotel/errors';
import { SandboxGateway } from '../../exotel/sandbox';
import { DEFAULT_RETRY, type RetryPolicy } from '../../exotel/retry';
import { describeDifference, matchTemplate, type DltCategory, type DltTemplate } from '../../sms/dlt';
import { countSegments } from '../../sms/encoding';
import { maskCode, openText, sealText } from '../../sms/one-time-code';
import { toE164 } from '../../sms/phone';
import { renderText } from '../../sms/template';
import { istClock, promotionalKind, promotionalSendAt } from '../../sms/trai-hours';
import type { OutboxEntry, ReportRecord, Store } from '../../store';
import type { ExotelAccount } from '../exotel-account/controller';
import { shown, systemTimers, type Done, type Evaluate, type NodeLog, type Send, type StatusLine, type Timers, type Translate } from '../shared/ports';
import { OutboxDispatcher, type DispatchOutcome, type Outgoing } from './outbox-dispatcher';
import { messageOf, ReportSettler } from './report-settler';
import { StoreWait } from '../shared/store-wait';
import { ClaimKey } from '../shared/claim-key';

import { MAX_ATTEMPTS, PRIORITIES, SMS_TYPES, templateOf } from './contract';
import { answersHelpFrom, carriesFreshOptOut, OPT_OUT_CONFIRMATION_WINDOW_MS, optedOutError } from './opt-out-guard';

export { MAX_ATTEMPTS, OPT_OUT_CONFIRMATION_WINDOW_MS, PRIORITIES, SMS_TYPES };

/** The node's properties as saved by the editor. */
export interface SendConfig {
  to?: string;
  toType?: string;
  text?: string;
  textType?: string;
  from?: string;
  dltTemplateId?: string;
  smsType?: string;
  priority?: string;
  statusCallback?: string;
  attempts?: number | string;
  /** this node always sends the confirmation of an opt-out: one message within 10 minutes of it may pass */
  optOutConfirmation?: boolean;
  /** answers to HELP from an opted-out number reach it (saved before version 2: no) */
  helpReachesOptedOut?: boolean;
  /** a promotional or service-explicit send outside TRAI's hours: `hold` (until 10:00 IST, the default) or `fail` */
  outsideHours?: string;
}

export type SendMessage = {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  phone?: unknown;
  sms?: { sid?: string; from?: unknown };
  dltTemplateId?: unknown;
  exotel?: unknown;
  error?: unknown;
  [key: string]: unknown;
};

export type SendAccount = Pick<ExotelAccount, 'client' | 'configProblem' | 'defaultCountry' | 'defaultFrom' | 'dltEntityId' | 'redact'> &
  Partial<Pick<ExotelAccount, 'id' | 'mode' | 'reportsEnabled' | 'statusCallbackUrl'>> & {
    limiter: Pick<ExotelAccount['limiter'], 'acquire'>;
    /** the DLT templates the account lists: a send naming one must match it */
    dltTemplates?: readonly DltTemplate[];
  };

/** How long a send that was on the wire when Node-RED died waits for its delivery report before it is sent again. */
export const DEFAULT_RECONCILE_AFTER_MS = 15 * 60_000;

/** A CustomField of our own: it finds the send again in its delivery report. */
export function newCustomField(): string {
  return `smsflow-${randomBytes(9).toString('base64url')}`;
}

export interface SendDeps {
  nodeId: string;
  /** the node's name: the sandbox phone shows it beside what was not sent */
  nodeName?: string;
  config: SendConfig;
  account: SendAccount | null;
  store: Store;
  evaluate: Evaluate;
  translate: Translate;
  status: StatusLine;
  log: NodeLog;
  /** whether the failure output is wired: if not, a failure is reported through done(err) */
  failureWired(): boolean;
  /** first wait before a retry (settings.js `retryBaseDelayMs`) */
  retryBaseDelayMs?: number;
  /**
   * several instances on one database: this node's sends that dead instances left in the outbox, now
   * this one's (`claim`), and the delivery reports they recorded but did not hand on (`claimReports`).
   * `key`: the same again after a claim whose answer was lost, and the rows it took are answered too.
   */
  takeOver?: { claim: (key: string) => Promise<OutboxEntry[]>; claimReports?: (key: string) => Promise<ReportRecord[]>; everyMs: number };
  /** the secret that seals a text holding a one-time code while it waits in the outbox */
  codeKey?: Buffer;
  /** for tests: the dispatcher (and with it the clock) to use */
  dispatcher?: OutboxDispatcher;
  /** a send on the wire when Node-RED died waits this long for its delivery report, then goes again (settings.js `reconcileAfterMs`) */
  reconcileAfterMs?: number;
  /** the clock TRAI's hours are read on, and the timers of the dispatcher it makes */
  timers?: Timers;
}

/** The status after a failure that says its cause. */
const LAST_FAILURE_STATUS = new Map<string | number, string>([
  ['opted_out', 'status.countsOptedOut'],
  ['dlt_template_mismatch', 'status.countsDltMismatch'],
  ['dlt_template_unknown', 'status.countsDltUnknown'],
]);

/** The one-time code conversation-state put in the message, if any. */
export function codeOf(msg: SendMessage): string {
  const code = (msg.conversation as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** A request as the outbox keeps it: a text holding a code masked, and sealed for a send after a restart. */
type KeptRequest = SendRequest & { sealed?: string };


/** A send ready for the outbox: the request, and the category of the DLT template it names (if the account lists it). */
interface Prepared {
  request: SendRequest;
  category?: DltCategory;
}

/** What is known of a send when it fails: the sandbox phone files it under the number, with the text. */
interface Attempt {
  to?: string;
  body?: string;
}

/** A number of attempts between 1 and MAX_ATTEMPTS; blank or nonsense is the default. */
export function attemptsOf(value: unknown): number {
  return Math.min(MAX_ATTEMPTS, Math.max(1, Math.floor(Number(value) || DEFAULT_RETRY.attempts)));
}

/** The message as it will be handed on after a restart: what JSON keeps of it. */
export function storable(msg: SendMessage): unknown {
  const { req: _req, res: _res, ...rest } = msg;
  try {
    const kept = JSON.parse(JSON.stringify(rest)) as SendMessage;
    // The code leaves in the SMS only: the stored message (handed on after a restart) has none.
    // Stryker disable next-line ConditionalExpression: equivalent; deleting from text or a number removes nothing either
    if (kept.conversation && typeof kept.conversation === 'object') delete (kept.conversation as { code?: unknown }).code;
    return kept;
  } catch {
    return { _msgid: msg._msgid, payload: msg.payload, phone: msg.phone, topic: msg.topic };
  }
}

export class SendController {
  readonly dispatcher: OutboxDispatcher;
  readonly policy: RetryPolicy;
  private readonly smsType: string;
  private readonly priority: string;
  private readonly counts = { sent: 0, failed: 0, held: 0 };
  /** when the sends held for TRAI's hours go (the status shows it) */
  private heldUntil = 0;
  private readonly timers: Timers;
  private readonly storeWait: StoreWait;
  private readonly stopping = new AbortController();
  private takeOverTimer: NodeJS.Timeout | undefined;
  /** the keys of the take-over claims: kept while a claim's answer is lost */
  private readonly outboxClaims = new ClaimKey();
  private readonly reportClaims = new ClaimKey();
  /** where reports and sends settled after a restart go (node.send), from resume() on */
  private output: Send | undefined;
  private markStarted!: () => void;
  /** resolves once resume() has read what the outbox and the reports hold */
  private readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));
  /** delivery reports, and the sends on the wire at the last stop that wait for theirs */
  private readonly reports: ReportSettler;

  constructor(private readonly deps: SendDeps) {
    const { config, translate: m, log } = deps;
    // Values Exotel would refuse are dropped here, with a warning, rather than fail every send.
    // Stryker disable next-line StringLiteral: equivalent; no SMS type is named '' nor "Stryker was here!"
    this.smsType = (SMS_TYPES as readonly string[]).includes(config.smsType ?? '') ? config.smsType! : '';
    // Stryker disable next-line StringLiteral: equivalent; no priority is named '' nor "Stryker was here!"
    this.priority = (PRIORITIES as readonly string[]).includes(config.priority ?? '') ? config.priority! : '';
    if (config.smsType && !this.smsType) log.warn(m('warn.smsType', { smsType: config.smsType, types: SMS_TYPES.join(', ') }));
    if (config.priority && !this.priority) log.warn(m('warn.priority', { priority: config.priority }));
    this.timers = deps.timers ?? systemTimers;
    this.policy = { ...DEFAULT_RETRY, attempts: attemptsOf(config.attempts), baseDelayMs: deps.retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs };
    this.storeWait = new StoreWait({
      onDown: (err) => {
        deps.status.now('red', 'ring', m('status.storeUnavailable'));
        log.error(m('error.storeUnavailable', { message: err.message }));
      },
      onBack: () => {
        log.log(m('log.storeBack'));
        this.showCounts();
      },
      timers: this.timers,
    });
    this.dispatcher =
      deps.dispatcher ?? new OutboxDispatcher({ nodeId: deps.nodeId, store: deps.store, account: deps.account, policy: this.policy, redact: deps.account?.redact, storeWait: this.storeWait, timers: deps.timers });
    this.reports = new ReportSettler({
      store: deps.store,
      log,
      translate: m,
      timers: this.timers,
      reconcileAfterMs: deps.reconcileAfterMs ?? DEFAULT_RECONCILE_AFTER_MS,
      storeWait: this.storeWait,
      signal: this.stopping.signal,
      output: () => this.output,
      countSent: () => {
        this.counts.sent++;
        this.showCounts();
      },
      resend: (entry, send) => this.sendKept(entry, send, true),
    });
  }

  /** Whether the node can send at all; if not, the red status and the error are shown. */
  checkAccount(): boolean {
    const { account, status, log, translate: m } = this.deps;
    if (!account) {
      status.now('red', 'ring', m('status.noAccount'));
      log.error(m('error.noAccount'));
      return false;
    }
    if (account.configProblem) {
      status.now('red', 'ring', m('status.accountIncomplete'));
      log.error(m('error.accountCannotSend', { problem: account.configProblem }));
      return false;
    }
    status.now('grey', 'ring', m('status.ready'));
    return true;
  }

  /** One input message: checked, queued in the outbox, sent in its number's turn, handed on. */
  async handle(msg: SendMessage, send: Send, done: Done): Promise<void> {
    const { account, store, config } = this.deps;
    let prepared: Prepared;
    const attempt: Attempt = {};
    try {
      prepared = await this.prepare(msg, attempt);
    } catch (err) {
      return this.fail(msg, send, done, err instanceof SendError ? err : new SendError({ code: 'invalid_input', message: (err as Error).message, retryable: false }), attempt);
    }
    const { request } = prepared;
    // Stryker disable next-line OptionalChaining: equivalent; prepare() refused a node without an account already
    if (!account?.client) {
      return this.fail(msg, send, done, new SendError({ code: 'not_configured', message: `the Exotel account cannot send: ${account?.configProblem ?? 'no account'}`, retryable: false }), request);
    }
    // TRAI's hours: a promotional or service-explicit send outside them waits in the outbox until they open, or fails.
    let notBefore: number | null = null;
    const kind = promotionalKind(prepared.category, request.smsType);
    if (kind) {
      const now = this.timers.now();
      const sendAt = promotionalSendAt(now);
      if (sendAt > now && config.outsideHours === 'fail') {
        const message = `not sent: a ${kind} SMS may go only from 10:00 to 21:00 India time (TRAI), and it is ${istClock(now)} IST`;
        return this.fail(msg, send, done, new SendError({ code: 'outside_promotional_hours', message, retryable: false }), request);
      }
      if (sendAt > now) notBefore = sendAt;
    }
    // The opt-out guard before the queue. The message that carries a fresh opt-out (or any message
    // on a node ticked to confirm opt-outs) may take the number's one confirmation; an answer to the
    // number's own HELP passes when the node allows it.
    // While the database cannot be reached, the message waits here (red status) and goes on once it answers.
    const waitFor = <T>(call: () => Promise<T>) => this.storeWait.retry(call, this.stopping.signal);
    // This send's own key: a call asked again because its answer was lost after it committed (the
    // database's connection dropped) finds what it did, rather than take it for somebody else's.
    const sendKey = randomUUID();
    let confirmationClaimed = false;
    const helpAnswer = config.helpReachesOptedOut === true && answersHelpFrom(msg, request.to);
    if (!helpAnswer && (await waitFor(() => store.isOptedOut(request.to)))) {
      const confirms = !!config.optOutConfirmation || carriesFreshOptOut(msg, request.to);
      confirmationClaimed = confirms && (await waitFor(() => store.claimOptOutConfirmation(request.to, OPT_OUT_CONFIRMATION_WINDOW_MS, sendKey)));
      if (!confirmationClaimed) return this.fail(msg, send, done, optedOutError(request.to), request);
    }
    // In the store before it waits for anything, so that a restart does not lose it; together with
    // the claim of the one send per inbound SMS and recipient, so that a replayed SMS sends nothing twice.
    const inboundSid = typeof msg.sms?.sid === 'string' ? msg.sms.sid : undefined;
    const claimKey = inboundSid ? `${inboundSid}>${request.to}` : null;
    const code = codeOf(msg);
    const message = storable(msg);
    const outboxId = await waitFor(() => store.addToOutbox({ nodeId: this.deps.nodeId, phone: request.to, request: this.kept(request, code), message, claimKey, confirmation: confirmationClaimed, notBefore, attempt: sendKey }));
    if (outboxId === null) {
      // The claim taken by a replay: the confirmation goes back. Unless this send queued it after all
      // (its answer lost, and the entry taken over by another instance meanwhile, which sends it).
      if (confirmationClaimed) await store.releaseOptOutConfirmation(request.to, sendKey).catch(() => undefined);
      // Stryker disable next-line OptionalChaining: equivalent; a node's log always has debug()
      this.deps.log.debug?.(`already queued for ${inboundSid} (by this node before, or taken over by another instance)`);
      return done();
    }
    const out: Outgoing = { outboxId, request, claimKey, confirmationClaimed, helpAnswer, code: code || undefined, message };
    if (notBefore !== null && !(await this.hold(notBefore))) return done();
    this.settle(await this.dispatcher.inOrder(request.to, () => this.dispatcher.dispatch(out)), out, msg, send, done);
  }

  /**
   * After a restart: what this node had queued goes out, once, in order. What was being handed to
   * Exotel when Node-RED died fails instead (it may have gone out). Resolves when all is settled.
   */
  async resume(send: Send): Promise<void> {
    const { store, nodeId, takeOver } = this.deps;
    this.output = send;
    try {
      if (takeOver) {
        // Several instances: this node's entries of instances that died or stopped (this process's
        // previous run among them, once its lease ran out), now and every few seconds; never a live one's.
        this.takeOverTimer = setInterval(() => void this.takeOver(takeOver, send, 'log.takeOver'), takeOver.everyMs);
        await this.takeOver(takeOver, send, 'log.resume', true);
      } else {
        await this.resumeEntries([...(await store.outboxEntries(nodeId, 'sending')), ...(await store.outboxEntries(nodeId, 'queued'))], send, 'log.resume', true);
      }
    } finally {
      this.markStarted();
    }
  }

  /** An operator queued a failed send again (the SMS tab): it goes out as a resumed one would. */
  resend(entry: OutboxEntry, send: Send): Promise<void> {
    return this.resumeEntries([entry], send, 'log.resend');
  }

  /**
   * A delivery report of one of this node's SMS: on the report output with the message as it was sent.
   * A send that was on the wire when Node-RED died and waits for it is sent, late, first.
   */
  async onReport(record: ReportRecord): Promise<void> {
    await this.started;
    if (!this.stopping.signal.aborted) await this.reports.handOn(record);
  }

  private async takeOver(takeOver: NonNullable<SendDeps['takeOver']>, send: Send, logKey: string, first = false): Promise<void> {
    if (this.stopping.signal.aborted) return;
    let entries: OutboxEntry[] | null;
    try {
      entries = await this.outboxClaims.claim(takeOver.claim);
    } catch (err) {
      this.storeWait.note(err);
      return;
    }
    // null: the previous tick's claim is still under way
    if (entries) await this.resumeEntries(entries, send, logKey, first);
    // the first time, resumeEntries read this node's own reports and the dead instances' ones too
    const { claimReports } = takeOver;
    if (first || !claimReports || this.stopping.signal.aborted) return;
    try {
      // after the sends above: one that waits for its report is settled by it
      for (const record of (await this.reportClaims.claim(claimReports)) ?? []) await this.reports.handOn(record);
    } catch (err) {
      this.storeWait.note(err);
    }
  }

  private async resumeEntries(entries: OutboxEntry[], send: Send, logKey: string, withReports = false): Promise<void> {
    const { store, log, translate: m } = this.deps;
    const queued = entries.filter((e) => e.state === 'queued');
    // Asked of Exotel when Node-RED died. The send log says how far it got: not logged, it never left
    // (sent now); an SmsSid, it went (sent, late). Otherwise only its delivery report can tell: with
    // reports, it waits for one (and goes again if none comes); without, it fails as interrupted rather
    // than give the customer two.
    for (const entry of entries.filter((e) => e.state === 'sending')) {
      const customField = (entry.request as KeptRequest).customField;
      const logged = customField ? await store.sendLogEntry(customField) : undefined;
      if (customField && logged === null) queued.push(entry);
      else if (logged?.sid) await this.reports.settleLate(entry, logged);
      else if (customField && this.hearsReports()) this.reports.await(customField, entry);
      else await this.interrupted(entry, send);
    }
    if (queued.length > 0) {
      log.log(m(logKey, { count: queued.length }));
      const held = queued.filter((entry) => entry.notBefore !== null && entry.notBefore > this.timers.now()).length;
      if (held > 0) log.log(m('log.resumeHeld', { count: held }));
      await Promise.allSettled(queued.map((entry) => this.sendKept(entry, send)));
    }
    // Reports that came while this node was not running (or before it had read its outbox)
    if (withReports) {
      try {
        for (const record of await store.unhandledReports(this.deps.nodeId)) await this.reports.handOn(record, true);
      } catch (err) {
        log.warn(m('warn.reports', { message: (err as Error).message }));
      }
    }
  }

  private doneFor(msg: SendMessage): Done {
    return (err) => {
      if (err) this.deps.log.error(err, msg);
    };
  }

  /** Nobody can tell whether it went: it fails, with the reason, for someone to look at. */
  private async interrupted(entry: OutboxEntry, send: Send): Promise<void> {
    const err = new SendError({
      code: 'interrupted',
      message: `Node-RED stopped while Exotel was being asked to send this SMS to ${entry.phone}: it may or may not have gone out, so it is not sent again`,
      retryable: false,
      maybeSent: true,
    });
    await this.deps.store.failOutboxEntry(entry.id, entry.attempts, err.toJSON());
    const msg = messageOf(entry);
    this.fail(msg, send, this.doneFor(msg), err, entry.request as Attempt);
  }

  /** Sends an entry the outbox kept (queued, or never sent, or given up waiting for its report). */
  private async sendKept(entry: OutboxEntry, send: Send, resent = false): Promise<void> {
    const { store, nodeId } = this.deps;
    const msg = messageOf(entry);
    const helpAnswer = this.deps.config.helpReachesOptedOut === true && answersHelpFrom(msg, entry.phone);
    const { sealed, ...request } = entry.request as KeptRequest;
    let code: string | undefined;
    if (sealed !== undefined) {
      const opened = openText(sealed, this.deps.codeKey);
      if (opened === null) {
        // Sealed under another secret (exotelSms.codeSecret changed): the text cannot be rebuilt.
        const err = new SendError({ code: 'code_unreadable', message: `the text to ${entry.phone} held a one-time code that cannot be read back (the code secret changed): nothing was sent`, retryable: false });
        await store.failOutboxEntry(entry.id, entry.attempts, err.toJSON());
        if (entry.claimKey) await store.releaseSend(nodeId, entry.claimKey).catch(() => undefined);
        return this.fail(msg, send, this.doneFor(msg), err);
      }
      ({ body: request.body, code } = JSON.parse(opened) as { body: string; code: string });
    }
    const maybeSentBefore = resent || (entry.error as { maybeSent?: unknown } | null)?.maybeSent === true;
    const out: Outgoing = { outboxId: entry.id, request, claimKey: entry.claimKey, confirmationClaimed: entry.confirmation, helpAnswer, code, maybeSentBefore, message: entry.message };
    // held for TRAI's hours before the restart: it still waits for them
    if (entry.notBefore !== null && !(await this.hold(entry.notBefore))) return;
    const outcome = await this.dispatcher.inOrder(entry.phone, () => this.dispatcher.dispatch(out));
    this.settle(outcome, out, msg, send, this.doneFor(msg), resent);
  }

  /** Whether Exotel's reports of this node's SMS come to this account (not to the node's own status callback). */
  private hearsReports(): boolean {
    const { account, config } = this.deps;
    if (!account?.reportsEnabled) return false;
    return account.mode === 'sandbox' || !(config.statusCallback ?? '').trim();
  }

  /** Deletes failed sends and send claims older than `retentionMs`; a store error is only logged. */
  async purgeOld(retentionMs: number): Promise<void> {
    const { store, log, translate: m } = this.deps;
    try {
      const before = Date.now() - retentionMs;
      const purged = (await store.purgeFinishedSends(before)) + (await store.purgeSendLog(before));
      if (purged > 0) log.debug?.(`purged ${purged} finished sends, claims and logged SMS`);
    } catch (err) {
      log.warn(m('warn.purge', { message: (err as Error).message }));
    }
  }

  /** Stops the waits: messages waiting for the rate limit or a retry stay in the outbox. */
  stop(): void {
    this.deps.status.stop();
    this.stopping.abort();
    clearInterval(this.takeOverTimer);
    this.reports.stop();
    this.dispatcher.stop();
  }

  /**
   * A send held for TRAI's hours waits here, outside its number's turn (an OTP to the same number
   * goes meanwhile), counted in the status. False when the node stops first: it stays in the outbox.
   */
  private async hold(until: number): Promise<boolean> {
    if (until <= this.timers.now()) return true;
    this.counts.held++;
    this.heldUntil = until;
    this.showCounts();
    try {
      return await this.dispatcher.holdUntil(until);
    } finally {
      this.counts.held--;
      this.showCounts();
    }
  }

  /** The request as the outbox keeps it: a code in the text masked, the text sealed under the code secret. */
  private kept(request: SendRequest, code: string): KeptRequest {
    if (!code || !request.body.includes(code)) return request;
    const { codeKey } = this.deps;
    return { ...request, body: maskCode(request.body, code), sealed: codeKey ? sealText(JSON.stringify({ body: request.body, code }), codeKey) : '' };
  }

  /** `resent`: no report came of an earlier request of it, so it went again; should that one have gone after all, the customer has two. */
  private settle(outcome: DispatchOutcome, out: Outgoing, msg: SendMessage, send: Send, done: Done, resent = false): void {
    if (outcome.outcome === 'kept') return done();
    if (outcome.outcome === 'failed') return this.fail(msg, send, done, outcome.error, out.request);
    msg.exotel = { ...outcome.result, segments: outcome.result.segments || countSegments(out.request.body).segments, ...(resent ? { maybeSent: true } : {}) };
    this.counts.sent++;
    this.showCounts();
    send([msg, null]);
    done();
  }

  private fail(msg: SendMessage, send: Send, done: Done, err: SendError, attempt: Attempt = {}): void {
    const info = err.toJSON();
    if (this.deps.account) info.message = this.deps.account.redact(info.message);
    msg.error = info;
    this.showInSandbox(msg, info, attempt);
    this.counts.failed++;
    this.showCounts(LAST_FAILURE_STATUS.get(info.code) ?? 'status.counts');
    send([null, msg]);
    // Unwired failure output: report through done(err) so that a Catch node and the debug sidebar see it.
    if (this.deps.failureWired()) done();
    else done(Object.assign(new Error(this.deps.translate('error.notSent', { message: info.message })), { code: info.code }));
  }

  /** A sandbox account's phone shows what was not sent, in the customer's thread, with the cause and this node. */
  private showInSandbox(msg: SendMessage, error: SendErrorInfo, attempt: Attempt): void {
    const client = this.deps.account?.client;
    if (!(client instanceof SandboxGateway)) return;
    // a number that could not be used: the thread of the customer whose SMS the flow answers
    const to = attempt.to || (typeof msg.sms?.from === 'string' ? msg.sms.from : '');
    if (!to) return;
    const body = attempt.body ?? (typeof msg.payload === 'string' ? msg.payload : '');
    const { nodeId, nodeName = '', log, translate: m } = this.deps;
    client
      .notSent({ to, body, code: String(error.code), message: error.message, nodeId, nodeName })
      .catch((err: Error) => log.warn(m('warn.sandboxThread', { message: err.message })));
  }

  /** The counts under the node; after a send an opt-out blocked, that is said too. */
  private showCounts(key = 'status.counts'): void {
    const { sent, failed, held } = this.counts;
    if (held > 0 && key === 'status.counts') {
      this.deps.status.set('blue', 'ring', this.deps.translate('status.countsHeld', { sent, failed, held, until: istClock(this.heldUntil) }));
      return;
    }
    // a text that does not match its DLT template fails every time until the node or the account is changed: red
    if (key.startsWith('status.countsDlt')) this.deps.status.set('red', 'ring', this.deps.translate(key, { sent, failed }));
    else this.deps.status.set(failed > 0 ? 'yellow' : 'green', 'dot', this.deps.translate(key, { sent, failed }));
  }

  private async prepare(msg: SendMessage, attempt: Attempt): Promise<Prepared> {
    const { account, config, evaluate } = this.deps;
    if (!account) throw new SendError({ code: 'no_account', message: 'no Exotel account is configured on this node', retryable: false });
    const rawTo = await evaluate(config.to || 'phone', config.toType || 'msg', msg);
    const to = toE164(rawTo, account.defaultCountry, 'valid');
    // Stryker disable next-line StringLiteral: equivalent; toE164 checks only a number's length for any check but 'valid'
    attempt.to = to ?? toE164(rawTo, account.defaultCountry, 'possible') ?? undefined;
    if (!to) throw new SendError({ code: 'invalid_number', message: `${shown(rawTo)} is not a valid phone number`, retryable: false });
    const textType = config.textType || 'msg';
    let body: unknown = textType === 'str' ? renderText(config.text ?? '', msg) : await evaluate(config.text || 'payload', textType, msg);
    if (typeof body === 'number' || typeof body === 'boolean') body = String(body);
    if (typeof body !== 'string') throw new SendError({ code: 'invalid_text', message: 'the text to send is not text', retryable: false });
    attempt.body = body;
    if (body.trim() === '') throw new SendError({ code: 'empty_text', message: 'the text to send is empty', retryable: false });
    const from = (config.from ?? '').trim() || account.defaultFrom;
    if (!from) throw new SendError({ code: 'no_sender', message: 'no sender: set "From" on the node or a default sender on the account', retryable: false });
    const templateId = (config.dltTemplateId ?? '').trim() || (typeof msg.dltTemplateId === 'string' || typeof msg.dltTemplateId === 'number' ? String(msg.dltTemplateId) : '');
    if (account.dltEntityId && !templateId) {
      // India's DLT: Exotel refuses a message without its registered template; say so before calling.
      throw new SendError({ code: 'no_dlt_template', message: 'no DLT template id: set it on the node or in msg.dltTemplateId', retryable: false });
    }
    const category = templateId ? this.checkTemplate(templateId, body) : undefined;
    const request: SendRequest = {
      from,
      to,
      body,
      encoding: countSegments(body).encoding,
      dltEntityId: account.dltEntityId || undefined,
      dltTemplateId: templateId || undefined,
      smsType: this.smsType || undefined,
      priority: this.priority || undefined,
      statusCallback: (config.statusCallback ?? '').trim() || undefined,
      customField: newCustomField(),
    };
    return { request, category };
  }

  /**
   * DLT: a text that does not match its registered template is refused by the operator and billed
   * by Exotel, so it fails here, before any request. Checked when the account lists templates.
   */
  private checkTemplate(templateId: string, body: string): DltCategory | undefined {
    const templates = this.deps.account?.dltTemplates ?? [];
    if (templates.length === 0) return undefined;
    const template = templateOf(templates, templateId);
    if (!template) {
      throw new SendError({ code: 'dlt_template_unknown', message: `DLT template ${templateId} is not among the account's templates: add it to the Exotel account, or correct the id`, retryable: false });
    }
    const difference = matchTemplate(template.text, body);
    if (difference) {
      const name = template.name ? ` (${template.name})` : '';
      throw new SendError({ code: 'dlt_template_mismatch', message: `the text does not match DLT template ${template.id}${name}: ${describeDifference(difference)}`, retryable: false });
    }
    return template.category;
  }
}
