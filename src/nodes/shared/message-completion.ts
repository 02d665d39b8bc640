// When is the flow done with a message? Node-RED's message hooks see every hand-over of a message
// (onSend, one event per wire), every node starting on it (onReceive) and every node calling done()
// (onComplete); a Catch or Complete node is handed it by receive(), so it counts too. A watched
// message (by `_msgid`, which its copies keep) is settled when no copy is on a wire or in a node.
// A node that never calls done() leaves it unsettled: the caller keeps a timer as the upper bound.
import type { WatchCompletion } from './ports';

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
  settled: () => void;
  checking: boolean;
}

type MessageEvent = { msg?: { _msgid?: unknown } };

let instances = 0;

export class MessageCompletion {
  private readonly watched = new Map<string, Watched>();
  private readonly label = `smsflowExotelCompletion${++instances}`;

  constructor(private readonly hooks: MessageHooks) {
    const LABEL = this.label;
    hooks.add(`onSend.${LABEL}`, (events: MessageEvent[]) => {
      for (const event of events) {
        const entry = this.entryOf(event);
        if (entry) entry.onWires++;
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
    if (typeof id !== 'string' || !id || this.watched.has(id)) return () => undefined;
    const entry: Watched = { onWires: 0, inNodes: 1, settled, checking: false };
    this.watched.set(id, entry);
    return () => {
      if (this.watched.get(id) === entry) this.watched.delete(id);
    };
  };

  get size(): number {
    return this.watched.size;
  }

  close(): void {
    this.hooks.remove(`*.${this.label}`);
    this.watched.clear();
  }

  private entryOf(event: MessageEvent): Watched | undefined {
    const id = event?.msg?._msgid;
    return typeof id === 'string' ? this.watched.get(id) : undefined;
  }

  // A node's done() with an error hands the message to Catch nodes right after onComplete: look
  // again on the next turn before calling it settled.
  private check(id: string, entry: Watched): void {
    if (entry.onWires + entry.inNodes > 0 || entry.checking) return;
    entry.checking = true;
    setImmediate(() => {
      entry.checking = false;
      if (this.watched.get(id) !== entry || entry.onWires + entry.inNodes > 0) return;
      this.watched.delete(id);
      entry.settled();
    });
  }
}

const shared = new WeakMap<MessageHooks, { completion: MessageCompletion; users: number }>();

/** One watcher per Node-RED runtime, shared by the nodes that use it; null without RED.hooks. */
export function acquireMessageCompletion(hooks: MessageHooks | undefined): { watch: WatchCompletion; release(): void } | null {
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
