// The inbound log (deduplicated on SmsSid, with the marks of what was handed to the flow) and the
// send claims: one send a node makes for an inbound SMS and recipient.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import { logPageSql, type LogTable } from './log-page';

/** newest first by (recorded_at, sid): the index walked backwards from the cursor */
const INBOUND_LOG: LogTable = { table: 'inbound', phone: 'from_number', text: ['body', 'from_number'], account: 'account_sid', time: 'recorded_at', id: 'sid', numericId: false };
import type { InboundLog, InboundLogLine, InboundLogQuery, InboundLogView, InboundRecord } from '../store';
import { PendingWrites, type PendingInbound } from '../shared/pending-writes';
import { bucketsOf, toLogLine, toRecord, type InboundRow, type InboundLogRow } from '../shared/rows';

export class SqliteInboundLog implements InboundLog, InboundLogView {
  private readonly prepared: (sql: string) => Database.Statement;
  private readonly statements;

  // Group commit: the records and the marks in one transaction.
  private readonly pending = new PendingWrites(() => this.scheduleFlush());
  private flushScheduled: NodeJS.Immediate | undefined;

  constructor(private readonly db: Database.Database) {
    this.prepared = statementCache(db);
    this.statements = {
      insert: db.prepare(
        `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at)
         VALUES (@sid, @endpoint, @from, @to, @body, @receivedAt, @accountSid, @recordedAt)
         ON CONFLICT (sid) DO NOTHING`,
      ),
      markHandled: db.prepare('UPDATE inbound SET handled = 1 WHERE sid = ?'),
      duplicate: db.prepare('UPDATE inbound SET duplicates = duplicates + 1 WHERE sid = ?'),
      counts: db.prepare('SELECT (recorded_at - @since) / @bucket AS bucket, COUNT(*) AS count FROM inbound WHERE recorded_at >= @since AND recorded_at < @until GROUP BY 1'),
      countsOf: db.prepare(
        'SELECT (recorded_at - @since) / @bucket AS bucket, COUNT(*) AS count FROM inbound WHERE recorded_at >= @since AND recorded_at < @until AND account_sid = @account GROUP BY 1',
      ),
      purge: db.prepare('DELETE FROM inbound WHERE sid IN (SELECT sid FROM inbound WHERE recorded_at < ? AND handled = 1 ORDER BY recorded_at LIMIT ?)'),
      unhandled: db.prepare('SELECT * FROM inbound WHERE endpoint = ? AND handled = 0 ORDER BY recorded_at, sid'),
      claim: db.prepare('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      release: db.prepare('DELETE FROM send_claim WHERE node_id = ? AND claim_key = ?'),
    };
  }

  recordInbound(record: InboundRecord): Promise<boolean> {
    return this.pending.record(record);
  }

  markInboundHandled(sids: string[]): Promise<void> {
    return this.pending.markHandled(sids);
  }

  async unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    return (this.statements.unhandled.all(endpoint) as InboundRow[]).map(toRecord);
  }

  /** Inside the caller's transaction: takes a send claim; false when it was already taken. */
  takeClaim(nodeId: string, key: string, at: number): boolean {
    return this.statements.claim.run(nodeId, key, at).changes === 1;
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    this.statements.release.run(nodeId, key);
  }

  async inboundLogPage(query: InboundLogQuery): Promise<InboundLogLine[]> {
    const { sql, params } = logPageSql(INBOUND_LOG, { ...query, account: query.accountSid });
    return (this.prepared(sql).all(params) as InboundLogRow[]).map(toLogLine);
  }

  async inboundCounts(since: number, until: number, bucketMs: number, accountSid?: string): Promise<number[]> {
    const params = { since, until, bucket: bucketMs, account: accountSid };
    const rows = (accountSid === undefined ? this.statements.counts.all(params) : this.statements.countsOf.all(params)) as Array<{ bucket: number; count: number }>;
    return bucketsOf(rows, since, until, bucketMs);
  }

  async purgeInboundLog(before: number, limit: number): Promise<number> {
    return this.statements.purge.run(before, limit).changes;
  }

  /** Commits what is waiting now (the store is closing). */
  flushNow(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    if (this.db.open) this.flush();
  }

  private scheduleFlush(): void {
    this.flushScheduled ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = undefined;
    const { inbound, handled, waiters } = this.pending.take();
    if (inbound.length === 0 && handled.length === 0) return;
    const { insert, markHandled, duplicate } = this.statements;
    const write = (rows: PendingInbound[], sids: string[]) =>
      this.db.transaction(() => {
        const results = rows.map((entry) => insert.run({ ...entry.row, recordedAt: entry.recordedAt }).changes === 1);
        rows.forEach((entry, i) => {
          if (!results[i]) duplicate.run(entry.row.sid);
        });
        for (const sid of sids) markHandled.run(sid);
        return results;
      })();
    try {
      const results = write(inbound, handled);
      inbound.forEach((entry, i) => entry.resolve(results[i]));
      for (const waiter of waiters) waiter.resolve();
    } catch {
      // One bad record must not fail the others: write them one by one.
      for (const entry of inbound) {
        try {
          entry.resolve(write([entry], [])[0]);
        } catch (own) {
          entry.reject(own);
        }
      }
      try {
        write([], handled);
        for (const waiter of waiters) waiter.resolve();
      } catch (own) {
        for (const waiter of waiters) waiter.reject(own);
      }
    }
  }
}
