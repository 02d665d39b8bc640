// The send log read by people (the SMS tab's Log and At a glance): newest first by keyset, and
// counted per hour. The log itself is written by sqlite/send-log.ts.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import type { SendCounts, SendLogEntry, SendLogQuery, SendLogView } from '../store';
import { countsOf, likePattern, toSendLogEntry, type SendLogRow } from '../shared/rows';

export class SqliteSendLogView implements SendLogView {
  private readonly prepared: (sql: string) => Database.Statement;
  constructor(private readonly db: Database.Database) {
    this.prepared = statementCache(db);
  }

  async sendLogPage(query: SendLogQuery): Promise<SendLogEntry[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit };
    if (query.phone) {
      where.push('phone = @phone');
      params.phone = query.phone;
    }
    if (query.text) {
      where.push("(body LIKE @text ESCAPE '\\' OR phone LIKE @text ESCAPE '\\')");
      params.text = likePattern(query.text);
    }
    if (query.account !== undefined) {
      where.push('account = @account');
      params.account = query.account;
    }
    if (query.since !== undefined) {
      where.push('created_at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('created_at < @until');
      params.until = query.until;
    }
    if (query.after) {
      where.push('created_at <= @at AND (created_at < @at OR id < @id)');
      params.at = query.after.at;
      params.id = Number(query.after.id);
    }
    const sql = `SELECT * FROM send_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`;
    return (this.prepared(sql).all(params) as SendLogRow[]).map(toSendLogEntry);
  }

  async sendCounts(since: number, until: number, bucketMs: number, account?: string): Promise<SendCounts> {
    const statement = this.prepared(
      `SELECT (created_at - @since) / @bucket AS bucket, state, delivery, COUNT(*) AS count FROM send_log
       WHERE created_at >= @since AND created_at < @until ${account !== undefined ? 'AND account = @account' : ''} GROUP BY 1, 2, 3`,
    );
    const rows = statement.all({ since, until, bucket: bucketMs, account }) as Array<{ bucket: number; state: string; delivery: string | null; count: number }>;
    return countsOf(rows, since, until, bucketMs);
  }
}

