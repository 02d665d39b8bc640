// One customer's replies one at a time: while a reply is held (the flow is still acting on it), the
// customer's next ones wait, in order, until it is released or `holdMs` has passed (the upper bound
// for a flow that never says it is done). Customers do not wait for each other.
import { systemTimers, type Timers } from '../shared/ports';

interface Hold<T> {
  item: T;
  timer: NodeJS.Timeout;
}

export class HoldQueue<T> {
  private readonly holding = new Map<string, Hold<T>>();
  private readonly waiting = new Map<string, T[]>();

  /** `run` handles an item; the key stays held until release() or `holdMs`; `ended` is told when a hold ends. */
  constructor(
    private readonly holdMs: number,
    private readonly run: (key: string, item: T) => void,
    private readonly timers: Timers = systemTimers,
    private readonly ended: (item: T) => void = () => undefined,
  ) {}

  /** Runs the item now if its key is free, else queues it behind the key's earlier ones. */
  offer(key: string, item: T): void {
    if (this.holding.has(key)) {
      const queue = this.waiting.get(key) ?? [];
      queue.push(item);
      this.waiting.set(key, queue);
    } else this.start(key, item);
  }

  isHeld(key: string): boolean {
    return this.holding.has(key);
  }

  /**
   * Ends the key's hold: its next waiting item, if any, runs (and holds the key in turn). With an
   * item, only that item's hold ends (a late word about an earlier reply frees no later one).
   */
  release(key: string, item?: T): void {
    const hold = this.holding.get(key);
    if (!hold || (item !== undefined && hold.item !== item)) return;
    this.timers.clearTimeout(hold.timer);
    this.holding.delete(key);
    this.ended(hold.item);
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    // Stryker disable next-line ConditionalExpression: equivalent; an empty queue left behind holds nothing (only memory)
    if (queue && queue.length === 0) this.waiting.delete(key);
    if (next !== undefined) this.start(key, next);
  }

  /** Stops every hold; returns the items still waiting, for the caller to report. */
  close(): T[] {
    for (const hold of this.holding.values()) {
      this.timers.clearTimeout(hold.timer);
      this.ended(hold.item);
    }
    this.holding.clear();
    const left = [...this.waiting.values()].flat();
    this.waiting.clear();
    return left;
  }

  private start(key: string, item: T): void {
    const timer = this.timers.setTimeout(() => this.release(key, item), this.holdMs);
    this.holding.set(key, { item, timer });
    this.run(key, item);
  }
}
