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

/** The categories TRAI's hours apply to. */
const RESTRICTED: readonly string[] = ['promotional', 'service-explicit'] satisfies DltCategory[];
/** Exotel's SmsType values that mean the same: promotional, and transactional_opt_in (DLT's service-explicit). */
const RESTRICTED_SMS_TYPES: readonly string[] = ['promotional', 'transactional_opt_in'];

/** Whether a send of this template category and Exotel SmsType may go only in TRAI's hours. */
export function keepsPromotionalHours(category: string | undefined, smsType: string | undefined): boolean {
  return RESTRICTED.includes(category ?? '') || RESTRICTED_SMS_TYPES.includes(smsType ?? '');
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
