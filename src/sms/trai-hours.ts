// TRAI's hours: promotional and service-explicit SMS reach customers only from 10:00 to 21:00 India
// time (operators refuse others); transactional and service-implicit SMS go at any hour. India keeps
// one time zone without daylight saving, so IST is UTC+05:30 all year, whatever the machine's zone.
import type { DltCategory } from './dlt';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** IST: UTC+05:30. */
export const IST_OFFSET_MS = 5.5 * HOUR_MS;
/** The hours promotional SMS may go, IST: from `opens` (inclusive) to `closes` (exclusive). */
export const PROMOTIONAL_HOURS = { opens: 10, closes: 21 } as const;

/** The kinds of SMS TRAI's hours apply to. */
export type HoursKind = Extract<DltCategory, 'promotional' | 'service-explicit'>;
/** Exotel's SmsType values of those kinds: transactional_opt_in is DLT's service-explicit. */
const SMS_TYPE_KINDS: Record<string, HoursKind> = { promotional: 'promotional', transactional_opt_in: 'service-explicit' };

/**
 * Whether a send of this template category and Exotel SmsType may go only in TRAI's hours: the kind
 * that says so (the template's category first), or null when it may go at any hour.
 */
export function promotionalKind(category: string | undefined, smsType: string | undefined): HoursKind | null {
  if (category === 'promotional' || category === 'service-explicit') return category;
  return Object.prototype.hasOwnProperty.call(SMS_TYPE_KINDS, smsType ?? '') ? SMS_TYPE_KINDS[smsType!] : null;
}

/** The time of day in India, in ms since IST midnight. */
function istTimeOfDay(now: number): number {
  return (((now + IST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
}

/**
 * When a promotional SMS may go, seen at `now` (ms since the epoch): `now` itself within the hours,
 * else the next 10:00 IST (the same day before 10:00, the next day from 21:00).
 */
export function promotionalSendAt(now: number): number {
  const time = istTimeOfDay(now);
  const opens = PROMOTIONAL_HOURS.opens * HOUR_MS;
  const closes = PROMOTIONAL_HOURS.closes * HOUR_MS;
  if (time >= opens && time < closes) return now;
  const midnight = now - time;
  return midnight + opens + (time >= closes ? DAY_MS : 0);
}

/** A time as India's clock shows it: `HH:MM`. */
export function istClock(at: number): string {
  const minutes = Math.floor(istTimeOfDay(at) / 60_000);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
