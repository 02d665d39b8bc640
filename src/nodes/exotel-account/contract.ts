// exotel-account: the config node's properties, credentials and checks, for the editor and the runtime.
import { fillMissing, isCountryCode, isHttpUrl, isWholeNumber, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

/** Exotel's API regions: the base URL of each. */
export const API_REGIONS = {
  singapore: 'https://api.exotel.com',
  mumbai: 'https://api.in.exotel.com',
} as const;

export const MODES = ['live', 'sandbox'] as const;
export type Mode = (typeof MODES)[number];

export interface AccountProps extends SavedNode {
  accountSid: string;
  apiBaseUrl: string;
  defaultFrom: string;
  dltEntityId: string;
  defaultCountry: string;
  mode: Mode;
  rateLimit: number | string;
  queueLimit: number | string;
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

const defaults: NodeContract<AccountProps, AccountCredentials>['defaults'] = {
  name: { value: '' },
  version: { value: 1 },
  accountSid: { value: '' },
  apiBaseUrl: { value: API_REGIONS.singapore },
  defaultFrom: { value: '' },
  dltEntityId: { value: '' },
  defaultCountry: { value: 'IN' },
  mode: { value: 'live' },
  rateLimit: { value: DEFAULT_RATE_LIMIT },
  queueLimit: { value: DEFAULT_QUEUE_LIMIT },
};

export const contract: NodeContract<AccountProps, AccountCredentials> = {
  type: 'exotel-account',
  version: 1,
  defaults,
  credentials: {
    apiKey: { type: 'text' },
    apiToken: { type: 'password' },
    // text, not password: the inbound node's dialog shows the callback URL with the token in it
    webhookToken: { type: 'text' },
  },
  migrations: [fillMissing(defaults)],
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
