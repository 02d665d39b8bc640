// Conversations, one active a customer and name, with their step deadlines and one-time codes (only
// a salted hash), and the remembered outcome of each inbound SMS, so that a replay does the same again.
// Every change holds the conversation's advisory lock and its row lock: changes to one conversation
// follow one another across instances, and a due deadline is taken with SKIP LOCKED, once.
import type { CodeCheck, ConversationQuery, ConversationRecord, ConversationStart, ConversationStore, ConversationUpdate, ConversationView } from '../store';
import { ConversationChanges, endedRecord, judgeCode, outcomesBefore, sawSms, splitId, startedRow, toConversation, updatedRow, type ConversationRow } from '../shared/conversations';
import { likePattern } from '../shared/rows';
import { Batch } from './batch';
import { LOCK_CONVERSATION, LOCK_REPLAY, type PostgresDatabase, type Queryable, queryParameters } from './connection';

const COLUMNS = [
  'name', 'key', 'step', 'data', 'started_at', 'updated_at', 'expires_at', 'deadline_at', 'revision',
  'last_sid', 'code_hash', 'code_salt', 'code_expires_at', 'code_attempts_left',
] as const;

// A write of the conversation (a reply, a step) forgets a deadline taken by a poll whose answer was
// lost: what happened since counts, not the timeout nobody saw
const PUT = `INSERT INTO conversation (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (name, key) DO UPDATE SET ${COLUMNS.slice(2).map((column) => `${column} = excluded.${column}`).join(', ')},
    deadline_taken = NULL, taken_deadline_at = NULL`;

// The deadlines due, each taken once (SKIP LOCKED) and cleared, with the poll's key ($4) kept on the
// row: the poll asked again after its answer was lost gets the ones it took too, with their deadline.
// The statement's snapshot does not see its own update: a first poll answers each row once.
const DUE = `WITH due AS (
    SELECT * FROM conversation WHERE name = $1 AND deadline_at <= $2 AND expires_at > $2
    ORDER BY deadline_at LIMIT $3 FOR UPDATE SKIP LOCKED),
  cleared AS (UPDATE conversation c SET deadline_at = NULL, deadline_taken = $4, taken_deadline_at = due.deadline_at
    FROM due WHERE c.name = due.name AND c.key = due.key)
  SELECT ${COLUMNS.join(', ')} FROM due
  UNION ALL
  SELECT ${COLUMNS.map((column) => (column === 'deadline_at' ? 'taken_deadline_at' : column)).join(', ')} FROM conversation
    WHERE name = $1 AND deadline_taken = $4 AND expires_at > $2
  ORDER BY deadline_at, key`;

/** A remembered read: the conversation's row (conversation_read), or a record as an earlier release kept it, or null. */
function readAnswer(answer: string): ConversationRecord | null {
  const parsed = JSON.parse(answer) as (ConversationRow & ConversationRecord) | null;
  if (parsed === null) return null;
  return 'started_at' in parsed ? toConversation(parsed) : parsed;
}

interface Read {
  name: string;
  key: string;
  replayKey: string | null;
}

export class PostgresConversations extends ConversationChanges implements ConversationStore, ConversationView {
  /** the reads asked while one is on its way: one statement for all of them */
  private readonly reads = new Batch<Read, string>((items) => this.readMany(items));

  constructor(private readonly db: PostgresDatabase) {
    super();
  }

  private put(tx: Queryable, row: ConversationRow): Promise<unknown> {
    return tx.query(PUT, COLUMNS.map((column) => row[column]));
  }

  private remove(tx: Queryable, name: string, key: string): Promise<unknown> {
    return tx.query('DELETE FROM conversation WHERE name = $1 AND key = $2', [name, key]);
  }

