// What a node does while the database cannot be reached (PostgreSQL restarting, the network cut):
// it says so in red under the node, waits, and goes on by itself when the database answers again.
import { isUnavailable } from '../../store';
import { systemTimers, type Timers } from './ports';

/** How often a waiting call tries the database again. */
export const STORE_RETRY_MS = 1_000;

export interface StoreWaitDeps {
  /** the database cannot be reached (shown once, until it answers again) */
  onDown(err: Error): void;
  /** it answers again */
  onBack(): void;
  timers?: Timers;
  retryMs?: number;
}

/** Tracks whether the store answers, and runs calls again until it does (or the signal aborts). */
export class StoreWait {
  private down = false;
  private readonly timers: Timers;

  constructor(private readonly deps: StoreWaitDeps) {
    this.timers = deps.timers ?? systemTimers;
  }

  get unavailable(): boolean {
    return this.down;
  }

  /** Notes the outcome of a call: shows the red status on the first failure, and clears it on the first success after. */
  note(err?: unknown): void {
    // Stryker disable next-line ConditionalExpression: equivalent; no outcome (undefined) is no outage either
    if (err !== undefined && isUnavailable(err)) {
      if (!this.down) {
        this.down = true;
        this.deps.onDown(err as Error);
      }
    } else if (err === undefined && this.down) {
      this.down = false;
      this.deps.onBack();
    }
  }

  /** Runs `call`, again every second while the database cannot be reached; other errors are thrown. */
  async retry<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      try {
        const result = await call();
        this.note();
        return result;
      } catch (err) {
        if (!isUnavailable(err) || signal?.aborted) throw err;
        this.note(err);
        await this.pause(signal);
      }
    }
  }

  private pause(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(done, this.deps.retryMs ?? STORE_RETRY_MS);
      function done() {
        signal?.removeEventListener('abort', stop);
        resolve();
      }
      const stop = () => {
        this.timers.clearTimeout(timer);
        done();
      };
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent; a signal aborts once, and done() removes the listener
      signal?.addEventListener('abort', stop, { once: true });
    });
  }
}
