// conversation-state's behaviour without Node-RED: start, route, update, end and verify named
// conversations kept in the store. Route holds a customer's next reply until the flow has acted on
// the previous one (hold-queue.ts) and fires step timeouts (timeout-poller.ts).
import { codeFor, codeMatches, generateCode, hashCode, newSalt } from '../../sms/one-time-code';
import { toE164 } from '../../sms/phone';
import type { ConversationRecord, Store } from '../../store';
import { statusText, systemTimers, type Done, type Evaluate, type NodeLog, type Send, type StatusLine, type Timers, type Translate, type WatchCompletion } from '../shared/ports';
import { HoldQueue } from './hold-queue';
import { routeNodes, TimeoutPoller, type PollerElection } from './timeout-poller';

import { ACTIONS, DEFAULT_CODE, DEFAULT_MAX_AGE_HOURS, type ConversationAction } from './contract';

export { ACTIONS, DEFAULT_CODE, DEFAULT_MAX_AGE_HOURS, type ConversationAction };
export const DEFAULT_HOLD_MS = 2_000;
export const DEFAULT_TIMER_MS = 1_000;

export interface ConversationConfig {
  conversation?: string;
  action?: ConversationAction | string;
  key?: string;
  keyType?: string;
  /** the country of a number written without its country code; blank: India, as before version 2 */
  defaultCountry?: string;
  /** start: the first step; update: the step to move to (empty: stay) */
  step?: string;
  /** route: the steps, one output each */
  steps?: string[];
  /** start / update: "no reply within" minutes for the step entered (empty: no timeout) */
  timeout?: string | number;
  /** start: hours until the conversation expires */
  maxAge?: string | number;
  /** start / update / end: an object from msg, merged into the data */
  data?: string;
  dataType?: string;
  /** update / end: keep the reply in the data under this name (see replyOf) */
  saveAs?: string;
  /** start: create a one-time code */
  code?: boolean;
  codeLength?: string | number;
  codeLifetime?: string | number;
  codeAttempts?: string | number;
}

export type ConversationMessage = {
  payload?: unknown;
  phone?: unknown;
  keyword?: unknown;
  sms?: { sid?: unknown };
  conversation?: unknown;
  verification?: unknown;
  [key: string]: unknown;
};

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function optionalMinutes(value: unknown): number | null {
  // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: equivalent; '', undefined and null are not positive numbers either (the line below)
  if (value === '' || value === undefined || value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n * 60_000 : null;
}

/** The reply to keep: the keyword keyword-switch matched ("1" for "१."), else the text as sent. */
function replyOf(msg: { keyword?: unknown; payload?: unknown }): unknown {
  if (typeof msg.keyword === 'string' && msg.keyword) return msg.keyword;
  return typeof msg.payload === 'string' ? msg.payload.trim() : msg.payload;
}

/** msg.conversation as flows see it. */
export function view(record: ConversationRecord, extra: Record<string, unknown> = {}) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: record.name,
    key: record.key,
    step: record.step,
    data: record.data,
    startedAt: iso(record.startedAt),
    updatedAt: iso(record.updatedAt),
    expiresAt: iso(record.expiresAt),
    timesOutAt: iso(record.deadlineAt),
    ...extra,
  };
}

export interface ConversationDeps {
  nodeId: string;
  config: ConversationConfig;
  store: Store;
  evaluate: Evaluate;
  translate: Translate;
  status: StatusLine;
  log: NodeLog;
  /** hands on a message outside an input (a timeout) */
  send: Send;
  /** the upper bound of a hold: how long a reply may wait for the flow to finish with the previous one */
  holdMs?: number;
  /** tells when the flow is done with a routed message (Node-RED's message hooks); without it a hold lasts holdMs */
  watchCompletion?: WatchCompletion;
  timerMs?: number;
  /** the secret one-time codes are hashed with (kept outside the store) */
  codeKey?: Buffer;
  election?: PollerElection;
  timers?: Timers;
}

interface Held {
  msg: ConversationMessage;
  send: Send;
  done: Done;
  unwatch?: () => void;
}

export class ConversationController {
  readonly name: string;
  readonly action: ConversationAction;
  readonly steps: string[];
  private readonly timers: Timers;
  private readonly holds: HoldQueue<Held>;
  private readonly cleanups: Array<() => void> = [];
  private closed = false;
  private countDirty = true;

  constructor(private readonly deps: ConversationDeps) {
    const { config } = deps;
    this.name = (config.conversation ?? '').trim();
    // Stryker disable next-line StringLiteral: equivalent; no action is named '' nor "Stryker was here!"
    this.action = (ACTIONS as readonly string[]).includes(config.action ?? '') ? (config.action as ConversationAction) : 'route';
    this.steps = Array.isArray(config.steps) ? config.steps.map((s) => String(s).trim()).filter(Boolean) : [];
    this.timers = deps.timers ?? systemTimers;
    this.holds = new HoldQueue<Held>(deps.holdMs ?? DEFAULT_HOLD_MS, (key, held) => void this.routeNow(key, held), this.timers, (held) => held.unwatch?.());
  }

