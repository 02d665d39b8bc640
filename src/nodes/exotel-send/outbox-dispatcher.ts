// The send pipeline behind exotel-send, for entries already in the outbox: one number's messages one
// after another, the account's pace, the opt-out guard right before each attempt, retries with their
// waits, and the outbox kept up to date. It talks to the store only through its asynchronous
// interface, so that any store (SQLite, PostgreSQL) serves it.
import { setMaxListeners } from 'node:events';
import type { SendRequest, SendResult, SmsGateway } from '../../exotel/client';
import { SendError } from '../../exotel/errors';
import type { Release } from '../../exotel/limiter';
import { withRetry, type RetryPolicy } from '../../exotel/retry';
import { maskCode } from '../../sms/one-time-code';
import type { SendLogStart, Store } from '../../store';
import { systemTimers, type Timers } from '../shared/ports';
import { StoreWait } from '../shared/store-wait';
import { optedOutError } from './opt-out-guard';

/** The longest wait a Node.js timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type OutboxStore = Pick<
  Store,
  | 'isOptedOut' | 'startSendAttempt' | 'noteOutboxAttempt' | 'finishSend' | 'failOutboxEntry' | 'releaseOptOutConfirmation'
  | 'logSendFailed'
>;

/** What the dispatcher needs of the account, read at each attempt (the account may go away). */
export interface SendingAccount {
  client: SmsGateway | null;
  limiter: { acquire(signal?: AbortSignal): Promise<Release> };
  /** the config node's id, for the send log */
  id?: string;
  /** where Exotel posts the delivery report of a send that names no status callback of its own */
  statusCallbackUrl?: string | null;
  /** whether the account hears delivery reports (the sandbox, or a live account with a public URL) */
  reportsEnabled?: boolean;
}

/** One outbox entry on its way. */
export interface Outgoing {
  outboxId: number;
  request: SendRequest;
  /** the claim of the one send per inbound SMS and recipient (kept, also when the send fails) */
  claimKey: string | null;
  /** the send holds the number's one opt-out confirmation */
  confirmationClaimed: boolean;
  /** the send answers a HELP from this number, and the node lets such answers reach an opted-out number */
  helpAnswer?: boolean;
  /** a one-time code in the text: masked in any error the outbox keeps */
  code?: string;
  /** an attempt before a restart got no answer (the outbox kept its error): Exotel may have sent it */
  maybeSentBefore?: boolean;
  /** the message as the outbox keeps it: the send log keeps it too, for the report output */
  message?: unknown;
}

export type DispatchOutcome =
  | { outcome: 'sent'; result: SendResult }
  | { outcome: 'failed'; error: SendError }
  /** the node stopped or the account went away: the entry stays queued for the next start */
  | { outcome: 'kept' };

export interface DispatcherDeps {
  /** the send node owning the outbox entries */
  nodeId: string;
  store: OutboxStore;
  account: SendingAccount | null;
  policy: RetryPolicy;
  /** takes the account's credentials out of a text (an error page may echo them) */
  redact?: (text: string) => string;
  timers?: Timers;
  /** while the database cannot be reached, store calls wait here (and the node says so) */
  storeWait?: StoreWait;
}

export class OutboxDispatcher {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly stopping = new AbortController();
  private readonly timers: Timers;
  private readonly storeWait: StoreWait;

  constructor(private readonly deps: DispatcherDeps) {
    this.timers = deps.timers ?? systemTimers;
    this.storeWait = deps.storeWait ?? new StoreWait({ onDown: () => undefined, onBack: () => undefined, timers: this.timers });
    // every message waiting for the rate limit or a retry listens to it
    setMaxListeners(0, this.stopping.signal);
  }

