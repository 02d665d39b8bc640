// Callbacks an SMS in node refused: logged, read newest first by keyset (by sender, text, time,
// account), and deleted after the retention period.
import type { InboundRefusal, RefusalLine, RefusalLog, RefusalQuery } from '../store';
import { likePattern } from '../shared/rows';
import { REFUSAL_COLUMNS, refusalValues, toRefusal, type RefusalRow } from '../shared/refusals';
import { type PostgresDatabase, queryParameters, storable } from './connection';

export class PostgresRefusalLog implements RefusalLog {
  constructor(private readonly db: PostgresDatabase) {}

  async logRefusal(refusal: InboundRefusal): Promise<void> {
    const values = refusalValues(refusal).map((value) => (typeof value === 'string' ? storable(value) : value));
    await this.db.query(`INSERT INTO inbound_refusal (${REFUSAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, values);
  }

  async refusalPage(query: RefusalQuery): Promise<RefusalLine[]> {
    const where: string[] = [];
    const { values: params, add: param } = queryParameters();
    if (query.phone) where.push(`from_number = ${param(query.phone)}`);
    if (query.text) {
      const text = param(likePattern(query.text));
      where.push(`(body ILIKE ${text} OR from_number LIKE ${text} OR reason ILIKE ${text})`);
    }
    if (query.accountSid !== undefined) where.push(`account_sid = ${param(query.accountSid)}`);
    if (query.since !== undefined) where.push(`at >= ${param(query.since)}`);
    if (query.until !== undefined) where.push(`at < ${param(query.until)}`);
    if (query.after) where.push(`(at, id) < (${param(query.after.at)}, ${param(Number(query.after.id))})`);
    const { rows } = await this.db.query<RefusalRow>(
      `SELECT * FROM inbound_refusal ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map(toRefusal);
  }

  async purgeRefusals(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM inbound_refusal WHERE id IN (SELECT id FROM inbound_refusal WHERE at < $1 ORDER BY at LIMIT $2)', [before, limit]);
    return rowCount ?? 0;
  }
}
