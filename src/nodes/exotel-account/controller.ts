// The Exotel account behind the config node: its settings, credentials, API client and rate
// limiter. Credentials stay in here: every text that leaves goes through redact().
import { isSupportedCountry } from 'libphonenumber-js/max';
import { DEFAULT_CONNECTIONS, ExotelClient, parseBaseUrl, type ClientOptions, type SmsGateway } from '../../exotel/client';
import { RateLimiter } from '../../exotel/limiter';
import { deliveryOf, deliveryReason } from '../../exotel/delivery-codes';
import { SandboxGateway, sandboxDelivery, sandboxSid, type SandboxOutbound } from '../../exotel/sandbox';
import { clusterOf, type ReportRecord, type SandboxMessage, type StoreHandle } from '../../store';
import { ReportReceiver } from './report-receiver';
import { SharedRateLimiter } from './shared-limiter';
import { systemTimers, type NodeLog, type Timers, type Translate } from '../shared/ports';

export interface AccountConfig {
  accountSid?: string;
  apiBaseUrl?: string;
  defaultFrom?: string;
  dltEntityId?: string;
  defaultCountry?: string;
  mode?: 'live' | 'sandbox' | string;
  rateLimit?: number | string;
  queueLimit?: number | string;
  webhookAuth?: 'token' | 'none' | string;
  publicUrl?: string;
  dltTemplates?: unknown;
}

export type { AccountCredentials };

/** The account's pace: in this process (RateLimiter), or for all instances sharing a database (SharedRateLimiter). */
export type AccountLimiter = Pick<RateLimiter, 'perMinute' | 'queued' | 'acquire' | 'close'>;

/** What the other nodes use of an account. */
export interface ExotelAccount {
  /** the config node's id */
  id: string;
  accountSid: string;
  apiBaseUrl: string;
  defaultFrom: string;
  dltEntityId: string;
  /** the DLT templates registered for the account (the well-formed ones of its list) */
  dltTemplates: DltTemplate[];
  defaultCountry: string;
  mode: 'live' | 'sandbox';
  limiter: AccountLimiter;
  /** Exotel's API, or the sandbox; null when a live account cannot send (`configProblem` says why) */
  client: SmsGateway | null;
  configProblem: string | null;
  /** 'none': the user chose to take callbacks without authentication (live accounts only) */
  webhookAuth: 'token' | 'none';
  /** why every callback is refused (a live account without a token, or with too short a one), or null */
  webhookProblem: WebhookProblem | null;
  /** whether callbacks must carry the webhook token */
  hasWebhookToken(): boolean;
  checkWebhookToken(given: (expected: string) => boolean): boolean;
  /** the query string that authenticates a callback (`?token=…`), for the sandbox phone's replies */
  callbackQuery(): string;
  /** replaces every credential in a text by "***" */
  redact(text: string): string;
  /** whether the account hears how its SMS ended: a sandbox account always, a live one with a public URL */
  reportsEnabled: boolean;
  /** the StatusCallback of the account's sends (a live account with a public URL; it holds the webhook token: never stored), or null */
  statusCallbackUrl: string | null;
}

import { contract, dltTemplatesOf, type AccountCredentials, type DltTemplate, DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT, reportUrl, SANDBOX_SENDER, webhookProblem, type WebhookProblem } from './contract';

export { DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT };
export const DEFAULT_API_BASE_URL = contract.defaults.apiBaseUrl.value;

/**
 * Requests at a time to Exotel: enough for the rate limit when each takes a quarter of a second
 * (8 for Exotel's usual 200 a minute, up to 128 for a raised limit).
 */
export function connectionsFor(perMinute: number): number {
  return Math.min(128, Math.max(DEFAULT_CONNECTIONS, Math.ceil(perMinute / 60 / 4)));
}

/** A whole number ≥ 1; blank means the default; anything else is a configuration problem. */
function positiveInt(value: unknown, fallback: number, what: 'rateLimit' | 'queueLimit', problems: string[], m: Translate): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n;
  problems.push(m(`warn.${what}`, { value: String(value), fallback }));
  return fallback;
}

export interface AccountDeps {
  /** the config node's id: the sandbox phone's messages are filed under it */
  id: string;
  translate: Translate;
  /** a configuration problem that does not stop the account (a default is used instead) */
  warn(text: string): void;
  apiTimeoutMs?: number;
  /** sandbox mode: the store the sandbox phone keeps its messages in, and the editor's live view */
  openSandboxStore(): StoreHandle;
  publishSandboxMessage(message: SandboxMessage): void;
  /** several instances on one database (PostgreSQL): the store whose window the account's rate limit is kept in */
  openSharedStore?(): StoreHandle;
  /** for tests: another gateway than Exotel's API */
  createClient?(options: ClientOptions): SmsGateway;
  /** settings.httpNodeRoot: the delivery-report URL is under it (false switches HTTP nodes off: no reports) */
  httpNodeRoot?: unknown;
  /** a live account with a public URL: the store its delivery reports are recorded in */
  openReportStore?(): StoreHandle;
  /** hands a new delivery report to the send node that sent the SMS */
  handOnReport?(nodeId: string, record: ReportRecord): void;
  log?: NodeLog;
  /** a sandbox SMS's made-up delivery report comes this long after it was sent (default 1000 ms) */
  sandboxReportDelayMs?: number;
  timers?: Timers;
}

