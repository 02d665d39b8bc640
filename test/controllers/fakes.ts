// Collaborators for the controller specs: no Node-RED, no network.
import type { SendRequest, SendResult, SmsGateway } from '../../src/exotel/client';
import type { Release } from '../../src/exotel/limiter';
import type { Evaluate, NodeLog, StatusLine, Timers, Translate } from '../../src/nodes/shared/ports';
import { StoreUnavailableError } from '../../src/store';

/** Resolves once `check` holds, looking at every turn of the event loop (real setImmediate). */
export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  // Bounded by time, not by turns of the event loop: under load (or mutation testing's coverage
  // counting) a few thousand turns can pass before a 5 ms timer fires.
  // (A cap on turns too, in case a spec fakes the clock.)
  const end = Date.now() + timeoutMs;
  for (let turn = 0; !check(); turn++) {
    if ((turn >= 2_000 && Date.now() > end) || turn >= 1_000_000) throw new Error('the condition never held');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Lets pending promises run (a few turns of the event loop). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/**
 * A take-over claim as PostgreSQL makes it: each waiting row is taken once, and only a claim with the
 * same key answers it again. The answer of the first claim that takes a row is lost after it
 * committed (the connection dropped). `keys`: the key of each claim; `lostKey`: that claim's.
 */
export function claimLosingFirstAnswer<T>(waiting: T[]): { claim: (key: string) => Promise<T[]>; keys: string[]; lostKey?: string } {
  const takenWith = new Map<string, T[]>();
  const keys: string[] = [];
  const lossy: { claim: (key: string) => Promise<T[]>; keys: string[]; lostKey?: string } = {
    keys,
    claim: async (key: string) => {
      keys.push(key);
      const taken = [...(takenWith.get(key) ?? []), ...waiting.splice(0)];
      takenWith.set(key, taken);
      if (taken.length > 0 && lossy.lostKey === undefined) {
        lossy.lostKey = key;
        throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
      }
      return taken;
    },
  };
  return lossy;
}

export function result(to: string, n: number): SendResult {
  return { sid: `SM${n}`, status: 'queued', detailedStatus: 'PENDING_TO_OPERATOR', detailedStatusCode: 21010, segments: 1, encoding: 'plain' };
}

/** A gateway that records each request and answers with what `answer` says (success by default). */
export class FakeGateway implements SmsGateway {
  readonly sent: SendRequest[] = [];
  answer: (request: SendRequest, n: number) => Promise<SendResult> = async (request, n) => result(request.to, n);

  async send(request: SendRequest, onDispatch?: () => void): Promise<SendResult> {
    this.sent.push(request);
    onDispatch?.();
    return this.answer(request, this.sent.length);
  }

  async close(): Promise<void> {}
}

/** A limiter that lets every request go at once, or holds each until the test lets it go. */
export class FakeLimiter {
  held = false;
  readonly waiting: Array<Deferred<Release>> = [];

  acquire(): Promise<Release> {
    if (!this.held) return Promise.resolve(() => undefined);
    const turn = deferred<Release>();
    this.waiting.push(turn);
    return turn.promise;
  }

  letOneGo(): void {
    this.waiting.shift()?.resolve(() => undefined);
  }
}

export const translate: Translate = (key, vars) => (vars ? `${key} ${JSON.stringify(vars)}` : key);

/** msg.<property> for a msg TypedInput, the value itself for str. */
export const evaluate: Evaluate = async (value, type, msg) => {
  if (type === 'msg') return (msg as Record<string, unknown>)[value];
  if (type === 'str') return value;
  throw new Error(`the specs evaluate no ${type} property`);
};

export class StatusRecorder implements StatusLine {
  readonly shown: Array<{ fill: string; text: string }> = [];
  /** the same statuses with their shape (dot or ring), as Node-RED draws them */
  readonly drawn: Array<{ fill: string; shape: string; text: string }> = [];
  set(fill: string, shape: string, text: string): void {
    this.shown.push({ fill, text });
    this.drawn.push({ fill, shape, text });
  }
  now(fill: string, shape: string, text: string): void {
    this.shown.push({ fill, text });
    this.drawn.push({ fill, shape, text });
  }
  stop(): void {}
  get last() {
    return this.shown[this.shown.length - 1];
  }
  get lastDrawn() {
    return this.drawn[this.drawn.length - 1];
  }
}

export class LogRecorder implements NodeLog {
  readonly lines: Array<{ level: string; text: string }> = [];
  log(text: string): void {
    this.lines.push({ level: 'log', text });
  }
  warn(text: string): void {
    this.lines.push({ level: 'warn', text });
  }
  error(text: string | Error): void {
    this.lines.push({ level: 'error', text: String(text) });
  }
  debug(text: string): void {
    this.lines.push({ level: 'debug', text });
  }
}

/**
 * Timers the spec moves by hand (ports' Timers): `tick(ms)` advances the clock and runs what fell
 * due, in order. `intervals` lists the repeating timers still set, with their period.
 */
export class ManualTimers implements Timers {
  /** starts at the real time, so that times the store compares with Date.now() agree */
  private clock = Date.now();
  private nextId = 1;
  private readonly pending = new Map<number, { fn: () => void; at: number; every?: number }>();

  now(): number {
    return this.clock;
  }
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    return this.add(fn, ms);
  }
  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    return this.add(fn, ms, ms);
  }
  clearTimeout(timer: NodeJS.Timeout | undefined): void {
    this.pending.delete(timer as unknown as number);
  }
  clearInterval(timer: NodeJS.Timeout | undefined): void {
    this.pending.delete(timer as unknown as number);
  }
  /** the periods of the repeating timers still set */
  get intervals(): number[] {
    return [...this.pending.values()].filter((t) => t.every !== undefined).map((t) => t.every as number);
  }
  /** how many one-off timers are still set */
  get timeouts(): number {
    return [...this.pending.values()].filter((t) => t.every === undefined).length;
  }
  /** Lets pending promises run (they may set timers), then advances the clock by `ms`, running each timer that falls due. */
  async tick(ms: number): Promise<void> {
    await settle();
    const end = this.clock + ms;
    for (;;) {
      let next: [number, { fn: () => void; at: number; every?: number }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      const [id, timer] = next;
      this.clock = timer.at;
      if (timer.every === undefined) this.pending.delete(id);
      else timer.at += timer.every;
      timer.fn();
      await settle();
    }
    this.clock = end;
    await settle();
  }
  private add(fn: () => void, ms: number, every?: number): NodeJS.Timeout {
    const id = this.nextId++;
    this.pending.set(id, { fn, at: this.clock + Math.max(0, ms), every: every === undefined ? undefined : Math.max(1, every) });
    return id as unknown as NodeJS.Timeout;
  }
}
