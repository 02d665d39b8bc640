// The account's pace: at most `perMinute` requests in any 60-second window, across every send node
// of the account. Exotel counts a request when it arrives, which is some time after we let it go: so
// a request holds its slot from the moment it may start until 60 s after it has ended (or at once
// gives it back when it never left). Waiters queue in order; the queue is bounded.
import { SendError } from './errors';

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: Error) => void;
}

/** Ends a request's hold on its slot: `sent` false when no request left after all. */
export type Release = (sent?: boolean) => void;

export class RateLimiter {
  /** slots held: by requests under way, and by ended ones for a minute after they ended */
  private held = 0;
  private readonly waiting: Waiter[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly perMinute: number,
    readonly maxQueue: number,
    private readonly windowMs = 60_000,
  ) {
    if (!(perMinute > 0)) throw new Error('the rate limit must be a positive number of requests a minute');
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves, with the slot's release, when a request may start; rejects with `queue_full` when too
   * many already wait, and with `stopped` when `signal` aborts the wait (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    const stopped = () => new SendError({ code: 'stopped', message: 'the node was stopped while the message waited for the rate limit', retryable: true });
    if (signal?.aborted) return Promise.reject(stopped());
    if (this.waiting.length === 0 && this.held < this.perMinute) return Promise.resolve(this.take());
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
        resolve: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Rejects every waiter (the account is closing). */
  close(reason = 'the Exotel account was stopped'): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiting.splice(0)) {
      waiter.reject(new SendError({ code: 'stopped', message: reason, retryable: true }));
    }
  }

  private take(): Release {
    this.held++;
    let released = false;
    return (sent = true) => {
      if (released) return;
      released = true;
      if (!sent) return this.free();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.free();
      }, this.windowMs);
      this.timers.add(timer);
    };
  }

  private free(): void {
    this.held--;
    while (this.waiting.length > 0 && this.held < this.perMinute) this.waiting.shift()!.resolve(this.take());
  }
}