/** How long after a sandbox SMS its made-up delivery report comes. */
export const SANDBOX_REPORT_DELAY_MS = 1_000;

export class AccountController implements ExotelAccount {
  readonly id: string;
  readonly accountSid: string;
  readonly apiBaseUrl: string;
  readonly defaultFrom: string;
  readonly dltEntityId: string;
  readonly dltTemplates: DltTemplate[];
  readonly defaultCountry: string;
  readonly mode: 'live' | 'sandbox';
  readonly webhookAuth: 'token' | 'none';
  readonly webhookProblem: WebhookProblem | null;
  readonly limiter: AccountLimiter;
  private readonly rateStore: StoreHandle | null = null;
  client: SmsGateway | null = null;
  configProblem: string | null = null;
  private sandboxStore: StoreHandle | null = null;
  private reportStore: StoreHandle | null = null;
  private readonly secrets: string[];
  readonly reportsEnabled: boolean;
  readonly statusCallbackUrl: string | null;
  /** the delivery-report endpoint (a live account with a public URL) and the sandbox's made-up reports; null without reports */
  readonly reports: ReportReceiver | null = null;
  private readonly sandboxReports = new Set<NodeJS.Timeout>();
  private readonly timers: Timers;

  constructor(config: AccountConfig, private readonly credentials: AccountCredentials, deps: AccountDeps) {
    const m = deps.translate;
    this.id = deps.id;
    this.timers = deps.timers ?? systemTimers;
    this.secrets = [credentials.apiKey, credentials.apiToken, credentials.webhookToken].filter((s): s is string => !!s && s.length >= 3);
    // An error page may echo the Authorization header: its Base64 form is a secret too.
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent; without both, the extra secret is the Base64 of "key:undefined", which no text carries
    if (credentials.apiKey && credentials.apiToken) this.secrets.push(Buffer.from(`${credentials.apiKey}:${credentials.apiToken}`).toString('base64'));

    this.accountSid = (config.accountSid ?? '').trim();
    this.apiBaseUrl = (config.apiBaseUrl ?? '').trim() || DEFAULT_API_BASE_URL;
    this.defaultFrom = (config.defaultFrom ?? '').trim();
    this.dltEntityId = (config.dltEntityId ?? '').trim();
    const warnings: string[] = [];
    this.dltTemplates = dltTemplatesOf(config.dltTemplates);
    const listed = Array.isArray(config.dltTemplates) ? config.dltTemplates.length : 0;
    if (listed > this.dltTemplates.length) warnings.push(m('warn.dltTemplates', { count: listed - this.dltTemplates.length }));
    let country = ((config.defaultCountry ?? '').trim() || 'IN').toUpperCase();
    if (!isSupportedCountry(country)) {
      warnings.push(m('warn.defaultCountry', { country }));
      country = 'IN';
    }
    this.defaultCountry = country;
    this.mode = config.mode === 'sandbox' ? 'sandbox' : 'live';
    // A sandbox account works with nothing filled in: its SMS never leave Node-RED.
    if (this.mode === 'sandbox' && !this.defaultFrom) this.defaultFrom = SANDBOX_SENDER;
    // Anything but an explicit "none" means the token is required.
    this.webhookAuth = this.mode === 'live' && config.webhookAuth === 'none' ? 'none' : 'token';
    this.webhookProblem = webhookProblem(this.mode, this.webhookAuth, credentials.webhookToken);
    const perMinute = positiveInt(config.rateLimit, DEFAULT_RATE_LIMIT, 'rateLimit', warnings, m);
    const queueLimit = positiveInt(config.queueLimit, DEFAULT_QUEUE_LIMIT, 'queueLimit', warnings, m);
    // Several instances: the limit is the account's, so it is counted in the database for all of them.
    const shared = deps.openSharedStore?.() ?? null;
    const cluster = shared && clusterOf(shared.store);
    if (shared && cluster) {
      this.rateStore = shared;
      this.limiter = new SharedRateLimiter(cluster, this.accountSid || deps.id, perMinute, queueLimit);
    } else {
      void shared?.release();
      this.limiter = new RateLimiter(perMinute, queueLimit);
    }
    for (const warning of warnings) deps.warn(warning);

    // Live: reports need the public URL Exotel posts them to. Sandbox: made up, about a second after each SMS.
    this.statusCallbackUrl = this.mode === 'live' && !this.webhookProblem ? reportUrl(config.publicUrl, deps.httpNodeRoot, deps.id, this.callbackQuery()) : null;
    this.reportsEnabled = this.mode === 'sandbox' || this.statusCallbackUrl !== null;
    const receiver = (store: StoreHandle) =>
      new ReportReceiver({ account: this, store: store.store, handOn: (nodeId, record) => deps.handOnReport?.(nodeId, record), translate: m, log: deps.log ?? { log() {}, warn: deps.warn, error: deps.warn }, timers: this.timers });

    if (this.mode === 'sandbox') {
      // Never calls Exotel: what this account sends waits in the sandbox phone (the editor's sidebar).
      this.sandboxStore = deps.openSandboxStore();
      const store = this.sandboxStore.store;
      this.reports = receiver(this.sandboxStore);
      this.client = new SandboxGateway(async (sms) => {
        const message = await store.addSandboxMessage({
          account: deps.id, phone: sms.to, direction: 'out', body: sms.body, sid: sms.sid, status: 'sent',
          detail: `from ${sms.from}`, segments: sms.segments, encoding: sms.encoding, at: Date.now(),
        });
        deps.publishSandboxMessage(message);
        this.reportLater(sms, message, deps);
      }, async (attempt) => {
        // what a send node did not send: `detail` holds the cause (msg.error) and the node, for the phone
        const message = await store.addSandboxMessage({
          account: deps.id, phone: attempt.to, direction: 'out', body: attempt.body, sid: sandboxSid('out'), status: 'failed',
          detail: JSON.stringify({ code: attempt.code, message: attempt.message, node: { id: attempt.nodeId, name: attempt.nodeName } }),
          segments: null, encoding: null, at: Date.now(),
        });
        deps.publishSandboxMessage(message);
      });
      return;
    }
    try {
      parseBaseUrl(this.apiBaseUrl);
      if (!this.accountSid) this.configProblem = 'the account SID is missing';
      else if (!credentials.apiKey || !credentials.apiToken) this.configProblem = 'the API key or token is missing';
      else {
        const options: ClientOptions = {
          accountSid: this.accountSid,
          apiKey: credentials.apiKey,
          apiToken: credentials.apiToken,
          apiBaseUrl: this.apiBaseUrl,
          responseTimeoutMs: deps.apiTimeoutMs,
          connections: connectionsFor(this.limiter.perMinute),
        };
        this.client = deps.createClient ? deps.createClient(options) : new ExotelClient(options);
      }
    } catch (err) {
      this.configProblem = (err as Error).message;
    }
    if (this.statusCallbackUrl && deps.openReportStore) {
      this.reportStore = deps.openReportStore();
      this.reports = receiver(this.reportStore);
    }
  }

