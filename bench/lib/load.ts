// HTTP load with autocannon, the figures of a run, and rounds that alternate between flows.
import autocannon from 'autocannon';
import { median, round, wait } from './measure';
import type { Log } from './report';

export interface LoadOptions {
  url: string;
  connections: number;
  /** seconds; or `amount` requests */
  duration?: number;
  amount?: number;
  method?: string;
  contentType?: string;
  /** each request's body, and a key (such as its SmsSid) kept for checks */
  makeBody: () => { key: string; body: string };
  collectKeys?: boolean;
}

export interface LoadRun {
  result: autocannon.Result;
  ok: number;
  /** keys of the requests answered 200, and of every request sent (collectKeys) */
  okKeys: string[];
  sentKeys: string[];
}

/** One autocannon run. */
export function load(o: LoadOptions): Promise<LoadRun> {
  const okKeys: string[] = [];
  const sentKeys: string[] = [];
  let ok = 0;
  const target = new URL(o.url);
  const request: autocannon.Request = {
    method: o.method ?? 'POST',
    path: target.pathname + target.search,
    headers: o.contentType ? { 'content-type': o.contentType } : {},
    setupRequest(req, context) {
      const { key, body } = o.makeBody();
      context.key = key;
      if (o.collectKeys) sentKeys.push(key);
      req.body = body;
      return req;
    },
    onResponse(status, _body, context) {
      if (status !== 200) return;
      ok++;
      if (o.collectKeys) okKeys.push(context.key as string);
    },
  };
  return new Promise((resolve, reject) => {
    const size = o.amount ? { amount: o.amount } : { duration: o.duration };
    autocannon({ url: target.origin, connections: o.connections, ...size, requests: [request] }, (err, result) => {
      if (err) reject(err);
      else resolve({ result, ok, okKeys, sentKeys });
    });
  });
}

export interface Figures {
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  responses: number;
  ok200: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  byStatus: Record<string, number>;
  seconds: number;
  /** the server's CPU time (all its threads, all its work) per response */
  cpuUsPerReq: number | null;
  [extra: string]: unknown;
}

export function figures(result: autocannon.Result, ok: number, cpuMs: number | null = null): Figures {
  const byStatus = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  return {
    reqPerSec: round(result.requests.average, 1),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: round(result.latency.mean) },
    responses: result.requests.total,
    ok200: ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    byStatus,
    seconds: result.duration,
    cpuUsPerReq: cpuMs === null || !result.requests.total ? null : round((cpuMs * 1000) / result.requests.total, 1),
  };
}

export interface Side {
  name: string;
  run(seconds: number): Promise<Figures>;
}

export interface SideSummary {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerReq: number | null;
  non2xx: number;
  errors: number;
  timeouts: number;
  ok200: number;
  warmup: Figures;
  rounds: Figures[];
}

/** The median of a figure over rounds, or null when a round lacks it. */
export function medianOf(rounds: Figures[], pick: (f: Figures) => number | null, digits = 1): number | null {
  const values = rounds.map(pick);
  return values.every((v): v is number => v !== null && Number.isFinite(v)) ? round(median(values), digits) : null;
}

/**
 * The same load on several sides: a warm-up each, then `rounds` rounds, the order reversed every
 * round so that machine noise and drift hit every side alike. Per side: its rounds and medians.
 */
export async function alternate(sides: Side[], c: { warmup: number; duration: number; rounds: number }, log: Log): Promise<Record<string, SideSummary>> {
  const warmups: Record<string, Figures> = {};
  const rounds: Record<string, Figures[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
  for (const side of sides) {
    log(`  warm-up ${side.name} (${c.warmup} s)`);
    warmups[side.name] = await side.run(c.warmup);
  }
  for (let r = 0; r < c.rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      await wait(500);
      const f = await side.run(c.duration);
      rounds[side.name].push(f);
      log(`  round ${r + 1}/${c.rounds} ${side.name.padEnd(6)} ${String(f.reqPerSec).padStart(8)} req/s  p50 ${f.latencyMs.p50} ms  p99 ${f.latencyMs.p99} ms  CPU ${f.cpuUsPerReq} µs/req  non-2xx ${f.non2xx}`);
    }
  }
  const summary: Record<string, SideSummary> = {};
  for (const side of sides) {
    const measured = rounds[side.name];
    const all = [warmups[side.name], ...measured];
    const sum = (pick: (f: Figures) => number) => all.reduce((n, f) => n + pick(f), 0);
    summary[side.name] = {
      reqPerSec: medianOf(measured, (f) => f.reqPerSec) as number,
      p50Ms: medianOf(measured, (f) => f.latencyMs.p50) as number,
      p99Ms: medianOf(measured, (f) => f.latencyMs.p99) as number,
      cpuUsPerReq: medianOf(measured, (f) => f.cpuUsPerReq),
      non2xx: sum((f) => f.non2xx),
      errors: sum((f) => f.errors),
      timeouts: sum((f) => f.timeouts),
      ok200: sum((f) => f.ok200),
      warmup: warmups[side.name],
      rounds: measured,
    };
  }
  return summary;
}