  /** Starts the status refresh and, for route, the release on change and the timeout poller. */
  attach(): void {
    const { store, translate: m, log } = this.deps;
    const countTimer = this.timers.setInterval(() => void this.refreshCount(), 1_000);
    this.cleanups.push(() => this.timers.clearInterval(countTimer));
    this.cleanups.push(store.onConversationChange((changed) => {
      if (changed === this.name) this.countDirty = true;
    }));
    void this.refreshCount();
    if (this.action !== 'route') return;
    // The flow changed the customer's conversation: their next reply may be routed by the new state.
    this.cleanups.push(store.onConversationChange((changed, key) => {
      if (changed === this.name && this.holds.isHeld(key)) setImmediate(() => this.holds.release(key));
    }));
    const poller = new TimeoutPoller({
      name: this.name,
      nodeId: this.deps.nodeId,
      store,
      election: this.deps.election ?? routeNodes,
      timers: this.timers,
      onDue: (record) => this.deps.send(this.routeOutput(this.steps.length + 1, { phone: record.key, payload: '', conversation: view(record, { timedOut: true }) })),
      onError: (err) => log.error(m('error.timeouts', { message: err.message })),
    });
    poller.start(this.deps.timerMs ?? DEFAULT_TIMER_MS);
    this.cleanups.push(() => poller.stop());
  }

  handle(msg: ConversationMessage, send: Send, done: Done): void {
    if (this.action === 'route') {
      this.keyOf(msg).then((key) => this.holds.offer(key, { msg, send, done }), (err: Error) => done(err));
      return;
    }
    const action = this.action === 'start' ? this.startConversation : this.action === 'update' ? this.update : this.action === 'end' ? this.end : this.verify;
    action.call(this, msg, send).then(
      () => done(),
      (err: Error) => {
        this.deps.status.now('red', 'ring', statusText(err.message));
        done(err);
      },
    );
  }

  /** Stops timers and holds; messages still waiting their turn are reported, not dropped silently. */
  close(): void {
    // Stryker disable next-line BooleanLiteral: equivalent; closing also stops the timer and the listener that refresh the count
    this.closed = true;
    for (const cleanup of this.cleanups) cleanup();
    for (const held of this.holds.close()) held.done(new Error(this.deps.translate('error.stopped')));
    this.deps.status.stop();
  }

  // ---- route: one output per step, then "no active conversation", then "timed out"
  private routeOutput(index: number, msg: unknown): unknown[] {
    const out: unknown[] = new Array(this.steps.length + 2).fill(null);
    out[index] = msg;
    return out;
  }

  private async routeNow(key: string, held: Held): Promise<void> {
    const { msg, send, done } = held;
    const { store, log, translate: m, watchCompletion } = this.deps;
    try {
      // The hold ends when the flow is done with this reply (or changes the conversation), whether
      // or not it changed anything: a replay or a reply answered without an update holds no longer.
      if (watchCompletion) held.unwatch = watchCompletion(msg, () => this.holds.release(key, held));
      const record = await store.getConversation(this.name, key, this.sidOf(msg) ?? undefined);
      if (!record) {
        msg.conversation = null;
        send(this.routeOutput(this.steps.length, msg));
      } else {
        msg.conversation = view(record);
        const index = this.steps.indexOf(record.step);
        if (index === -1) {
          log.warn(m('warn.unknownStep', { name: this.name, step: record.step }));
          send(this.routeOutput(this.steps.length, msg));
        } else send(this.routeOutput(index, msg));
      }
      done();
    } catch (err) {
      this.holds.release(key, held);
      done(err as Error);
    }
  }

  // ---- the other actions: one message in, one state change, the message out
  private async startConversation(msg: ConversationMessage, send: Send): Promise<void> {
    const { config, store } = this.deps;
    const key = await this.keyOf(msg);
    const step = (config.step ?? '').trim() || 'start';
    let code: string | null = null;
    let codeSpec = null;
    const sid = this.sidOf(msg);
    const codeKey = this.deps.codeKey;
    if (config.code) {
      const length = Math.floor(positive(config.codeLength, DEFAULT_CODE.length));
      // started by an inbound SMS: the same code whenever that SMS is handed on again
      code = sid && codeKey ? codeFor(codeKey, [this.name, key, sid], length) : generateCode(length);
      const salt = newSalt();
      codeSpec = {
        hash: hashCode(code, salt, this.deps.codeKey),
        salt,
        lifetimeMs: positive(config.codeLifetime, DEFAULT_CODE.lifetimeMinutes) * 60_000,
        attempts: Math.floor(positive(config.codeAttempts, DEFAULT_CODE.attempts)),
      };
    }
    const record = await store.startConversation({
      name: this.name,
      key,
      step,
      data: (await this.dataOf(msg)) ?? {},
      maxAgeMs: positive(config.maxAge, DEFAULT_MAX_AGE_HOURS) * 3_600_000,
      timeoutMs: optionalMinutes(config.timeout),
      code: codeSpec,
      sid,
    });
    // The code leaves in this message only (for the SMS text); the store keeps a hash. A replayed
    // SMS finds the conversation it started already there: its code is this one when it was derived
    // from that SMS (its SMS may never have gone: the send node sends it once, whichever run does).
    const fresh = code !== null && !!record.code && codeMatches(code, record.code.hash, record.code.salt, codeKey);
    msg.conversation = view(record, fresh && record.code ? { code, codeExpiresAt: new Date(record.code.expiresAt).toISOString() } : {});
    send(msg);
  }