  /** The sandbox's delivery report of an SMS, about a second later: in the send log, on the send node's report output, in the phone. */
  private reportLater(sms: SandboxOutbound, message: SandboxMessage, deps: AccountDeps): void {
    const timer = this.timers.setTimeout(() => {
      this.sandboxReports.delete(timer);
      const outcome = sandboxDelivery(sms.to);
      const delivery = deliveryOf(outcome.status);
      const reports = this.reports!;
      void (async () => {
        await reports.simulate({ sid: sms.sid, to: sms.to, ...outcome, delivery, dateSent: new Date().toISOString(), units: sms.segments, customField: sms.customField, receivedAt: Date.now() });
        const shown = await this.sandboxStore?.store.updateSandboxMessage(
          message.id,
          delivery === 'delivered' ? 'delivered' : 'undelivered',
          delivery === 'delivered' ? message.detail : deliveryReason(outcome.status, outcome.detailedStatusCode, outcome.detailedStatus),
        );
        if (shown) deps.publishSandboxMessage(shown);
      })().catch((err: Error) => deps.warn(deps.translate('warn.sandboxReport', { message: err.message })));
    }, deps.sandboxReportDelayMs ?? SANDBOX_REPORT_DELAY_MS);
    timer.unref?.();
    this.sandboxReports.add(timer);
  }

  readonly redact = (text: string): string => this.secrets.reduce((out, secret) => out.split(secret).join('***'), text);
  readonly hasWebhookToken = (): boolean => !!this.credentials.webhookToken;
  /**
   * Whether a callback is authentic: never while the token is missing or too short on a live account,
   * always when the user chose no authentication, otherwise when it carries the token (a sandbox
   * account without one takes every callback).
   */
  readonly checkWebhookToken = (given: (expected: string) => boolean): boolean => {
    if (this.webhookProblem) return false;
    if (this.webhookAuth === 'none') return true;
    return !this.credentials.webhookToken || given(this.credentials.webhookToken);
  };
  readonly callbackQuery = (): string => (this.credentials.webhookToken ? `?token=${encodeURIComponent(this.credentials.webhookToken)}` : '');

  /** Stops the limiter's waiters, closes the client and lets go of the sandbox store. */
  async close(): Promise<void> {
    for (const timer of this.sandboxReports) this.timers.clearTimeout(timer);
    this.sandboxReports.clear();
    this.reports?.close();
    this.limiter.close();
    await this.rateStore?.release().catch(() => undefined);
    const client = this.client;
    this.client = null;
    try {
      if (client) await client.close();
    } finally {
      await this.sandboxStore?.release();
      this.sandboxStore = null;
      await this.reportStore?.release();
      this.reportStore = null;
    }
  }
}
