// When is the flow done with a message? Node-RED's message hooks see every hand-over of a message
// (onSend, one event per wire), every node starting on it (onReceive) and every node calling done()
// (onComplete); a Catch or Complete node is handed it by receive(), so it counts too. A watched
// message (by `_msgid`, which its copies keep) is settled when no copy is on a wire or in a node.
// A node that never calls done() leaves it unsettled: the caller keeps a timer as the upper bound.
// Several nodes may watch one message (exotel-inbound follows what it hands on, a route node holds a
// customer's next reply on it): they share its counts and are all told.
import { randomBytes } from 'node:crypto';
import type { FollowMessage, WatchCompletion } from './ports';
import { isUnavailable } from '../../store';

/** The part of RED.hooks used here. */
export interface MessageHooks {
  add(hookId: string, callback: (event: never) => unknown): void;
  remove(hookId: string): void;
}

interface Watched {
  /** copies handed to a wire and not yet received */
  onWires: number;
  /** copies a node has received and not yet called done() for */
  inNodes: number;
  listeners: Set<() => void>;
  checking: boolean;
  /** followed from its origin: not settled before the first hand-over has been seen */
  awaitingSend: boolean;
  /** a node gave up on it because the store could not be reached: its effect may be missing */
  failure?: unknown;
}

type MessageEvent = { msg?: { _msgid?: unknown }; error?: unknown };

let instances = 0;

export class MessageCompletion {
  private readonly watched = new Map<string, Watched>();
  // Stryker disable next-line UpdateOperator: equivalent; counting down gives each instance its own label too
  private readonly label = `smsflowExotelCompletion${++instances}`;

  constructor(private readonly hooks: MessageHooks) {
    const LABEL = this.label;
    hooks.add(`onSend.${LABEL}`, (events: MessageEvent[]) => {
      for (const event of events) {
        const entry = this.entryOf(event);
        if (!entry) continue;
        entry.onWires++;
        entry.awaitingSend = false;
      }
    });
    hooks.add(`onReceive.${LABEL}`, (event: MessageEvent) => {
      const entry = this.entryOf(event);
      if (!entry) return;
      if (entry.onWires > 0) entry.onWires--;
      entry.inNodes++;
    });
    hooks.add(`onComplete.${LABEL}`, (event: MessageEvent) => {
      const entry = this.entryOf(event);
      if (!entry) return;
      if (entry.inNodes > 0) entry.inNodes--;
      if (event.error !== undefined && isUnavailable(event.error)) entry.failure = event.error;
      // Stryker disable next-line OptionalChaining: equivalent; entryOf() found no entry for an event without a message
      this.check(String(event.msg?._msgid), entry);
    });
  }

  /**
   * Calls `settled` once the flow is done with `msg`, which the caller's node holds now (it will
   * call done() for it). Returns a function that stops watching. A message without `_msgid` is not
   * watched.
   */
  readonly watch: WatchCompletion = (msg, settled) => {
    const id = (msg as { _msgid?: unknown })._msgid;
    if (typeof id !== 'string' || !id) return () => undefined;
    // Already watched: the node's onReceive has been counted in it.
    const entry = this.watched.get(id) ?? this.add(id, { onWires: 0, inNodes: 1, awaitingSend: false });
    return this.listen(id, entry, settled);
  };

  /**
   * Follows a message the caller's node starts (an input node: no done() of its own). Call it before
   * node.send(msg) and `sent()` right after: `settled` is called once a copy has been handed to a wire
   * and every copy is done. Gives the message its `_msgid` when it has none. The caller must have a
   * wire to hand it to (else nothing is ever seen of it).
   */
  readonly follow: FollowMessage = (msg, settled) => {
    const holder = msg as { _msgid?: unknown };
    if (typeof holder._msgid !== 'string' || !holder._msgid) holder._msgid = randomBytes(8).toString('hex');
    const id = holder._msgid as string;
    const entry = this.watched.get(id) ?? this.add(id, { onWires: 0, inNodes: 0, awaitingSend: true });
    entry.inNodes++;
    const stop = this.listen(id, entry, settled);
    let sent = false;
    return {
      sent: () => {
        if (sent) return;
        sent = true;
        if (entry.inNodes > 0) entry.inNodes--;
        this.check(id, entry);
      },
      stop,
    };
  };

  get size(): number {
    return this.watched.size;
  }

  close(): void {
    this.hooks.remove(`*.${this.label}`);
    this.watched.clear();
  }

  private add(id: string, counts: Pick<Watched, 'onWires' | 'inNodes' | 'awaitingSend'>): Watched {
    const entry: Watched = { ...counts, listeners: new Set(), checking: false };
    this.watched.set(id, entry);
    return entry;
  }

  private listen(id: string, entry: Watched, settled: (failure?: unknown) => void): () => void {
    const listener = () => settled(entry.failure);
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0 && this.watched.get(id) === entry) this.watched.delete(id);
    };
  }

  private entryOf(event: MessageEvent): Watched | undefined {
    // Stryker disable next-line OptionalChaining: equivalent; Node-RED's hooks always pass an event
    const id = event?.msg?._msgid;
    // Stryker disable next-line ConditionalExpression: equivalent; the ids watched are all text
    return typeof id === 'string' ? this.watched.get(id) : undefined;
  }

  // A node's done() with an error hands the message to Catch nodes right after onComplete: look
  // again on the next turn before calling it settled.
  private check(id: string, entry: Watched): void {
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: equivalent; the check on the next turn counts the copies again
    if (entry.onWires + entry.inNodes > 0 || entry.awaitingSend || entry.checking) return;
    // Stryker disable next-line BooleanLiteral: equivalent; a second check finds the message settled and forgotten already
    entry.checking = true;
    setImmediate(() => {
      entry.checking = false;
      if (this.watched.get(id) !== entry || entry.onWires + entry.inNodes > 0) return;
      this.watched.delete(id);
      for (const listener of [...entry.listeners]) listener();
    });
  }
}

const shared = new WeakMap<MessageHooks, { completion: MessageCompletion; users: number }>();

/** One watcher per Node-RED runtime, shared by the nodes that use it; null without RED.hooks. */
export function acquireMessageCompletion(hooks: MessageHooks | undefined): { watch: WatchCompletion; follow: FollowMessage; release(): void } | null {
  if (!hooks || typeof hooks.add !== 'function') return null;
  let entry = shared.get(hooks);
  if (!entry) {
    entry = { completion: new MessageCompletion(hooks), users: 0 };
    shared.set(hooks, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    watch: held.completion.watch,
    follow: held.completion.follow,
    release() {
      if (released) return;
      released = true;
      if (--held.users === 0) {
        held.completion.close();
        shared.delete(hooks);
      }
    },
  };
}
