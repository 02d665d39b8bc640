// The embedded store: one SQLite file in WAL mode. synchronous=NORMAL keeps every committed
// change across a killed process (only a power cut can cost the last commits), at a fraction
// of FULL's cost per inbound SMS.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations';
import type { ImportResult, InboundRecord, OptOutChange, OptOutRecord, OptOutResult, OptStatus, Store } from './store';

export const IN_MEMORY = ':memory:';

interface InboundRow {
  sid: string;
  endpoint: string;
  from_number: string;
  to_number: string;
  body: string;
  received_at: string;
  account_sid: string;
}

interface OptOutRow {
  phone: string;
  status: OptStatus;
  keyword: string | null;
  source: string;
  updated_at: number;
}

function toOptOut(row: OptOutRow): OptOutRecord {
  return { phone: row.phone, status: row.status, keyword: row.keyword, source: row.source, updatedAt: row.updated_at };
}

/** Sources that are not an inbound SmsSid, and so may be applied any number of times. */
const REPEATABLE_SOURCES = new Set(['manual', 'import']);

function toRecord(row: InboundRow): InboundRecord {
  return {
    sid: row.sid,
    endpoint: row.endpoint,
    from: row.from_number,
    to: row.to_number,
    body: row.body,
    receivedAt: row.received_at,
    accountSid: row.account_sid,
  };
}

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the store was written by a newer release (schema ${current}, this release knows ${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly statements;

  constructor(readonly file: string) {
    if (file !== IN_MEMORY) fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.statements = {
      insertInbound: this.db.prepare(
        `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at)
         VALUES (@sid, @endpoint, @from, @to, @body, @receivedAt, @accountSid, @recordedAt)
         ON CONFLICT (sid) DO NOTHING`,
      ),
      markHandled: this.db.prepare('UPDATE inbound SET handled = 1 WHERE sid = ?'),
      unhandled: this.db.prepare('SELECT * FROM inbound WHERE endpoint = ? AND handled = 0 ORDER BY recorded_at, sid'),
      stats: this.db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(handled = 0), 0) AS unhandled FROM inbound'),
      claim: this.db.prepare('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      release: this.db.prepare('DELETE FROM send_claim WHERE node_id = ? AND claim_key = ?'),
      optGet: this.db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out WHERE phone = ?'),
      optStatus: this.db.prepare('SELECT status FROM opt_out WHERE phone = ?').pluck(),
      optIsOut: this.db.prepare("SELECT 1 FROM opt_out WHERE phone = ? AND status = 'opted-out'").pluck(),
      // Called only when the status changes: a repeated STOP keeps the time of the first.
      optUpsert: this.db.prepare(
        `INSERT INTO opt_out (phone, status, keyword, source, updated_at) VALUES (@phone, @status, @keyword, @source, @at)
         ON CONFLICT (phone) DO UPDATE SET status = excluded.status, keyword = excluded.keyword, source = excluded.source,
           updated_at = excluded.updated_at, confirmation_sent = 0`,
      ),
      optHistoryAdd: this.db.prepare('INSERT INTO opt_out_history (phone, status, keyword, source, at) VALUES (@phone, @status, @keyword, @source, @at)'),
      optHistoryHas: this.db.prepare('SELECT 1 FROM opt_out_history WHERE source = ? AND phone = ? AND status = ? LIMIT 1').pluck(),
      optHistory: this.db.prepare('SELECT phone, status, keyword, source, at FROM opt_out_history WHERE phone = ? ORDER BY id'),
      optAll: this.db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out ORDER BY phone'),
      optCount: this.db.prepare("SELECT COUNT(*) FROM opt_out WHERE status = 'opted-out'").pluck(),
      optClaimConfirmation: this.db.prepare(
        "UPDATE opt_out SET confirmation_sent = 1 WHERE phone = ? AND status = 'opted-out' AND confirmation_sent = 0 AND updated_at >= ?",
      ),
      optReleaseConfirmation: this.db.prepare("UPDATE opt_out SET confirmation_sent = 0 WHERE phone = ? AND status = 'opted-out'"),
    };
  }

  async recordInbound(record: InboundRecord): Promise<boolean> {
    return this.statements.insertInbound.run({ ...record, recordedAt: Date.now() }).changes === 1;
  }

  async markInboundHandled(sids: string[]): Promise<void> {
    const mark = this.statements.markHandled;
    this.db.transaction(() => {
      for (const sid of sids) mark.run(sid);
    })();
  }

  async unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    return (this.statements.unhandled.all(endpoint) as InboundRow[]).map(toRecord);
  }

  async inboundStats(): Promise<{ total: number; unhandled: number }> {
    return this.statements.stats.get() as { total: number; unhandled: number };
  }

  async claimSend(nodeId: string, key: string): Promise<boolean> {
    return this.statements.claim.run(nodeId, key, Date.now()).changes === 1;
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    this.statements.release.run(nodeId, key);
  }

  /** The opted-out count, kept up to date by every change once it has been read. */
  private optedOut: number | undefined;

  /** Applies one change inside the caller's transaction; true when the status changed. */
  private applyOptStatus(change: OptOutChange, at: number): boolean {
    const previous = this.statements.optStatus.get(change.phone) as OptStatus | undefined;
    const row = { phone: change.phone, status: change.status, keyword: change.keyword ?? null, source: change.source, at };
    const changed = previous !== change.status;
    if (changed) this.statements.optUpsert.run(row);
    this.statements.optHistoryAdd.run(row);
    if (this.optedOut !== undefined) {
      if (changed && change.status === 'opted-out') this.optedOut++;
      else if (changed && previous === 'opted-out') this.optedOut--;
    }
    return changed;
  }

  async setOptStatus(change: OptOutChange): Promise<OptOutResult> {
    const before = this.optedOut;
    try {
      return this.db.transaction((): OptOutResult => {
        const replay = !REPEATABLE_SOURCES.has(change.source) && !!this.statements.optHistoryHas.get(change.source, change.phone, change.status);
        const changed = replay ? false : this.applyOptStatus(change, Date.now());
        const record = toOptOut(this.statements.optGet.get(change.phone) as OptOutRow);
        return { record, changed, replay };
      })();
    } catch (err) {
      this.optedOut = before;
      throw err;
    }
  }

  async getOptStatus(phone: string): Promise<OptOutRecord | null> {
    const row = this.statements.optGet.get(phone) as OptOutRow | undefined;
    return row ? toOptOut(row) : null;
  }

  async isOptedOut(phone: string): Promise<boolean> {
    return this.statements.optIsOut.get(phone) === 1;
  }

  async claimOptOutConfirmation(phone: string, withinMs: number): Promise<boolean> {
    return this.statements.optClaimConfirmation.run(phone, Date.now() - withinMs).changes === 1;
  }

  async releaseOptOutConfirmation(phone: string): Promise<void> {
    this.statements.optReleaseConfirmation.run(phone);
  }

  async importOptStatus(phones: string[], status: OptStatus, source: string): Promise<ImportResult> {
    const before = this.optedOut;
    try {
      return this.db.transaction((): ImportResult => {
        const at = Date.now();
        let changed = 0;
        for (const phone of phones) if (this.applyOptStatus({ phone, status, source }, at)) changed++;
        return { changed, unchanged: phones.length - changed };
      })();
    } catch (err) {
      this.optedOut = before;
      throw err;
    }
  }

  async exportOptStatus(): Promise<OptOutRecord[]> {
    return (this.statements.optAll.all() as OptOutRow[]).map(toOptOut);
  }

  async optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>> {
    return this.statements.optHistory.all(phone) as Array<OptOutChange & { at: number }>;
  }

  async optedOutCount(): Promise<number> {
    if (this.optedOut === undefined) this.optedOut = this.statements.optCount.get() as number;
    return this.optedOut;
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
