// What every node of the package shares in one Node-RED runtime: the store file, the package's
// settings from settings.js, and a status line that does not flood the editor under load.
import fs from 'node:fs';
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

// ---- runtime texts: statuses and log messages come from nodes/locales/<lang>/<type>.json, under
// `<type>.runtime`, as the editor's texts do. Not RED._: the test helper replaces it by the identity.

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export const DEFAULT_LANGUAGE = 'en-US';
// dist/nodes/locales once built; nodes/locales when the sources run directly (tests, through tsx)
const LOCALES_DIR = fs.existsSync(path.join(__dirname, 'locales'))
  ? path.join(__dirname, 'locales')
  : path.join(__dirname, '..', '..', 'nodes', 'locales');
/** `<lang>/<type>` → the `<type>.runtime` object of the catalogue, or null when there is none */
const catalogues = new Map<string, Record<string, unknown> | null>();

function catalogue(lang: string, type: string): Record<string, unknown> | null {
  const id = `${lang}/${type}`;
  let found = catalogues.get(id);
  if (found === undefined) {
    found = null;
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(LOCALES_DIR, lang, `${type}.json`), 'utf8')) as Record<string, unknown>;
      const runtime = (parsed[type] as Record<string, unknown> | undefined)?.runtime;
      if (runtime && typeof runtime === 'object') found = runtime as Record<string, unknown>;
    } catch {
      found = null;
    }
    catalogues.set(id, found);
  }
  return found;
}

function lookup(tree: Record<string, unknown> | null, key: string): string | undefined {
  let at: unknown = tree;
  for (const part of key.split('.')) {
    if (!at || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string' ? at : undefined;
}

/** The languages to try, best first: `hi_IN.UTF-8` → `hi-IN`, `hi`; always ending with en-US. */
export function languagesFor(lang: string | undefined): string[] {
  const out: string[] = [];
  const cleaned = (lang ?? '').split(/[.@:]/)[0].replace(/_/g, '-').trim();
  if (cleaned && cleaned !== 'C' && cleaned !== 'POSIX' && /^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$/.test(cleaned)) {
    const [base, region] = cleaned.split('-');
    if (region) out.push(`${base.toLowerCase()}-${region.length === 2 ? region.toUpperCase() : region}`);
    out.push(base.toLowerCase());
  }
  if (!out.includes(DEFAULT_LANGUAGE)) out.push(DEFAULT_LANGUAGE);
  return out;
}

/** The language of the runtime: `lang` in settings.js, else LC_ALL / LANG, else en-US. */
export function runtimeLanguage(RED?: NodeAPI): string {
  const configured = RED ? (RED.settings as unknown as { lang?: unknown }).lang : undefined;
  if (typeof configured === 'string' && configured.trim()) return configured.trim();
  return process.env.LC_ALL || process.env.LANG || DEFAULT_LANGUAGE;
}

const translators = new Map<string, Translate>();

/** Fills `__name__` placeholders, as Node-RED's i18next does. */
function fill(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/__([A-Za-z0-9_]+?)__/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole));
}

/** The translator of a node type's runtime texts (`<type>.runtime.<key>`), in the runtime's language. */
export function messages(RED: NodeAPI | undefined, type: string, lang = runtimeLanguage(RED)): Translate {
  const id = `${type}|${lang}`;
  let translate = translators.get(id);
  if (!translate) {
    const languages = languagesFor(lang);
    translate = (key, vars) => {
      for (const language of languages) {
        const text = lookup(catalogue(language, type), key);
        if (text !== undefined) return fill(text, vars);
      }
      return key;
    };
    translators.set(id, translate);
  }
  return translate;
}
