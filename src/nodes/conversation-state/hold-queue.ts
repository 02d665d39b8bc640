// One customer's replies one at a time: while a reply is held (the flow is still acting on it), the
// customer's next ones wait, in order, until it is released or `holdMs` has passed. Customers do
// not wait for each other.
import { systemTimers, type Timers } from '../shared/ports';

export class HoldQueue<T> {
  private readonly holding = new Map<string, NodeJS.Timeout>();
  private readonly waiting = new Map<string, T[]>();

  /** `run` handles an item; the key stays held until release() or `holdMs`. */
  constructor(
    private readonly holdMs: number,
    private readonly run: (key: string, item: T) => void,
    private readonly timers: Timers = systemTimers,
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

  /** Ends the key's hold: its next waiting item, if any, runs (and holds the key in turn). */
  release(key: string): void {
    const timer = this.holding.get(key);
    if (!timer) return;
    this.timers.clearTimeout(timer);
    this.holding.delete(key);
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.waiting.delete(key);
    if (next !== undefined) this.start(key, next);
  }

  /** Stops every hold; returns the items still waiting, for the caller to report. */
  close(): T[] {
    for (const timer of this.holding.values()) this.timers.clearTimeout(timer);
    this.holding.clear();
    const left = [...this.waiting.values()].flat();
    this.waiting.clear();
    return left;
  }

  private start(key: string, item: T): void {
    this.holding.set(key, this.timers.setTimeout(() => this.release(key), this.holdMs));
    this.run(key, item);
  }
}
