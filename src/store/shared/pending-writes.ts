// Group commit, as both inbound logs do it: the inbound records and handled marks that arrive in one
// turn of the event loop wait here together, and each caller's promise settles once its commit did.
import type { InboundRecord } from '../store';

export interface Waiting<V> {
  resolve: (value: V) => void;
  reject: (err: unknown) => void;
}

export interface PendingInbound extends Waiting<boolean> {
  row: InboundRecord;
  recordedAt: number;
}

/** What the next commit writes. `schedule` is called on every addition: it arranges that commit once. */
export class PendingWrites {
  private inbound: PendingInbound[] = [];
  private handled: string[] = [];
  private handledWaiters: Array<Waiting<void>> = [];

  constructor(private readonly schedule: () => void) {}

  /** Resolves with true when the SMS was new, false for a repeated SmsSid, once committed. */
  record(row: InboundRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.inbound.push({ row, recordedAt: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  markHandled(sids: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handled.push(...sids);
      this.handledWaiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Everything waiting, handed over to one commit; what arrives from now on waits for the next. */
  take(): { inbound: PendingInbound[]; handled: string[]; waiters: Array<Waiting<void>> } {
    const taken = { inbound: this.inbound, handled: this.handled, waiters: this.handledWaiters };
    this.inbound = [];
    this.handled = [];
    this.handledWaiters = [];
    return taken;
  }
}