  private async update(msg: ConversationMessage, send: Send): Promise<void> {
    const key = await this.keyOf(msg);
    const step = (this.deps.config.step ?? '').trim();
    const timeoutMs = optionalMinutes(this.deps.config.timeout);
    const record = await this.deps.store.updateConversation(this.name, key, {
      step: step || undefined,
      data: await this.dataOf(msg),
      timeoutMs: timeoutMs ?? (step ? null : undefined),
      sid: this.sidOf(msg),
    });
    msg.conversation = record ? view(record) : null;
    send(msg);
  }

  private async end(msg: ConversationMessage, send: Send): Promise<void> {
    const key = await this.keyOf(msg);
    const record = await this.deps.store.endConversation(this.name, key, await this.dataOf(msg), this.sidOf(msg) ?? undefined);
    msg.conversation = record ? view(record, { ended: true }) : null;
    send(msg);
  }

  private async verify(msg: ConversationMessage, send: Send): Promise<void> {
    const key = await this.keyOf(msg);
    const check = await this.deps.store.checkCode(this.name, key, (hash, salt) => codeMatches(msg.payload, hash, salt, this.deps.codeKey), this.sidOf(msg) ?? undefined);
    // Stryker disable next-line ConditionalExpression,OptionalChaining: equivalent; the store clears the code of a check that ends it, and only a wrong code leaves one
    const attemptsLeft = check.result === 'wrong' ? check.conversation?.code?.attemptsLeft ?? 0 : 0;
    msg.verification = { result: check.result, attemptsLeft };
    msg.conversation = check.conversation ? view(check.conversation, { attemptsLeft }) : null;
    if (check.result === 'verified') send([msg, null, null]);
    else if (check.result === 'wrong') send([null, msg, null]);
    else send([null, null, msg]);
  }

  // ---- helpers
  private async keyOf(msg: ConversationMessage): Promise<string> {
    const { config, evaluate, translate: m } = this.deps;
    const property = `${config.keyType || 'msg'}.${config.key || 'phone'}`;
    const raw = await evaluate(config.key || 'phone', config.keyType || 'msg', msg);
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(m('error.noCustomer', { property }));
    // Stryker disable next-line MethodExpression,StringLiteral: equivalent; toE164 upper-cases the country and reads '' as IN
    const country = (config.defaultCountry || 'IN').trim().toUpperCase();
    // Stryker disable next-line StringLiteral: equivalent; toE164 checks only a number's length for any check but 'valid'
    const key = toE164(raw, country, 'possible') ?? String(raw).trim();
    if (!key) throw new Error(m('error.noCustomer', { property }));
    return key;
  }

  private async dataOf(msg: ConversationMessage): Promise<Record<string, unknown> | undefined> {
    const { config, evaluate, translate: m } = this.deps;
    let data: Record<string, unknown> | undefined;
    if (config.data && config.dataType && config.dataType !== 'none') {
      const value = await evaluate(config.data, config.dataType, msg);
      if (value !== undefined && value !== null) {
        if (typeof value !== 'object' || Array.isArray(value)) throw new Error(m('error.dataNotObject', { property: `${config.dataType}.${config.data}` }));
        data = { ...(value as Record<string, unknown>) };
      }
    }
    const saveAs = this.action === 'update' || this.action === 'end' ? (config.saveAs ?? '').trim() : '';
    if (saveAs) data = { ...(data ?? {}), [saveAs]: replyOf(msg) };
    return data;
  }

  private sidOf(msg: ConversationMessage): string | null {
    return typeof msg.sms?.sid === 'string' && msg.sms.sid ? `${this.deps.nodeId}:${msg.sms.sid}` : null;
  }

  // status: active conversations of this name, refreshed at most once a second
  private async refreshCount(): Promise<void> {
    if (!this.countDirty || this.closed) return;
    this.countDirty = false;
    const { status, translate: m } = this.deps;
    try {
      const count = await this.deps.store.activeConversationCount(this.name);
      status.set(count > 0 ? 'green' : 'grey', count > 0 ? 'dot' : 'ring', m('status.active', { count, action: this.action }));
    } catch {
      status.now('red', 'ring', m('status.storeUnavailable'));
    }
  }
}
