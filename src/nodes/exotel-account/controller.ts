// The Exotel account behind the config node: its settings, credentials, API client and rate
// limiter. Credentials stay in here: every text that leaves goes through redact().
import { isSupportedCountry } from 'libphonenumber-js/max';
import { DEFAULT_CONNECTIONS, ExotelClient, parseBaseUrl, type ClientOptions, type SmsGateway } from '../../exotel/client';
import { RateLimiter } from '../../exotel/limiter';
import { SandboxGateway, sandboxSid } from '../../exotel/sandbox';
import { clusterOf, type SandboxMessage, type StoreHandle } from '../../store';
import { SharedRateLimiter } from './shared-limiter';
import type { Translate } from '../shared/ports';

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
}

export type { AccountCredentials };

/** The account's pace: in this process (RateLimiter), or for all instances sharing a database (SharedRateLimiter). */
export type AccountLimiter = Pick<RateLimiter, 'perMinute' | 'queued' | 'acquire' | 'close'>;

/** What the other nodes use of an account. */
export interface ExotelAccount {
  accountSid: string;
  apiBaseUrl: string;
  defaultFrom: string;
  dltEntityId: string;
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
}

import { contract, type AccountCredentials, DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT, SANDBOX_SENDER, webhookProblem, type WebhookProblem } from './contract';

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
}

export class AccountController implements ExotelAccount {
  readonly accountSid: string;
  readonly apiBaseUrl: string;
  readonly defaultFrom: string;
  readonly dltEntityId: string;
  readonly defaultCountry: string;
  readonly mode: 'live' | 'sandbox';
  readonly webhookAuth: 'token' | 'none';
  readonly webhookProblem: WebhookProblem | null;
  readonly limiter: AccountLimiter;
  private readonly rateStore: StoreHandle | null = null;
  client: SmsGateway | null = null;
  configProblem: string | null = null;
  private sandboxStore: StoreHandle | null = null;
  private readonly secrets: string[];

  constructor(config: AccountConfig, private readonly credentials: AccountCredentials, deps: AccountDeps) {
    const m = deps.translate;
    this.secrets = [credentials.apiKey, credentials.apiToken, credentials.webhookToken].filter((s): s is string => !!s && s.length >= 3);
    // An error page may echo the Authorization header: its Base64 form is a secret too.
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent; without both, the extra secret is the Base64 of "key:undefined", which no text carries
    if (credentials.apiKey && credentials.apiToken) this.secrets.push(Buffer.from(`${credentials.apiKey}:${credentials.apiToken}`).toString('base64'));

    this.accountSid = (config.accountSid ?? '').trim();
    this.apiBaseUrl = (config.apiBaseUrl ?? '').trim() || DEFAULT_API_BASE_URL;
    this.defaultFrom = (config.defaultFrom ?? '').trim();
    this.dltEntityId = (config.dltEntityId ?? '').trim();
    const warnings: string[] = [];
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

    if (this.mode === 'sandbox') {
      // Never calls Exotel: what this account sends waits in the sandbox phone (the editor's sidebar).
      this.sandboxStore = deps.openSandboxStore();
      const store = this.sandboxStore.store;
      this.client = new SandboxGateway(async (sms) => {
        const message = await store.addSandboxMessage({
          account: deps.id, phone: sms.to, direction: 'out', body: sms.body, sid: sms.sid, status: 'sent',
          detail: `from ${sms.from}`, segments: sms.segments, encoding: sms.encoding, at: Date.now(),
        });
        deps.publishSandboxMessage(message);
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
    this.limiter.close();
    await this.rateStore?.release().catch(() => undefined);
    const client = this.client;
    this.client = null;
    try {
      if (client) await client.close();
    } finally {
      await this.sandboxStore?.release();
      this.sandboxStore = null;
    }
  }
}