  /**
   * Messages to one number go one after another, so that they arrive in the order they were sent,
   * retries included. `job` starts when the number's previous job has ended, whatever its outcome.
   */
  inOrder<T>(phone: string, job: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(phone) ?? Promise.resolve()).then(job, job);
    this.chains.set(phone, next);
    void next.then(
      // Stryker disable next-line ArrowFunction: equivalent; forgetting a number's finished chain only frees memory
      () => this.forget(phone, next),
      // Stryker disable next-line ArrowFunction: equivalent; as above
      () => this.forget(phone, next),
    );
    return next;
  }

  /** Queues an entry behind the number's earlier ones, then sends it. */
  enqueue(out: Outgoing): Promise<DispatchOutcome> {
    return this.inOrder(out.request.to, () => this.dispatch(out));
  }

  /** Sends one entry now: pacing, opt-out guard, retries; settles the outbox entry. */
  async dispatch(out: Outgoing): Promise<DispatchOutcome> {
    const { store, account } = this.deps;
    const { request } = out;
    const client = account?.client;
    // The account went away while the message waited: it stays in the outbox for the next start.
    if (!account || !client) return { outcome: 'kept' };
    // The opt-out guard, again right before each attempt: a STOP that arrives while this message
    // waits for the rate limit still stops it.
    const guard = async () => {
      // The database unreachable: the send waits for it, since nobody can tell whether the number opted out.
      if (out.confirmationClaimed || out.helpAnswer || !(await this.storeWait.retry(() => store.isOptedOut(request.to), this.stopping.signal))) return;
      throw optedOutError(request.to);
    };
    let attempts = 0;
    // Once an attempt may have gone, the outbox says so, so that a failure after a restart says it too.
    let maybeSent = out.maybeSentBefore === true;
    let logged = false;
    try {
      const result = await withRetry(
        this.deps.policy,
        async (n) => {
          attempts = n;
          const release = await account.limiter.acquire(this.stopping.signal);
          let dispatched = false;
          try {
            await guard();
            // 'sending' is committed before the request leaves: should this instance die while Exotel is
            // asked, whoever takes its outbox over knows the SMS may have gone, and does not send it again.
            // The send log has it before the request leaves: after a crash, a send it lacks never went.
            return await client.send(this.withCallback(request, account), async () => {
              const log = request.customField && !logged ? this.logStart(out, account) : null;
              await this.storeWait.retry(() => store.startSendAttempt(out.outboxId, log), this.stopping.signal);
              logged ||= log !== null;
              dispatched = true;
            });
          } finally {
            release(dispatched);
          }
        },
        (err, _waitMs, n) => {
          maybeSent ||= !!err.maybeSent;
          void store.noteOutboxAttempt(out.outboxId, n, this.kept(err, out, maybeSent)).catch(() => undefined);
        },
        (ms) => this.wait(ms),
      );
      // It went: whatever the database does now, it is reported sent (and taken out of the outbox once it answers).
      // The send log has its SmsSid no later than the entry leaves the outbox: after a crash, the restart knows it went.
      const { customField } = request;
      const accepted = customField ? { customField, sid: result.sid, exotelStatus: result.status, units: result.segments || null } : null;
      await this.storeWait.retry(() => store.finishSend(out.outboxId, accepted), this.stopping.signal).catch(() => undefined);
      return { outcome: 'sent', result };
    } catch (thrown) {
      let err = thrown instanceof SendError ? thrown : new SendError({ code: 'internal', message: String((thrown as Error)?.message ?? thrown), retryable: false });
      // Node-RED is stopping or redeploying: the message stays queued and goes out at the next start.
      if (err.code === 'stopped') return { outcome: 'kept' };
      if (out.maybeSentBefore && !err.maybeSent) {
        err = new SendError({ ...err.toJSON(), message: `${err.message} (an attempt before Node-RED restarted got no answer, so Exotel may have sent it)`, maybeSent: true });
      }
      // The claim stays: the flow has been told this send failed (output 2), and it may even have gone
      // (a timeout). The same SMS handed on again after a crash sends nothing a second time.
      await store.failOutboxEntry(out.outboxId, attempts, this.kept(err, out)).catch(() => undefined);
      if (logged && request.customField) await store.logSendFailed(request.customField, this.kept(err, out)).catch(() => undefined);
      if (out.confirmationClaimed) await store.releaseOptOutConfirmation(request.to).catch(() => undefined);
      return { outcome: 'failed', error: err };
    }
  }

  /**
   * The request as it goes: a send that names no status callback of its own gets the account's, if it
   * has one; its CustomField goes only to an account that hears reports (the send log keeps it all the same).
   */
  private withCallback(request: SendRequest, account: SendingAccount): SendRequest {
    if (!account.reportsEnabled) {
      const { customField: _kept, ...plain } = request;
      return plain;
    }
    return request.statusCallback || !account.statusCallbackUrl ? request : { ...request, statusCallback: account.statusCallbackUrl };
  }

  /** The send as the send log keeps it: the text with a one-time code masked. */
  private logStart(out: Outgoing, account: SendingAccount): SendLogStart {
    const { request } = out;
    return {
      customField: request.customField!,
      nodeId: this.deps.nodeId,
      account: account.id ?? '',
      phone: request.to,
      body: maskCode(request.body, out.code ?? ''),
      templateId: request.dltTemplateId ?? null,
      message: out.message ?? null,
    };
  }

  /** An error as the outbox keeps it: no credentials, no one-time code. */
  private kept(err: SendError, out: Outgoing, maybeSent = false): unknown {
    const info = err.toJSON();
    // Stryker disable next-line StringLiteral: equivalent; no error message holds "Stryker was here!" to mask
    info.message = maskCode(this.deps.redact ? this.deps.redact(info.message) : info.message, out.code ?? '');
    if (maybeSent) info.maybeSent = true;
    return info;
  }

  /**
   * Waits until `at` (ms since the epoch), however far off (a send held for TRAI's hours): true then,
   * false when the node stops first (the entry stays queued in the outbox for the next start).
   */
  async holdUntil(at: number): Promise<boolean> {
    for (;;) {
      const left = at - this.timers.now();
      if (left <= 0) return true;
      try {
        // a timer fires at most 2^31 - 1 ms ahead; the clock is read again when it does
        await this.wait(Math.min(left, MAX_TIMER_MS));
      } catch {
        return false;
      }
    }
  }

  /** Ends every wait for the rate limit or a retry: those messages stay queued in the outbox. */
  stop(): void {
    this.stopping.abort();
  }

  /** A retry waiting for its turn ends at once when the node stops, rather than hold up a redeploy. */
  private wait(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    return new Promise<void>((resolve, reject) => {
      const stopped = () => new SendError({ code: 'stopped', message: 'the node was stopped before the retry', retryable: true });
      if (signal.aborted) return reject(stopped());
      const onAbort = () => {
        this.timers.clearTimeout(timer);
        reject(stopped());
      };
      const timer = this.timers.setTimeout(() => {
        // Stryker disable next-line StringLiteral: equivalent; a listener left behind rejects a promise already settled
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent; a signal aborts once
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  // Stryker disable next-line BlockStatement: equivalent; forgetting a finished chain only frees memory
  private forget(phone: string, chain: Promise<unknown>): void {
    if (this.chains.get(phone) === chain) this.chains.delete(phone);
  }
}
