// What a controller is given instead of a Node-RED node: plain functions and small interfaces, so
// that it runs (and is tested) without Node-RED. Nothing here imports Node-RED.

/** A runtime text of the node type (`<type>.runtime.<key>` in its message catalogue). */
export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export interface NodeStatus {
  fill: StatusFill;
  shape: 'dot' | 'ring';
  text: string;
}

/** Where a controller shows what it is doing: a ThrottledStatus in the adapter, a recorder in tests. */
export interface StatusLine {
  set(fill: StatusFill, shape: 'dot' | 'ring', text: string): void;
  now(fill: StatusFill, shape: 'dot' | 'ring', text: string): void;
  stop(): void;
}

/** The node's log, as Node-RED gives it. */
export interface NodeLog {
  log(text: string): void;
  warn(text: string): void;
  error(text: string | Error, msg?: unknown): void;
  debug?(text: string): void;
}

export type Send = (msg: unknown) => void;
export type Done = (err?: Error) => void;

/** Calls `settled` once the flow is done with `msg` (every node it reached has called done()); returns a function that stops watching. */
export type WatchCompletion = (msg: object, settled: () => void) => () => void;

/** Follows a message the node starts: call it before node.send(msg), then `sent()`; `settled` once the flow is done with it. */
export type FollowMessage = (msg: object, settled: (failure?: unknown) => void) => { sent(): void; stop(): void };

/** A TypedInput property of the node evaluated against a message (msg, flow, global, env, str, json…). */
export type Evaluate = (value: string, type: string, msg: object) => Promise<unknown>;

/** Timers, read from the globals at each call, so that a fake clock installed later is used. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout | undefined): void;
  setInterval(fn: () => void, ms: number): NodeJS.Timeout;
  clearInterval(timer: NodeJS.Timeout | undefined): void;
  now(): number;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer),
  now: () => Date.now(),
};

/** A value as it may be shown in a message: quoted text, or what kind of thing it is. */
export function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? `"${String(value).slice(0, 40)}"` : 'nothing';
}

/** An error message cut to fit under a node. */
export function statusText(message: string): string {
  return message.length > 40 ? message.slice(0, 37) + '…' : message;
}