  /** Inside a transaction, locked for it: the active row, or undefined; an expired row is deleted on sight. */
  private async activeRow(tx: Queryable, name: string, key: string, now: number): Promise<ConversationRow | undefined> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CONVERSATION, `${name}\n${key}`]);
    const { rows } = await tx.query<ConversationRow>('SELECT * FROM conversation WHERE name = $1 AND key = $2 FOR UPDATE', [name, key]);
    const row = rows[0];
    if (row && row.expires_at <= now) {
      await this.remove(tx, name, key);
      return undefined;
    }
    return row;
  }

  /**
   * Inside a transaction: the remembered result for a replay key, or `compute()`'s, remembered.
   * `replayed` tells the caller which it was. The same key is computed by one instance at a time.
   */
  private async once<T>(tx: Queryable, replayKey: string | undefined, compute: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    if (!replayKey) return { result: await compute(), replayed: false };
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_REPLAY, replayKey]);
    const saved = await tx.query<{ outcome: string }>('SELECT outcome FROM sms_outcome WHERE replay_key = $1', [replayKey]);
    if (saved.rows.length) return { result: JSON.parse(saved.rows[0].outcome) as T, replayed: true };
    const result = await compute();
    await tx.query('INSERT INTO sms_outcome (replay_key, outcome, at) VALUES ($1, $2, $3)', [replayKey, JSON.stringify(result ?? null), Date.now()]);
    return { result, replayed: false };
  }

  async startConversation(start: ConversationStart): Promise<ConversationRecord> {
    const record = await this.db.transaction(async (tx): Promise<ConversationRecord> => {
      const now = Date.now();
      const existing = await this.activeRow(tx, start.name, start.key, now);
      if (existing && sawSms(existing, start.sid)) return toConversation(existing);
      const row = startedRow(start, existing, now);
      await this.put(tx, row);
      return toConversation(row);
    });
    this.changed(start.name, start.key);
    return record;
  }

  /**
   * One statement (conversation_read): with a replay key, the answer remembered for it, or the
   * conversation, remembered; without, the conversation. Locked as `once` and `activeRow` lock. The
   * reads of a busy instance go together (conversation_read_many), each answered as if alone.
   */
  async getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null> {
    return readAnswer(await this.reads.add({ name, key, replayKey: replayKey ?? null }));
  }

  private async readMany(reads: Read[]): Promise<string[]> {
    if (reads.length === 1) {
      const [{ name, key, replayKey }] = reads;
      const { rows } = await this.db.query<{ answer: string }>({
        name: 'exotel-conversation-read',
        text: 'SELECT answer FROM conversation_read($1, $2, $3, $4)',
        values: [name, key, replayKey, Date.now()],
      });
      return [rows[0].answer];
    }
    const { rows } = await this.db.query<{ n: number; outcome: string }>({
      name: 'exotel-conversation-read-many',
      text: 'SELECT n, outcome FROM conversation_read_many($1::text[], $2::text[], $3::text[], $4) ORDER BY n',
      values: [reads.map((r) => r.name), reads.map((r) => r.key), reads.map((r) => r.replayKey), Date.now()],
    });
    return rows.map((row) => row.outcome);
  }

  async updateConversation(name: string, key: string, update: ConversationUpdate): Promise<ConversationRecord | null> {
    let applied = false;
    const record = await this.db.transaction(async (tx): Promise<ConversationRecord | null> => {
      const now = Date.now();
      const row = await this.activeRow(tx, name, key, now);
      if (!row) return null;
      if (sawSms(row, update.sid)) return toConversation(row);
      const next = updatedRow(row, update, now);
      await this.put(tx, next);
      applied = true;
      return toConversation(next);
    });
    if (applied) this.changed(name, key);
    return record;
  }

  async endConversation(name: string, key: string, data?: Record<string, unknown>, replayKey?: string): Promise<ConversationRecord | null> {
    const { result, replayed } = await this.db.transaction((tx) =>
      this.once(tx, replayKey, async (): Promise<ConversationRecord | null> => {
        const now = Date.now();
        const row = await this.activeRow(tx, name, key, now);
        if (!row) return null;
        await this.remove(tx, name, key);
        return endedRecord(row, now, data);
      }),
    );
    if (result && !replayed) this.changed(name, key);
    return result;
  }

  async checkCode(name: string, key: string, matches: (hash: string, salt: string) => boolean, replayKey?: string): Promise<CodeCheck> {
    const { result: check, replayed } = await this.db.transaction((tx) =>
      this.once(tx, replayKey, async (): Promise<CodeCheck> => {
        const now = Date.now();
        const row = await this.activeRow(tx, name, key, now);
        if (!row) return { result: 'none', conversation: null };
        const verdict = judgeCode(row, now, matches);
        if (verdict.action === 'end') await this.remove(tx, name, key);
        if (verdict.action === 'write') await this.put(tx, verdict.row);
        return verdict.check;
      }),
    );
    if (check.result !== 'none' && !replayed) this.changed(name, key);
    return check;
  }

  async takeDueConversations(name: string, now: number, limit: number, attempt?: string): Promise<ConversationRecord[]> {
    const { rows } = await this.db.query<ConversationRow>(DUE, [name, now, limit, attempt ?? null]);
    return rows.map(toConversation);
  }

  async purgeExpiredConversations(now: number): Promise<number> {
    await this.db.query('DELETE FROM sms_outcome WHERE at <= $1', [outcomesBefore(now)]);
    const { rowCount } = await this.db.query('DELETE FROM conversation WHERE expires_at <= $1', [now]);
    return rowCount ?? 0;
  }

  async activeConversationCount(name?: string): Promise<number> {
    const now = Date.now();
    const { rows } =
      name === undefined
        ? await this.db.query<{ count: number }>('SELECT count(*) AS count FROM conversation WHERE expires_at > $1', [now])
        : await this.db.query<{ count: number }>('SELECT count(*) AS count FROM conversation WHERE name = $1 AND expires_at > $2', [name, now]);
    return rows[0].count;
  }

  async conversationPage(query: ConversationQuery, now: number): Promise<ConversationRecord[]> {
    const { values: params, add: param } = queryParameters([now]);
    const where = ['expires_at > $1'];
    if (query.name) where.push(`name = ${param(query.name)}`);
    if (query.text) where.push(`key LIKE ${param(likePattern(query.text))}`);
    if (query.after) {
      const [name, key] = splitId(query.after.id);
      where.push(`(started_at, name, key) < (${param(query.after.at)}, ${param(name)}, ${param(key)})`);
    }
    const { rows } = await this.db.query<ConversationRow>(
      `SELECT * FROM conversation WHERE ${where.join(' AND ')} ORDER BY started_at DESC, name DESC, key DESC LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map((row) => ({ ...toConversation(row), code: null }));
  }
}
