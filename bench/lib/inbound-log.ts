// Reading a Node-RED child's inbound log (the store's `inbound` table) from the bench process: to wait
// for exotel-inbound's deferred work (each SMS marked handled once its replay window has passed), and
// to compare the log with the callbacks answered.
import Database from 'better-sqlite3';
import { wait } from './measure';

export class InboundLog {
  private db: Database.Database | null = null;

  constructor(private readonly storePath: string) {}

  private open(): Database.Database {
    this.db ??= new Database(this.storePath, { readonly: true, fileMustExist: true });
    return this.db;
  }

  /** SMS in the log not yet marked handled; null while the store or its table is not there. */
  unhandled(): number | null {
    try {
      return this.open().prepare('SELECT COUNT(*) FROM inbound WHERE handled = 0').pluck().get() as number;
    } catch {
      return null;
    }
  }

  /** Waits until every SMS in the log is marked handled; false if `timeoutMs` passed first. */
  async untilHandled(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = this.unhandled();
      if (n === 0) return true;
      if (Date.now() > deadline) return false;
      await wait(250);
    }
  }

  /** Every SmsSid in the log. */
  sids(): string[] {
    return this.open().prepare('SELECT sid FROM inbound').pluck().all() as string[];
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}
