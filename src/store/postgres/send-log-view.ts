// The send log read by people (the SMS tab's Log and At a glance): newest first by keyset, and
// counted per hour. The log itself is written by postgres/send-log.ts.
import type { SendCounts, SendLogEntry, SendLogQuery, SendLogView } from '../store';
import { countsOf, likePattern, toSendLogEntry, type SendLogRow } from '../shared/rows';
import { type PostgresDatabase, queryParameters } from './connection';

export class PostgresSendLogView implements SendLogView {
  constructor(private readonly db: PostgresDatabase) {}

  async sendLogPage(query: SendLogQuery): Promise<SendLogEntry[]> {
    const where: string[] = [];
    const { values: params, add: param } = queryParameters();
    if (query.phone) where.push(`phone = ${param(query.phone)}`);
    if (query.text) {
      const text = param(likePattern(query.text));
      where.push(`(body ILIKE ${text} OR phone LIKE ${text})`);
    }
    if (query.account !== undefined) where.push(`account = ${param(query.account)}`);
    if (query.since !== undefined) where.push(`created_at >= ${param(query.since)}`);
    if (query.until !== undefined) where.push(`created_at < ${param(query.until)}`);
    if (query.after) where.push(`(created_at, id) < (${param(query.after.at)}, ${param(Number(query.after.id))})`);
    const { rows } = await this.db.query<SendLogRow>(
      `SELECT * FROM send_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map(toSendLogEntry);
  }

  async sendCounts(since: number, until: number, bucketMs: number, account?: string): Promise<SendCounts> {
    const params: unknown[] = [since, until, bucketMs];
    if (account !== undefined) params.push(account);
    const { rows } = await this.db.query<{ bucket: string; state: string; delivery: string | null; count: string }>(
      `SELECT (created_at - $1) / $3 AS bucket, state, delivery, count(*) AS count FROM send_log
       WHERE created_at >= $1 AND created_at < $2 ${account !== undefined ? 'AND account = $4' : ''} GROUP BY 1, 2, 3`,
      params,
    );
    return countsOf(rows, since, until, bucketMs);
  }
}
