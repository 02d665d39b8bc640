// Conversations, one active a customer and name, with their step deadlines and one-time codes (only
// a salted hash), and the remembered outcome of each inbound SMS, so that a replay does the same again.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import type { CodeCheck, ConversationQuery, ConversationRecord, ConversationStart, ConversationStore, ConversationUpdate, ConversationView } from '../store';
import { likePattern } from '../shared/rows';
import { ConversationChanges, endedRecord, judgeCode, outcomesBefore, sawSms, splitId, startedRow, toConversation, updatedRow, type ConversationRow } from '../shared/conversations';

export class SqliteConversations extends ConversationChanges implements ConversationStore, ConversationView {
  private readonly prepared: (sql: string) => Database.Statement;
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    super();
    this.prepared = statementCache(db);
    this.statements = {
      get: db.prepare('SELECT * FROM conversation WHERE name = ? AND key = ?'),
      put: db.prepare(
        `INSERT OR REPLACE INTO conversation (name, key, step, data, started_at, updated_at, expires_at, deadline_at, revision,
           last_sid, code_hash, code_salt, code_expires_at, code_attempts_left)
         VALUES (@name, @key, @step, @data, @started_at, @updated_at, @expires_at, @deadline_at, @revision,
           @last_sid, @code_hash, @code_salt, @code_expires_at, @code_attempts_left)`,
      ),
      delete: db.prepare('DELETE FROM conversation WHERE name = ? AND key = ?'),
      due: db.prepare('SELECT * FROM conversation WHERE name = ? AND deadline_at <= ? AND expires_at > ? ORDER BY deadline_at LIMIT ?'),
      clearDeadline: db.prepare('UPDATE conversation SET deadline_at = NULL WHERE name = ? AND key = ?'),
      purge: db.prepare('DELETE FROM conversation WHERE expires_at <= ?'),
      countAll: db.prepare('SELECT COUNT(*) FROM conversation WHERE expires_at > ?').pluck(),
      count: db.prepare('SELECT COUNT(*) FROM conversation WHERE name = ? AND expires_at > ?').pluck(),
      outcomeGet: db.prepare('SELECT outcome FROM sms_outcome WHERE replay_key = ?').pluck(),
      outcomePut: db.prepare('INSERT INTO sms_outcome (replay_key, outcome, at) VALUES (?, ?, ?)'),
      outcomePurge: db.prepare('DELETE FROM sms_outcome WHERE at <= ?'),
    };
  }

  /** The active row, or undefined; an expired row is deleted on sight. */
  private activeRow(name: string, key: string, now: number): ConversationRow | undefined {
    const row = this.statements.get.get(name, key) as ConversationRow | undefined;
    if (row && row.expires_at <= now) {
      this.statements.delete.run(name, key);
      return undefined;
    }
    return row;
  }

  /**
   * Inside a transaction: the remembered result for a replay key, or `compute()`'s, remembered.
   * `replayed` tells the caller which it was.
   */
  private once<T>(replayKey: string | undefined, compute: () => T): { result: T; replayed: boolean } {
    if (!replayKey) return { result: compute(), replayed: false };
    const saved = this.statements.outcomeGet.get(replayKey) as string | undefined;
    if (saved !== undefined) return { result: JSON.parse(saved) as T, replayed: true };
    const result = compute();
    this.statements.outcomePut.run(replayKey, JSON.stringify(result ?? null), Date.now());
    return { result, replayed: false };
  }

  async startConversation(start: ConversationStart): Promise<ConversationRecord> {
    const record = this.db.transaction((): ConversationRecord => {
      const now = Date.now();
      const existing = this.activeRow(start.name, start.key, now);
      if (existing && sawSms(existing, start.sid)) return toConversation(existing);
      const row = startedRow(start, existing, now);
      this.statements.put.run(row);
      return toConversation(row);
    })();
    this.changed(start.name, start.key);
    return record;
  }

  async getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null> {
    return this.db.transaction(
      () =>
        this.once(replayKey, () => {
          const row = this.activeRow(name, key, Date.now());
          return row ? toConversation(row) : null;
        }).result,
    )();
  }

  async updateConversation(name: string, key: string, update: ConversationUpdate): Promise<ConversationRecord | null> {
    let applied = false;
    const record = this.db.transaction((): ConversationRecord | null => {
      const now = Date.now();
      const row = this.activeRow(name, key, now);
      if (!row) return null;
      if (sawSms(row, update.sid)) return toConversation(row);
      const next = updatedRow(row, update, now);
      this.statements.put.run(next);
      applied = true;
      return toConversation(next);
    })();
    if (applied) this.changed(name, key);
    return record;
  }

  async endConversation(name: string, key: string, data?: Record<string, unknown>, replayKey?: string): Promise<ConversationRecord | null> {
    const { result, replayed } = this.db.transaction(() =>
      this.once(replayKey, (): ConversationRecord | null => {
        const now = Date.now();
        const row = this.activeRow(name, key, now);
        if (!row) return null;
        this.statements.delete.run(name, key);
        return endedRecord(row, now, data);
      }),
    )();
    if (result && !replayed) this.changed(name, key);
    return result;
  }

  async checkCode(name: string, key: string, matches: (hash: string, salt: string) => boolean, replayKey?: string): Promise<CodeCheck> {
    const { result: check, replayed } = this.db.transaction(() =>
      this.once(replayKey, (): CodeCheck => {
        const now = Date.now();
        const row = this.activeRow(name, key, now);
        if (!row) return { result: 'none', conversation: null };
        const verdict = judgeCode(row, now, matches);
        if (verdict.action === 'end') this.statements.delete.run(name, key);
        if (verdict.action === 'write') this.statements.put.run(verdict.row);
        return verdict.check;
      }),
    )();
    if (check.result !== 'none' && !replayed) this.changed(name, key);
    return check;
  }

  /** (No poll's key: a transaction of SQLite in this process cannot commit without its answer.) */
  async takeDueConversations(name: string, now: number, limit: number): Promise<ConversationRecord[]> {
    return this.db.transaction(() => {
      const rows = this.statements.due.all(name, now, now, limit) as ConversationRow[];
      for (const row of rows) this.statements.clearDeadline.run(row.name, row.key);
      return rows.map(toConversation);
    })();
  }

  async purgeExpiredConversations(now: number): Promise<number> {
    this.statements.outcomePurge.run(outcomesBefore(now));
    return this.statements.purge.run(now).changes;
  }

  async conversationPage(query: ConversationQuery, now: number): Promise<ConversationRecord[]> {
    const where = ['expires_at > @now'];
    const params: Record<string, unknown> = { limit: query.limit, now };
    if (query.name) {
      where.push('name = @name');
      params.name = query.name;
    }
    if (query.text) {
      where.push("key LIKE @text ESCAPE '\\'");
      params.text = likePattern(query.text);
    }
    if (query.after) {
      // the cursor's id is name NUL key: in the index's order (name, then key)
      const [name, key] = splitId(query.after.id);
      where.push('started_at <= @at AND (started_at < @at OR name < @afterName OR (name = @afterName AND key < @afterKey))');
      Object.assign(params, { at: query.after.at, afterName: name, afterKey: key });
    }
    const sql = `SELECT * FROM conversation WHERE ${where.join(' AND ')} ORDER BY started_at DESC, name DESC, key DESC LIMIT @limit`;
    return (this.prepared(sql).all(params) as ConversationRow[]).map((row) => ({ ...toConversation(row), code: null }));
  }

  async activeConversationCount(name?: string): Promise<number> {
    const now = Date.now();
    return (name === undefined ? this.statements.countAll.get(now) : this.statements.count.get(name, now)) as number;
  }
}
