// Callbacks an SMS in node refused: logged, read newest first by keyset (by sender, text, time,
// account), and deleted after the retention period.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import type { InboundRefusal, RefusalLine, RefusalLog, RefusalQuery } from '../store';
import { likePattern } from '../shared/rows';
import { REFUSAL_COLUMNS, refusalValues, toRefusal, type RefusalRow } from '../shared/refusals';

export class SqliteRefusalLog implements RefusalLog {
  private readonly prepared: (sql: string) => Database.Statement;
  private readonly statements;

  constructor(db: Database.Database) {
    this.prepared = statementCache(db);
    this.statements = {
      insert: db.prepare(`INSERT INTO inbound_refusal (${REFUSAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      purge: db.prepare('DELETE FROM inbound_refusal WHERE id IN (SELECT id FROM inbound_refusal WHERE at < ? ORDER BY at LIMIT ?)'),
    };
  }

  async logRefusal(refusal: InboundRefusal): Promise<void> {
    this.statements.insert.run(...refusalValues(refusal));
  }

  async refusalPage(query: RefusalQuery): Promise<RefusalLine[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit };
    if (query.phone) {
      where.push('from_number = @phone');
      params.phone = query.phone;
    }
    if (query.text) {
      where.push("(body LIKE @text ESCAPE '\\' OR from_number LIKE @text ESCAPE '\\' OR reason LIKE @text ESCAPE '\\')");
      params.text = likePattern(query.text);
    }
    if (query.accountSid !== undefined) {
      where.push('account_sid = @account');
      params.account = query.accountSid;
    }
    if (query.since !== undefined) {
      where.push('at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('at < @until');
      params.until = query.until;
    }
    if (query.after) {
      where.push('at <= @at AND (at < @at OR id < @id)');
      params.at = query.after.at;
      params.id = Number(query.after.id);
    }
    const sql = `SELECT * FROM inbound_refusal ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT @limit`;
    return (this.prepared(sql).all(params) as RefusalRow[]).map(toRefusal);
  }

  async purgeRefusals(before: number, limit: number): Promise<number> {
    return this.statements.purge.run(before, limit).changes;
  }
}
