// The account's pace: at most `perMinute` requests start in any 60-second window, across every
// send node of the account. Waiters queue in order; the queue is bounded.
import { SendError } from './errors';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class RateLimiter {
  private readonly starts: number[] = [];
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly perMinute: number,
    readonly maxQueue: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perMinute > 0)) throw new Error('the rate limit must be a positive number of requests a minute');
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves when a request may start; rejects with `queue_full` when too many already wait, and
   * with `stopped` when `signal` aborts the wait (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<void> {
    const stopped = () => new SendError({ code: 'stopped', message: 'the node was stopped while the message waited for the rate limit', retryable: true });
    if (signal?.aborted) return Promise.reject(stopped());
    if (this.waiting.length === 0 && this.tryStart()) return Promise.resolve();
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(
        new SendError({ code: 'queue_full', message: `${this.waiting.length} messages already wait for the account's rate limit`, retryable: true }),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(stopped());
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.schedule();
    });
  }

  /** Rejects every waiter (the account is closing). */
  close(reason = 'the Exotel account was stopped'): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.waiting.splice(0)) {
      waiter.reject(new SendError({ code: 'stopped', message: reason, retryable: true }));
    }
  }

  private tryStart(): boolean {
    const now = this.now();
    while (this.starts.length > 0 && this.starts[0] <= now - this.windowMs) this.starts.shift();
    if (this.starts.length >= this.perMinute) return false;
    this.starts.push(now);
    return true;
  }

  private schedule(): void {
    if (this.timer) return;
    while (this.waiting.length > 0 && this.tryStart()) this.waiting.shift()!.resolve();
    if (this.waiting.length === 0) return;
    const wait = Math.max(1, this.starts[0] + this.windowMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, wait);
  }
}
