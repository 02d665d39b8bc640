// Callbacks an SMS in node refused: logged, read newest first by keyset (by sender, text, time,
// account), and deleted after the retention period.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import { logPageSql, type LogTable } from './log-page';
import type { InboundRefusal, RefusalLine, RefusalLog, RefusalQuery } from '../store';
import { REFUSAL_COLUMNS, refusalValues, toRefusal, type RefusalRow } from '../shared/refusals';

const REFUSALS: LogTable = { table: 'inbound_refusal', phone: 'from_number', text: ['body', 'from_number', 'reason'], account: 'account_sid', time: 'at', id: 'id', numericId: true };

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
    const { sql, params } = logPageSql(REFUSALS, { ...query, account: query.accountSid });
    return (this.prepared(sql).all(params) as RefusalRow[]).map(toRefusal);
  }

  async purgeRefusals(before: number, limit: number): Promise<number> {
    return this.statements.purge.run(before, limit).changes;
  }
}
