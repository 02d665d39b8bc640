// The rate limit as Exotel counts it: from when the requests arrive.

export interface RateFigures {
  /** the first arrival (or the start of the load when nothing arrived) */
  t0: number;
  /** arrivals in each full minute from t0 */
  perMinute: number[];
  /** the most arrivals in any 60 s window, and where it starts (ms after t0) */
  maxWindow: number;
  maxWindowAt: number | null;
  /** the shortest time from an arrival to the `limit`th after it (≥ 60 000 keeps every window ≤ limit) */
  minGap: number | null;
}

/** `arrivals` sorted, ms since the epoch. */
export function rateLimitFigures(arrivals: number[], loadStart: number, loadEnd: number, limit: number): RateFigures {
  const t0 = arrivals[0] ?? loadStart;
  const perMinute: number[] = [];
  for (let m = 0; m < Math.floor((loadEnd - t0) / 60_000); m++) perMinute.push(arrivals.filter((t) => t >= t0 + m * 60_000 && t < t0 + (m + 1) * 60_000).length);
  let maxWindow = 0;
  let maxWindowAt: number | null = null;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while (j < arrivals.length && arrivals[j] < arrivals[i] + 60_000) j++;
    if (j - i > maxWindow) {
      maxWindow = j - i;
      maxWindowAt = arrivals[i] - t0;
    }
  }
  let minGap: number | null = null;
  for (let i = 0; i + limit < arrivals.length; i++) {
    const gap = arrivals[i + limit] - arrivals[i];
    if (minGap === null || gap < minGap) minGap = gap;
  }
  return { t0, perMinute, maxWindow, maxWindowAt, minGap };
}
