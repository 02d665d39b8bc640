// What every node of the package shares in one Node-RED runtime: the store file, the package's
// settings from settings.js, and a status line that does not flood the editor under load.
import path from 'node:path';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { acquireStore, IN_MEMORY, type StoreHandle } from '../store';

/** `exotelSms: { … }` in settings.js */
export interface PackageSettings {
  /** the store file; default `<userDir>/exotel-sms.db`; `:memory:` keeps nothing across restarts */
  storePath?: string;
  /** an inbound SMS handed to the flow less than this before a stop or crash is handed on again at the next start (default 10000 ms) */
  replayWindowMs?: number;
  /** how long Exotel's API may take to answer before the attempt counts as timed out (default 10000 ms) */
  apiTimeoutMs?: number;
  /** first wait before a retried send, doubled each attempt (default 1000 ms) */
  retryBaseDelayMs?: number;
  /** how long a customer's next reply waits for the flow to act on the previous one (default 2000 ms) */
  conversationHoldMs?: number;
  /** how often conversation timeouts are looked for (default 1000 ms) */
  conversationTimerMs?: number;
}

export function packageSettings(RED: NodeAPI): PackageSettings {
  return ((RED.settings as unknown as Record<string, unknown>).exotelSms as PackageSettings | undefined) ?? {};
}

export function storePath(RED: NodeAPI): string {
  const configured = packageSettings(RED).storePath;
  if (configured) return configured === IN_MEMORY ? configured : path.resolve(configured);
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  return userDir ? path.join(userDir, 'exotel-sms.db') : IN_MEMORY;
}

export function openStore(RED: NodeAPI): StoreHandle {
  return acquireStore(storePath(RED));
}

type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';

/** Sets the status under a node at most every `intervalMs`, always showing the latest text. */
export class ThrottledStatus {
  private timer: NodeJS.Timeout | undefined;
  private pending: { fill: StatusFill; shape: 'dot' | 'ring'; text: string } | undefined;
  private last = 0;

  constructor(private readonly node: Node, private readonly intervalMs = 500) {}

  set(fill: StatusFill, shape: 'dot' | 'ring', text: string): void {
    this.pending = { fill, shape, text };
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Shows a status at once (errors, configuration problems). */
  now(fill: StatusFill, shape: 'dot' | 'ring', text: string): void {
    this.pending = { fill, shape, text };
    this.flush();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.stop();
    this.last = Date.now();
    if (this.pending) this.node.status(this.pending);
    this.pending = undefined;
  }
}

export type Send = (msg: unknown) => void;
export type Done = (err?: Error) => void;

/** Registers the `(msg, send, done)` input handler (the typings of Node-RED 1.x do not know it). */
export function onInput(node: Node, handler: (msg: NodeMessageInFlow, send: Send, done: Done) => void): void {
  (node as unknown as { on(event: 'input', listener: (msg: NodeMessageInFlow, send: Send, done: Done) => void): void }).on('input', handler);
}

/** A TypedInput property of a node, evaluated against a message (msg, flow, global, env, str, json…). */
export function evaluateProperty(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessageInFlow): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}

/** A value as it may be shown in a message: quoted text, or what kind of thing it is. */
export function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? `"${String(value).slice(0, 40)}"` : 'nothing';
}

/** Callbacks waiting for the flows to start, by runtime: one listener each, however many nodes wait. */
const waitingForStart = new WeakMap<object, Set<() => void>>();

/**
 * Runs `fn` once the flows have started (after a deploy or a restart), so that what a node hands on
 * then has somewhere to go. Nothing runs if the node closes first.
 */
export function whenFlowsStarted(RED: NodeAPI, node: Node, fn: () => void): void {
  let waiting = waitingForStart.get(RED.events);
  if (!waiting) {
    const set = new Set<() => void>();
    waiting = set;
    waitingForStart.set(RED.events, set);
    RED.events.on('flows:started', () => {
      const due = [...set];
      set.clear();
      for (const run of due) run();
    });
  }
  const queue = waiting;
  queue.add(fn);
  node.on('close', () => queue.delete(fn));
}
