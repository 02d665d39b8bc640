// The account's rate limit when several Node-RED instances share one database: the window lives in
// the database (one row a request), so that all instances together stay within the limit. Within
// this instance, waiters take their turn in order; the one at the head asks the database.
import { randomUUID } from 'node:crypto';
import { SendError } from '../../exotel/errors';
import type { Release } from '../../exotel/limiter';
import { isUnavailable, type ClusterStore } from '../../store';

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: Error) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SharedRateLimiter {
  private readonly waiting: Waiter[] = [];
  private pumping = false;
  private closed = false;
  /**
   * The key of the next question to the database: kept while a question gets no answer (it may have
   * committed, its answer lost), so that the question asked again gives back the slots the lost one
   * took, which nobody was granted; a new key once one is answered.
   */
  private attempt = randomUUID();

  constructor(
    private readonly window: Pick<ClusterStore, 'takeRateSlots' | 'endRateSlot'>,
    /** the account (its SID): instances of one account share its limit */
    private readonly account: string,
    readonly perMinute: number,
    readonly maxQueue: number,
    private readonly windowMs = 60_000,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    const stopped = () => new SendError({ code: 'stopped', message: 'the node was stopped while the message waited for the rate limit', retryable: true });
    if (signal?.aborted || this.closed) return Promise.reject(stopped());
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(new SendError({ code: 'queue_full', message: `${this.waiting.length} messages already wait for the account's rate limit`, retryable: true }));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(stopped());
      };
      // the listener goes with its waiter: a node's signal is shared by all its sends, and listeners
      // left on it would pile up (each addEventListener then walks them all)
      const waiter: Waiter = {
        resolve: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
        signal,
      };
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent; a signal fires 'abort' once only
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      void this.pump();
    });
  }

  close(reason = 'the Exotel account was stopped'): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new SendError({ code: 'stopped', message: reason, retryable: true }));
  }

  /** Serves the queue head first: asks the database for a slot, or waits as long as it says. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.length > 0 && !this.closed) {
        let turn: { slots: number[]; waitMs: number };
        try {
          // every waiter of this instance at once, in one transaction (they keep their order)
          turn = await this.window.takeRateSlots(this.account, this.perMinute, this.windowMs, this.waiting.length, this.attempt);
          this.attempt = randomUUID();
        } catch (err) {
          // The database cannot be reached: the sends wait (the send node shows it); anything else fails the head.
          if (!isUnavailable(err)) this.waiting.shift()?.reject(new SendError({ code: 'internal', message: (err as Error).message, retryable: true }));
          await sleep(1_000);
          continue;
        }
        for (const slot of turn.slots) {
          const waiter = this.waiting.shift();
          if (waiter) waiter.resolve(this.releaseOf(slot));
          else await this.window.endRateSlot(slot, false).catch(() => undefined); // its send stopped meanwhile
        }
        if (turn.slots.length === 0) await sleep(turn.waitMs);
      }
    } finally {
      this.pumping = false;
    }
  }

  private releaseOf(slot: number): Release {
    let released = false;
    return (sent = true) => {
      if (released) return;
      released = true;
      // Should the database not answer now, the slot stays held: the window only errs on the safe side.
      void this.window.endRateSlot(slot, sent).catch(() => undefined);
    };
  }
}
