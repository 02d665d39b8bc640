// opt-out-store's behaviour without Node-RED: opt out, opt in, check, get, import and export the
// durable opt-out records. exotel-send checks the same store before every send.
import { readNumberList } from '../../sms/number-list';
import { toE164 } from '../../sms/phone';
import type { OptOutRecord, OptStatus, Store } from '../../store';
import { shown, statusText, type Done, type Evaluate, type NodeLog, type Send, type StatusLine, type Translate } from '../shared/ports';

import { ACTIONS, type OptOutAction } from './contract';

export { ACTIONS, type OptOutAction };
const MAX_LISTED_INVALID = 20;

export interface OptOutConfig {
  action?: OptOutAction | string;
  phone?: string;
  phoneType?: string;
  defaultCountry?: string;
  importAs?: OptStatus | string;
}

export type OptOutMessage = {
  payload?: unknown;
  keyword?: unknown;
  sms?: { sid?: unknown };
  optOut?: unknown;
  [key: string]: unknown;
};

/** msg.optOut as flows see it. */
export function describe(phone: string, record: OptOutRecord | null, changed?: boolean) {
  return {
    phone,
    status: record ? record.status : 'unknown',
    updatedAt: record ? new Date(record.updatedAt).toISOString() : null,
    keyword: record ? record.keyword : null,
    source: record ? record.source : null,
    ...(changed === undefined ? {} : { changed }),
  };
}

export interface OptOutDeps {
  config: OptOutConfig;
  store: Store;
  evaluate: Evaluate;
  translate: Translate;
  status: StatusLine;
  log: NodeLog;
}

export class OptOutController {
  readonly action: OptOutAction;
  private readonly country: string;
  /** numbers an "opt in" node opted in since it started (their status changed) */
  private optedIn = 0;

  constructor(private readonly deps: OptOutDeps) {
    // Stryker disable next-line StringLiteral: equivalent; no action is named '' nor "Stryker was here!"
    this.action = (ACTIONS as readonly string[]).includes(deps.config.action ?? '') ? (deps.config.action as OptOutAction) : 'check';
    // Stryker disable next-line MethodExpression,StringLiteral: equivalent; toE164 upper-cases the country and reads '' as IN
    this.country = (deps.config.defaultCountry || 'IN').toUpperCase();
  }

  handle(msg: OptOutMessage, send: Send, done: Done): void {
    this.run(msg, send)
      .then(() => {
        if (this.action !== 'import') void this.showCount();
        done();
      })
      .catch((err: Error) => {
        this.deps.status.now('red', 'ring', statusText(err.message));
        done(err);
      });
  }

  /**
   * Under the node: how many numbers are opted out; an "opt in" node says instead what it did,
   * since "0 opted out" under it reads as its own failure.
   */
  async showCount(): Promise<void> {
    const { status, translate: m } = this.deps;
    if (this.action === 'optin') {
      status.set('green', 'dot', this.optedIn === 0 ? m('status.ready') : m('status.optedIn', { count: this.optedIn }));
      return;
    }
    // Messages that finish while the count is being read are counted by one more read after it, not one each.
    if (this.counting) {
      this.countAgain = true;
      return this.counting;
    }
    this.counting = (async () => {
      do {
        this.countAgain = false;
        try {
          status.set('green', 'dot', m('status.optedOut', { count: await this.deps.store.optedOutCount() }));
        } catch {
          status.now('red', 'ring', m('status.storeUnavailable'));
        }
      } while (this.countAgain);
    })().finally(() => {
      this.counting = undefined;
    });
    return this.counting;
  }

  /** the read of the count under way, and whether a message finished meanwhile */
  private counting: Promise<void> | undefined;
  private countAgain = false;

  private async run(msg: OptOutMessage, send: Send): Promise<void> {
    const { store } = this.deps;
    switch (this.action) {
      case 'optout':
        return this.change(msg, send, 'opted-out');
      case 'optin':
        return this.change(msg, send, 'opted-in');
      case 'get': {
        const phone = await this.phoneOf(msg);
        msg.optOut = describe(phone, await store.getOptStatus(phone));
        return send(msg);
      }
      case 'check': {
        const phone = await this.phoneOf(msg);
        const record = await store.getOptStatus(phone);
        msg.optOut = describe(phone, record);
        if (!record) return send([null, null, msg]);
        return record.status === 'opted-out' ? send([null, msg, null]) : send([msg, null, null]);
      }
      case 'import':
        return this.import(msg, send);
      case 'export':
        msg.payload = (await store.exportOptStatus()).map((record) => describe(record.phone, record));
        return send(msg);
    }
  }

  private async phoneOf(msg: OptOutMessage): Promise<string> {
    const { config, evaluate, translate: m } = this.deps;
    const value = await evaluate(config.phone || 'phone', config.phoneType || 'msg', msg);
    // Stryker disable next-line StringLiteral: equivalent; toE164 checks only a number's length for any check but 'valid'
    const phone = toE164(value, this.country, 'possible');
    if (!phone) throw new Error(m('error.notPhone', { value: shown(value) }));
    return phone;
  }

  private async change(msg: OptOutMessage, send: Send, to: OptStatus): Promise<void> {
    const phone = await this.phoneOf(msg);
    const keyword = typeof msg.keyword === 'string' && msg.keyword ? msg.keyword : null;
    const source = typeof msg.sms?.sid === 'string' && msg.sms.sid ? msg.sms.sid : 'manual';
    // Committed before the message moves on: a crash after this line cannot lose the opt-out.
    const result = await this.deps.store.setOptStatus({ phone, status: to, keyword, source });
    // A replay of the SMS whose change is still in force (handed on again after a crash, or by another
    // instance) tells the flow it changed the status, as the first time: the number's one opt-out
    // confirmation, if it did not go then, goes now (the store hands that confirmation out once).
    const changed = result.changed || (result.replay && result.record.source === source && result.record.status === to);
    msg.optOut = describe(phone, result.record, changed);
    // Stryker disable next-line ConditionalExpression: equivalent; only an "opt in" node (whose changes are all to opted-in) shows this count
    if (to === 'opted-in' && result.changed) this.optedIn++;
    send(msg);
  }

  private async import(msg: OptOutMessage, send: Send): Promise<void> {
    const { store, translate: m, log, status } = this.deps;
    const raw = readNumberList(msg.payload);
    if (!raw) throw new Error(m('error.importPayload'));
    const valid: string[] = [];
    const invalid: string[] = [];
    for (const item of raw) {
      // Stryker disable next-line StringLiteral: equivalent; toE164 checks only a number's length for any check but 'valid'
      const phone = toE164(item, this.country, 'possible');
      if (phone) valid.push(phone);
      else invalid.push(item);
    }
    const unique = [...new Set(valid)];
    const importAs: OptStatus = this.deps.config.importAs === 'opted-in' ? 'opted-in' : 'opted-out';
    const result = await store.importOptStatus(unique, importAs, 'import');
    msg.payload = {
      total: raw.length,
      imported: unique.length,
      changed: result.changed,
      unchanged: result.unchanged,
      duplicates: valid.length - unique.length,
      invalid: invalid.length,
      invalidNumbers: invalid.slice(0, MAX_LISTED_INVALID),
      status: importAs,
    };
    if (invalid.length > 0) log.warn(m('warn.importInvalid', { count: invalid.length }));
    status.now('green', 'dot', m('status.imported', { imported: unique.length, invalid: invalid.length }));
    send(msg);
  }
}
