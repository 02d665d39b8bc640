// What keeps strangers out of an account's callbacks (inbound SMS and delivery reports alike): the
// IP allow-list, the account's webhook token (`?token=` or the Basic password), and a 401 that says
// why when the account's token makes every callback fail.
import { hasWebhookToken, type AllowList } from '../../exotel/auth';
import type { ExotelAccount } from '../exotel-account/controller';

/** A callback as it arrived, as far as its authentication goes. */
export interface CallbackCredentials {
  ip: string | undefined;
  /** everything after the first "?" of the URL */
  query: string;
  authorization?: string;
}

/** The 401's reason when the account's token makes every callback fail (JSON for the caller; not translated, as every reply). */
const UNUSABLE_TOKEN = {
  noToken: 'the Exotel account has no webhook token: open the account in Node-RED, press Generate and deploy',
  shortToken: 'the Exotel account’s webhook token is too short: open the account in Node-RED, press Generate and deploy',
} as const;

/** Why a callback is refused (403 for an address off the allow-list, 401 without the token), or null when it is not. */
export function refusal(
  account: Pick<ExotelAccount, 'checkWebhookToken'> & Partial<Pick<ExotelAccount, 'webhookProblem'>>,
  allowList: AllowList | null,
  call: CallbackCredentials,
): { status: 401 | 403; reason: string } | null {
  if (allowList && !allowList.allows(call.ip)) return { status: 403, reason: 'this address is not on the IP allow-list' };
  const unusable = account.webhookProblem;
  if (unusable) return { status: 401, reason: UNUSABLE_TOKEN[unusable] };
  const tokens = new URLSearchParams(call.query).getAll('token');
  const ok = account.checkWebhookToken((expected) => hasWebhookToken(expected, tokens.length === 1 ? tokens[0] : undefined, call.authorization));
  return ok ? null : { status: 401, reason: 'the webhook token is missing or wrong' };
}
