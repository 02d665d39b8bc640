// Opt-outs, one row a number, their append-only history (enforced by triggers), and the opted-out
// count, which triggers keep in a one-row table (migration 7): reading it is O(1).
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import type { ImportResult, OptOutChange, OptOutQuery, OptOutRecord, OptOutResult, OptOutStore, OptOutView, OptStatus } from '../store';
import { isReplayable, likePattern, toOptOut, type OptOutRow } from '../shared/rows';

/**
 * `confirmation_sent`: 0 the number's one opt-out confirmation is free; 2 claimed by a send of this
 * process that has not queued it yet; 1 queued in the outbox (or sent). SQLite serves one process:
 * a claim still at 2 when the store opens was left by a run that died (or stopped) between the claim
 * and the outbox, and its STOP is handed on again, so it is free again.
 */
export const CONFIRMATION_CLAIMED = 2;
export const CONFIRMATION_QUEUED = 1;

export class SqliteOptOuts implements OptOutStore, OptOutView {
  private readonly prepared: (sql: string) => Database.Statement;
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.prepared = statementCache(db);
    this.statements = {
      get: db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out WHERE phone = ?'),
      status: db.prepare('SELECT status FROM opt_out WHERE phone = ?').pluck(),
      isOut: db.prepare("SELECT 1 FROM opt_out WHERE phone = ? AND status = 'opted-out'").pluck(),
      // Called only when the status changes: a repeated STOP keeps the time of the first.
      upsert: db.prepare(
        `INSERT INTO opt_out (phone, status, keyword, source, updated_at) VALUES (@phone, @status, @keyword, @source, @at)
         ON CONFLICT (phone) DO UPDATE SET status = excluded.status, keyword = excluded.keyword, source = excluded.source,
           updated_at = excluded.updated_at, confirmation_sent = 0`,
      ),
      historyAdd: db.prepare('INSERT INTO opt_out_history (phone, status, keyword, source, at, by_user) VALUES (@phone, @status, @keyword, @source, @at, @by)'),
      historyHas: db.prepare('SELECT 1 FROM opt_out_history WHERE source = ? AND phone = ? AND status = ? LIMIT 1').pluck(),
      history: db.prepare('SELECT phone, status, keyword, source, at, by_user AS "by" FROM opt_out_history WHERE phone = ? ORDER BY id'),
      all: db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out ORDER BY phone'),
      count: db.prepare('SELECT opted_out FROM opt_out_count WHERE id = 1').pluck(),
      claimConfirmation: db.prepare(
        `UPDATE opt_out SET confirmation_sent = ${CONFIRMATION_CLAIMED}, confirmation_attempt = @attempt
         WHERE phone = @phone AND status = 'opted-out' AND updated_at >= @since
           AND (confirmation_sent = 0 OR (confirmation_sent = ${CONFIRMATION_CLAIMED} AND confirmation_attempt = @attempt))`,
      ),
      freeUnqueued: db.prepare(`UPDATE opt_out SET confirmation_sent = 0 WHERE status = 'opted-out' AND confirmation_sent = ${CONFIRMATION_CLAIMED}`),
      releaseConfirmation: db.prepare("UPDATE opt_out SET confirmation_sent = 0 WHERE phone = ? AND status = 'opted-out'"),
      // only while that attempt holds the claim and has not queued it
      releaseAttempt: db.prepare(
        `UPDATE opt_out SET confirmation_sent = 0 WHERE phone = ? AND status = 'opted-out' AND confirmation_sent = ${CONFIRMATION_CLAIMED} AND confirmation_attempt = ?`,
      ),
    };
  }

  /** Applies one change inside the caller's transaction; true when the status changed. */
  private apply(change: OptOutChange, at: number): boolean {
    const previous = this.statements.status.get(change.phone) as OptStatus | undefined;
    const row = { phone: change.phone, status: change.status, keyword: change.keyword ?? null, source: change.source, at, by: change.by ?? null };
    const changed = previous !== change.status;
    if (changed) this.statements.upsert.run(row);
    this.statements.historyAdd.run(row);
    return changed;
  }

  async setOptStatus(change: OptOutChange): Promise<OptOutResult> {
    return this.db.transaction((): OptOutResult => {
      const replay = isReplayable(change.source) && !!this.statements.historyHas.get(change.source, change.phone, change.status);
      const changed = replay ? false : this.apply(change, Date.now());
      const record = toOptOut(this.statements.get.get(change.phone) as OptOutRow);
      return { record, changed, replay };
    })();
  }

  async getOptStatus(phone: string): Promise<OptOutRecord | null> {
    const row = this.statements.get.get(phone) as OptOutRow | undefined;
    return row ? toOptOut(row) : null;
  }

  async isOptedOut(phone: string): Promise<boolean> {
    return this.statements.isOut.get(phone) === 1;
  }

  async claimOptOutConfirmation(phone: string, withinMs: number, attempt?: string): Promise<boolean> {
    return this.statements.claimConfirmation.run({ phone, since: Date.now() - withinMs, attempt: attempt ?? null }).changes === 1;
  }

  /** At the start: the confirmations an earlier run claimed and never queued are free again (their STOPs are handed on again). */
  freeUnqueuedConfirmations(): number {
    return this.statements.freeUnqueued.run().changes;
  }

  async releaseOptOutConfirmation(phone: string, attempt?: string): Promise<void> {
    if (attempt === undefined) this.statements.releaseConfirmation.run(phone);
    else this.statements.releaseAttempt.run(phone, attempt);
  }

  async importOptStatus(phones: string[], status: OptStatus, source: string, by?: string | null): Promise<ImportResult> {
    // In key order, with a large page cache for the import: the B-trees then fill page after page
    // instead of reading back and writing out pages at random (1M numbers: seconds, not half a minute).
    const sorted = [...phones].sort();
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -262144');
    try {
      return this.db.transaction((): ImportResult => {
        const at = Date.now();
        let changed = 0;
        for (const phone of sorted) if (this.apply({ phone, status, source, by }, at)) changed++;
        return { changed, unchanged: sorted.length - changed };
      })();
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
  }

  async exportOptStatus(): Promise<OptOutRecord[]> {
    return (this.statements.all.all() as OptOutRow[]).map(toOptOut);
  }

  async optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>> {
    return this.statements.history.all(phone) as Array<OptOutChange & { at: number }>;
  }

  async optOutPage(query: OptOutQuery): Promise<OptOutRecord[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit };
    const status = query.status ?? 'opted-out';
    if (status !== 'all') {
      where.push('status = @status');
      params.status = status;
    }
    if (query.text) {
      where.push("phone LIKE @text ESCAPE '\\'");
      params.text = likePattern(query.text);
    }
    if (query.after) {
      where.push('updated_at <= @at AND (updated_at < @at OR phone < @id)');
      params.at = query.after.at;
      params.id = query.after.id;
    }
    const sql = `SELECT phone, status, keyword, source, updated_at FROM opt_out ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY updated_at DESC, phone DESC LIMIT @limit`;
    return (this.prepared(sql).all(params) as OptOutRow[]).map(toOptOut);
  }

  async optedOutCount(): Promise<number> {
    return this.statements.count.get() as number;
  }
}
