// The send log read by people (the SMS tab's Log and At a glance): newest first by keyset, and
// counted per hour. The log itself is written by sqlite/send-log.ts.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import { logPageSql, type LogTable } from './log-page';
import type { SendCounts, SendLogEntry, SendLogQuery, SendLogView } from '../store';
import { countsOf, toSendLogEntry, type SendLogRow } from '../shared/rows';

const SEND_LOG: LogTable = { table: 'send_log', phone: 'phone', text: ['body', 'phone'], account: 'account', time: 'created_at', id: 'id', numericId: true };

export class SqliteSendLogView implements SendLogView {
  private readonly prepared: (sql: string) => Database.Statement;
  constructor(private readonly db: Database.Database) {
    this.prepared = statementCache(db);
  }

  async sendLogPage(query: SendLogQuery): Promise<SendLogEntry[]> {
    const { sql, params } = logPageSql(SEND_LOG, query);
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

