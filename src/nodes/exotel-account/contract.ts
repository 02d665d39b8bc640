// exotel-account: the config node's properties, credentials and checks, for the editor and the runtime.
import { DLT_CATEGORIES, type DltTemplate } from '../../sms/dlt';
import { categoryOf, parseTemplatesCsv } from '../../sms/dlt-csv';
import { fillMissing, isCountryCode, isHttpUrl, isWholeNumber, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

/** Exotel's API regions: the base URL of each. */
export const API_REGIONS = {
  singapore: 'https://api.exotel.com',
  mumbai: 'https://api.in.exotel.com',
} as const;

export { DLT_CATEGORIES, categoryOf, parseTemplatesCsv, type DltTemplate };

export const MODES = ['live', 'sandbox'] as const;
export type Mode = (typeof MODES)[number];

/** How a callback to the account's SMS in nodes proves it comes from Exotel: the webhook token, or nothing (not recommended). */
export const WEBHOOK_AUTH = ['token', 'none'] as const;
export type WebhookAuth = (typeof WEBHOOK_AUTH)[number];

export interface AccountProps extends SavedNode {
  accountSid: string;
  apiBaseUrl: string;
  defaultFrom: string;
  dltEntityId: string;
  defaultCountry: string;
  mode: Mode;
  rateLimit: number | string;
  queueLimit: number | string;
  webhookAuth: WebhookAuth;
  /** how Exotel reaches this Node-RED (`https://sms.example.in`): delivery reports come back under it; blank: no reports */
  publicUrl: string;
  /** the DLT content templates registered for the account: a send naming one must match its text */
  dltTemplates: DltTemplate[];
}

export interface AccountCredentials {
  apiKey?: string;
  apiToken?: string;
  webhookToken?: string;
}

/** Requests a minute Exotel allows an account unless it has asked for more. */
export const DEFAULT_RATE_LIMIT = 200;
export const DEFAULT_QUEUE_LIMIT = 10_000;
/** Length of a webhook token the editor generates (letters and digits). */
export const WEBHOOK_TOKEN_LENGTH = 32;
/** The shortest webhook token a live account accepts (a typed one; generated ones are longer). */
export const WEBHOOK_TOKEN_MIN_LENGTH = 16;
/** The sender of a sandbox account that names none: nothing leaves Node-RED, so any name will do. */
export const SANDBOX_SENDER = 'SANDBOX';

const defaults: NodeContract<AccountProps, AccountCredentials>['defaults'] = {
  name: { value: '' },
  version: { value: 3 },
  accountSid: { value: '' },
  apiBaseUrl: { value: API_REGIONS.singapore },
  defaultFrom: { value: '' },
  dltEntityId: { value: '' },
  defaultCountry: { value: 'IN' },
  mode: { value: 'live' },
  rateLimit: { value: DEFAULT_RATE_LIMIT },
  queueLimit: { value: DEFAULT_QUEUE_LIMIT },
  webhookAuth: { value: 'token' },
  publicUrl: { value: '' },
  dltTemplates: { value: [] },
};

/** Version 1 had no webhookAuth (nor what later versions added): its properties, for the first migration. */
const { webhookAuth: _added, publicUrl: _addedPublicUrl, dltTemplates: _addedTemplates, ...defaultsV1 } = defaults;

/**
 * Version 2: callbacks must carry the webhook token unless the user chooses "no authentication".
 * A version-1 account is saved with `token`, whether or not it has one (a migration cannot see
 * credentials): a live account without a token then refuses callbacks, and its SMS in nodes say
 * "open the account and press Generate", rather than staying open to anyone without a word.
 */
function requireToken(config: Record<string, unknown>): Record<string, unknown> {
  return { ...config, webhookAuth: config.webhookAuth === 'none' ? 'none' : 'token' };
}

export const contract: NodeContract<AccountProps, AccountCredentials> = {
  type: 'exotel-account',
  version: 3,
  defaults,
  credentials: {
    apiKey: { type: 'text' },
    apiToken: { type: 'password' },
    // password: never sent to the editor; the SMS in node's dialog asks the runtime for the callback URL
    webhookToken: { type: 'password' },
  },
  // Version 3: the public URL delivery reports come back under (none for an account saved before: no
  // reports, as before), and the DLT templates (none: its sends are checked as they were).
  migrations: [
    fillMissing(defaultsV1),
    requireToken,
    (config) => ({
      ...config,
      publicUrl: typeof config.publicUrl === 'string' ? config.publicUrl : '',
      dltTemplates: Array.isArray(config.dltTemplates) ? config.dltTemplates : [],
    }),
  ],
};

/** The region of a base URL, or 'custom'. */
export function regionOf(url: unknown): string {
  const normalised = text(url).replace(/\/+$/, '').toLowerCase();
  return (Object.values(API_REGIONS) as string[]).includes(normalised) ? normalised : 'custom';
}

/** Required to go live only: the example flows ship sandbox accounts without one. */
export function validateAccountSid(value: unknown, mode: unknown): Verdict {
  const sid = text(value);
  if (!sid) return mode === 'sandbox' ? true : problem('errors.accountSid');
  return /\s|\//.test(sid) ? problem('errors.accountSidChars') : true;
}

export function validateApiBaseUrl(value: unknown): Verdict {
  return isHttpUrl(value) ? true : problem('errors.apiBaseUrl');
}

export function validateDefaultCountry(value: unknown): Verdict {
  return isCountryCode(value) ? true : problem('errors.defaultCountry');
}

export function validateMode(value: unknown): Verdict {
  return (MODES as readonly unknown[]).includes(value) ? true : problem('errors.mode');
}

export function validateRateLimit(value: unknown): Verdict {
  return isWholeNumber(value, 1) ? true : problem('errors.rateLimit');
}

export function validateQueueLimit(value: unknown): Verdict {
  return isWholeNumber(value, 1) ? true : problem('errors.queueLimit');
}

/** A live account needs a sender; a sandbox account uses SANDBOX_SENDER when it has none. */
export function validateDefaultFrom(value: unknown, mode: unknown): Verdict {
  return mode === 'sandbox' || text(value) !== '' ? true : problem('errors.defaultFrom');
}

/** Blank (no delivery reports), or the http(s) address Exotel reaches this Node-RED at, without a query. */
export function validatePublicUrl(value: unknown): Verdict {
  const url = text(value);
  if (url === '') return true;
  return isHttpUrl(url) && !/[?#]/.test(url) ? true : problem('errors.publicUrl');
}

/** The path under Node-RED's httpNodeRoot where an account's delivery reports arrive. */
export function reportPath(accountId: string): string {
  return `/exotel-sms/delivery-report/${encodeURIComponent(accountId)}`;
}

/**
 * The StatusCallback of a live account's sends: the public URL, Node-RED's httpNodeRoot, the account's
 * report path and its webhook token; null without a public URL (or with HTTP endpoints switched off).
 */
export function reportUrl(publicUrl: unknown, httpNodeRoot: unknown, accountId: string, query: string): string | null {
  const base = text(publicUrl).replace(/\/+$/, '');
  if (!base || validatePublicUrl(base) !== true || httpNodeRoot === false) return null;
  const root = (typeof httpNodeRoot === 'string' ? httpNodeRoot : '/').replace(/\/+$/, '');
  return `${base}${root.startsWith('/') || root === '' ? root : `/${root}`}${reportPath(accountId)}${query}`;
}

export function validateWebhookAuth(value: unknown): Verdict {
  // absent on an account saved before version 2: valid, its migration makes it `token`
  if (value === undefined || value === null) return true;
  return (WEBHOOK_AUTH as readonly unknown[]).includes(value) ? true : problem('errors.webhookAuth');
}

/** What is wrong with the webhook token of an account, or null: why its SMS in nodes refuse every callback. */
export type WebhookProblem = 'noToken' | 'shortToken';

/**
 * The runtime's verdict on the token. A sandbox account needs none (a token it has is checked, whatever
 * its length); a live account needs one of at least WEBHOOK_TOKEN_MIN_LENGTH characters, unless the
 * user chose no authentication.
 */
export function webhookProblem(mode: unknown, auth: unknown, token: string | undefined): WebhookProblem | null {
  if (mode === 'sandbox' || auth === 'none') return null;
  if (!token) return 'noToken';
  return token.length < WEBHOOK_TOKEN_MIN_LENGTH ? 'shortToken' : null;
}

/**
 * The editor's check of the token. `token` is what the dialog holds: a typed or generated token, or
 * '' for none; undefined when the editor is not shown it: `saved` says whether the runtime has one
 * (a password credential), and a token never read (the dialog not yet opened) counts as fine.
 */
export function validateWebhookToken(token: string | undefined, saved: boolean, mode: unknown, auth: unknown): Verdict {
  if (mode === 'sandbox' || auth === 'none') return true;
  if (token) return token.length < WEBHOOK_TOKEN_MIN_LENGTH ? problem('errors.webhookTokenShort', { min: WEBHOOK_TOKEN_MIN_LENGTH }) : true;
  return token === '' && !saved ? problem('errors.webhookToken') : true;
}

/** What is wrong with the first template of the list that is not right: its row (from 1) and why. */
export function validateDltTemplates(value: unknown): Verdict {
  // absent on an account saved before version 3: valid, its migration makes it []
  if (value === undefined || value === null) return true;
  if (!Array.isArray(value)) return problem('errors.dltTemplates');
  const seen = new Set<string>();
  for (let index = 0; index < value.length; index++) {
    const template = (value[index] ?? {}) as Partial<Record<keyof DltTemplate, unknown>>;
    const row = index + 1;
    const id = text(template.id);
    if (!/^[0-9A-Za-z]+$/.test(id)) return problem(id ? 'errors.dltTemplateIdChars' : 'errors.dltTemplateId', { row, id });
    if (seen.has(id)) return problem('errors.dltTemplateTwice', { row, id });
    seen.add(id);
    if (text(template.text) === '') return problem('errors.dltTemplateText', { row, id });
    if (!(DLT_CATEGORIES as readonly unknown[]).includes(template.category)) return problem('errors.dltTemplateCategory', { row, id });
  }
  return true;
}

/** The account's templates as a send reads them: the well-formed ones, ids trimmed. */
export function dltTemplatesOf(value: unknown): DltTemplate[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((each: Partial<Record<keyof DltTemplate, unknown>> | null) => {
    const id = text(each?.id);
    const category = categoryOf(each?.category);
    if (!id || typeof each?.text !== 'string' || each.text.trim() === '' || !category) return [];
    return [{ id, name: text(each.name), text: each.text, category }];
  });
}
