// Config node: the Exotel account, its credentials, its API client and its rate limiter.
// Credentials stay in here: every text that leaves goes through redact().
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_CONNECTIONS, ExotelClient, parseBaseUrl, type SmsGateway } from '../exotel/client';
import { RateLimiter } from '../exotel/limiter';
import { SandboxGateway } from '../exotel/sandbox';
import type { StoreHandle } from '../store';
import { messages, openStore, packageSettings, type Translate } from './runtime';
import { publishSandboxMessage } from '../plugins/exotel-sms';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { migrate } from './contract';
import { contract, DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT, type AccountCredentials, type AccountProps } from './exotel-account/contract';

export type { AccountCredentials };

export type AccountDef = NodeDef & AccountProps;

export interface AccountNode extends Node<AccountCredentials> {
  accountSid: string;
  apiBaseUrl: string;
  defaultFrom: string;
  dltEntityId: string;
  defaultCountry: string;
  mode: 'live' | 'sandbox';
  limiter: RateLimiter;
  /** Exotel's API, or the sandbox; null when a live account cannot send (`configProblem` says why) */
  client: SmsGateway | null;
  configProblem: string | null;
  /** whether callbacks must carry the webhook token */
  hasWebhookToken(): boolean;
  checkWebhookToken(given: (expected: string) => boolean): boolean;
  /** the query string that authenticates a callback (`?token=…`), for the sandbox phone's replies */
  callbackQuery(): string;
  /** replaces every credential in a text by "***" */
  redact(text: string): string;
}

/** A whole number ≥ 1; blank means the default; anything else is a configuration problem. */
function positiveInt(value: unknown, fallback: number, what: 'rateLimit' | 'queueLimit', problems: string[], m: Translate): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n;
  problems.push(m(`warn.${what}`, { value: String(value), fallback }));
  return fallback;
}

/**
 * Requests at a time to Exotel: enough for the rate limit when each takes a quarter of a second
 * (8 for Exotel's usual 200 a minute, up to 128 for a raised limit).
 */
export function connectionsFor(perMinute: number): number {
  return Math.min(128, Math.max(DEFAULT_CONNECTIONS, Math.ceil(perMinute / 60 / 4)));
}

export default function (RED: NodeAPI): void {
  function ExotelAccountNode(this: AccountNode, def: AccountDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const m = messages(RED, 'exotel-account');
    const credentials: AccountCredentials = this.credentials ?? {};
    const secrets = [credentials.apiKey, credentials.apiToken, credentials.webhookToken].filter((s): s is string => !!s && s.length >= 3);
    // An error page may echo the Authorization header: its Base64 form is a secret too.
    if (credentials.apiKey && credentials.apiToken) secrets.push(Buffer.from(`${credentials.apiKey}:${credentials.apiToken}`).toString('base64'));

    this.accountSid = (def.accountSid ?? '').trim();
    this.apiBaseUrl = (def.apiBaseUrl ?? '').trim() || contract.defaults.apiBaseUrl.value;
    this.defaultFrom = (def.defaultFrom ?? '').trim();
    this.dltEntityId = (def.dltEntityId ?? '').trim();
    const warnings: string[] = [];
    this.defaultCountry = ((def.defaultCountry ?? '').trim() || 'IN').toUpperCase();
    if (!isSupportedCountry(this.defaultCountry)) {
      warnings.push(m('warn.defaultCountry', { country: this.defaultCountry }));
      this.defaultCountry = 'IN';
    }
    this.mode = def.mode === 'sandbox' ? 'sandbox' : 'live';
    this.limiter = new RateLimiter(
      positiveInt(def.rateLimit, DEFAULT_RATE_LIMIT, 'rateLimit', warnings, m),
      positiveInt(def.queueLimit, DEFAULT_QUEUE_LIMIT, 'queueLimit', warnings, m),
    );
    for (const warning of warnings) this.warn(warning);

    this.redact = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), text);
    this.hasWebhookToken = () => !!credentials.webhookToken;
    this.checkWebhookToken = (given) => !credentials.webhookToken || given(credentials.webhookToken);
    this.callbackQuery = () => (credentials.webhookToken ? `?token=${encodeURIComponent(credentials.webhookToken)}` : '');

    this.client = null;
    this.configProblem = null;
    let sandboxStore: StoreHandle | null = null;
    if (this.mode === 'sandbox') {
      // Never calls Exotel: what this account sends waits in the sandbox phone (the editor's sidebar).
      sandboxStore = openStore(RED);
      const store = sandboxStore.store;
      this.client = new SandboxGateway(async (sms) => {
        const message = await store.addSandboxMessage({
          account: this.id, phone: sms.to, direction: 'out', body: sms.body, sid: sms.sid, status: 'sent',
          detail: `from ${sms.from}`, segments: sms.segments, encoding: sms.encoding, at: Date.now(),
        });
        publishSandboxMessage(RED, message);
      });
    } else {
      try {
        parseBaseUrl(this.apiBaseUrl);
        if (!this.accountSid) this.configProblem = 'the account SID is missing';
        else if (!credentials.apiKey || !credentials.apiToken) this.configProblem = 'the API key or token is missing';
        else {
          this.client = new ExotelClient({
            accountSid: this.accountSid,
            apiKey: credentials.apiKey,
            apiToken: credentials.apiToken,
            apiBaseUrl: this.apiBaseUrl,
            responseTimeoutMs: packageSettings(RED).apiTimeoutMs,
            connections: connectionsFor(this.limiter.perMinute),
          });
        }
      } catch (err) {
        this.configProblem = (err as Error).message;
      }
    }

    this.on('close', (done: () => void) => {
      this.limiter.close();
      const client = this.client;
      this.client = null;
      (client ? client.close() : Promise.resolve())
        .then(() => sandboxStore?.release())
        .then(done, done);
    });
  }

  RED.nodes.registerType('exotel-account', ExotelAccountNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: contract.credentials,
  });
}
