// What the benchmarks send: Exotel's callbacks, SmsSids, customers' numbers; and how the replies a
// mock Exotel received match the callbacks answered.
import { randomUUID } from 'node:crypto';

export const WEBHOOK_TOKEN = 'bench-webhook-token-5d1c';
export const FORM = 'application/x-www-form-urlencoded';

/**
 * SmsSids like Exotel's: 32 random hex characters. Random, not a counter, so that the inbound log's
 * primary key takes them in random order as in production (a counter would land every insert on the
 * same B-tree page and flatter the store).
 */
export const nextSid = (): string => randomUUID().replaceAll('-', '');

/** The form body Exotel posts for an inbound SMS. */
export function exotelFormBody(sid: string, from = '09876543210', body = 'YES', accountSid = 'benchacct'): string {
  return `SmsSid=${sid}&From=${from}&To=01140123456&Body=${encodeURIComponent(body)}&AccountSid=${accountSid}`;
}

/**
 * Customer numbers: a counter in the mobile series 98xxxxxxxx, so that no two callbacks of one customer
 * meet in the conversation node's one-at-a-time hold and the number parser's cache does not make every
 * lookup free: traffic from many customers.
 */
export function customerNumbers(start = 0): () => string {
  let n = start;
  return () => String(9_800_000_000 + (n++ % 100_000_000));
}

/** The last ten digits of a number: +919876543210, 09876543210 and 9876543210 are one customer. */
export const tenDigits = (phone: string): string => String(phone).replace(/\D/g, '').slice(-10);

export interface ReplyMatch {
  replies: number;
  acked: number;
  ackedWithoutReply: number;
  numbersRepliedTwice: number;
  repliedNotAcked: number;
  repliedNeverSent: number;
}

/** How the replies an account's mock received (their `To`) match the callbacks answered 200 (keys: ten digits). */
export function matchReplies(recipients: string[], okKeys: string[], sentKeys: string[]): ReplyMatch {
  const replies = new Map<string, number>();
  for (const to of recipients) {
    const key = tenDigits(to);
    replies.set(key, (replies.get(key) ?? 0) + 1);
  }
  const acked = new Set(okKeys);
  const sent = new Set(sentKeys);
  let ackedWithoutReply = 0;
  for (const key of acked) if (!replies.has(key)) ackedWithoutReply++;
  let twice = 0;
  let notAcked = 0;
  let neverSent = 0;
  for (const [key, count] of replies) {
    if (count > 1) twice++;
    if (!acked.has(key)) {
      notAcked++;
      if (!sent.has(key)) neverSent++;
    }
  }
  return { replies: recipients.length, acked: acked.size, ackedWithoutReply, numbersRepliedTwice: twice, repliedNotAcked: notAcked, repliedNeverSent: neverSent };
}
