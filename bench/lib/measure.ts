// Small measurement helpers shared by the benchmarks: medians, percentiles, rounding, waiting for a
// value to settle.

export const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** a / b rounded, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 3): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !b) return null;
  return round(a / b, digits);
}

export interface Percentiles {
  [key: `p${number}`]: number;
  mean: number;
  max: number;
  count: number;
}

/** Percentiles (nearest rank), mean, max and count of a list of numbers. */
export function percentiles(values: number[], ps = [50, 90, 99]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const out = { mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN, max: n ? sorted[n - 1] : NaN, count: n } as Percentiles;
  for (const p of ps) out[`p${p}`] = n ? sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] : NaN;
  return out;
}

/** Polls until `read()` stops changing for `quietMs` (or `timeoutMs` passes): the last value and when it last changed. */
export async function settle<T>(read: () => T | Promise<T>, { quietMs = 1000, timeoutMs = 60_000, intervalMs = 50 } = {}) {
  const start = performance.now();
  let value = await read();
  let changedAt = performance.now();
  while (performance.now() - changedAt < quietMs && performance.now() - start < timeoutMs) {
    await wait(intervalMs);
    const next = await read();
    if (next !== value) {
      value = next;
      changedAt = performance.now();
    }
  }
  return { value, lastChangeMs: changedAt - start, timedOut: performance.now() - start >= timeoutMs };
}

/** Fisher–Yates, in place. */
export function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}
