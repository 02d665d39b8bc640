// exotel-send's exceptions to the opt-out guard, and the plain words of a refusal. Nothing is sent
// to a number that opted out, except: the one confirmation of a fresh opt-out (the message that
// carries it, or a node ticked to send it), and, when the node allows it, the answer to a HELP the
// opted-out number itself just sent (information the customer asked for, not a campaign).
import { SendError } from '../../exotel/errors';

export const OPT_OUT_CONFIRMATION_WINDOW_MS = 10 * 60_000;

/** The parts of a message the guard reads. */
export interface GuardedMessage {
  optOut?: unknown;
  keyword?: unknown;
  sms?: { from?: unknown };
}

/**
 * Whether the message carries the opt-out of `to` an opt-out store node has just made
 * (msg.optOut: opted out, changed by this message, within the confirmation window). Such a message
 * reaching a send node is, in any flow, the answer to the STOP: its confirmation.
 */
export function carriesFreshOptOut(msg: GuardedMessage, to: string, now = Date.now()): boolean {
  const optOut = msg.optOut as { phone?: unknown; status?: unknown; changed?: unknown; updatedAt?: unknown } | undefined;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent; text or a number as msg.optOut has no status either (the line below)
  if (!optOut || typeof optOut !== 'object') return false;
  if (optOut.status !== 'opted-out' || optOut.changed !== true || optOut.phone !== to) return false;
  const at = typeof optOut.updatedAt === 'string' ? Date.parse(optOut.updatedAt) : NaN;
  return Number.isFinite(at) && at <= now + 60_000 && now - at <= OPT_OUT_CONFIRMATION_WINDOW_MS;
}

/** Whether the message answers a HELP that `to` sent (keyword-switch's msg.keyword, the SMS's sender). */
export function answersHelpFrom(msg: GuardedMessage, to: string): boolean {
  return msg.keyword === 'HELP' && msg.sms?.from === to;
}

/** The refusal of a send to a number that opted out, in plain words. */
export function optedOutError(to: string): SendError {
  return new SendError({
    code: 'opted_out',
    message: `not sent: ${to} opted out (replied STOP). Only the one confirmation of the opt-out, and answers to HELP where the node allows them, may reach this number`,
    retryable: false,
  });
}
