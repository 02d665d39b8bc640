// Conversations, one active a customer and name, with their step deadlines and one-time codes (only
// a salted hash), and the remembered outcome of each inbound SMS, so that a replay does the same again.
// Every change holds the conversation's advisory lock and its row lock: changes to one conversation
// follow one another across instances, and a due deadline is taken with SKIP LOCKED, once.
import { EventEmitter } from 'node:events';
import type { CodeCheck, ConversationRecord, ConversationStart, ConversationStore, ConversationUpdate } from '../store';
import { LOCK_CONVERSATION, LOCK_REPLAY, type PostgresDatabase, type Queryable } from './connection';

interface ConversationRow {
  name: string;
  key: string;
  step: string;
  data: string;
  started_at: number;
  updated_at: number;
  expires_at: number;
  deadline_at: number | null;
  revision: number;
  last_sid: string | null;
  code_hash: string | null;
  code_salt: string | null;
  code_expires_at: number | null;
  code_attempts_left: number | null;
}

function toConversation(row: ConversationRow): ConversationRecord {
  return {
    name: row.name,
    key: row.key,
    step: row.step,
    data: JSON.parse(row.data) as Record<string, unknown>,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    deadlineAt: row.deadline_at,
    revision: row.revision,
    code:
      row.code_hash && row.code_salt && row.code_expires_at !== null && row.code_attempts_left !== null
        ? { hash: row.code_hash, salt: row.code_salt, expiresAt: row.code_expires_at, attemptsLeft: row.code_attempts_left }
        : null,
  };
}

/** How long the outcome of an inbound SMS is remembered for replays. */
const OUTCOME_DAYS = 7;

/** How many recent inbound SmsSids a conversation remembers, to ignore a replayed SMS. */
const RECENT_SIDS = 16;

function recentSids(row: ConversationRow | undefined): string[] {
  return row?.last_sid ? (JSON.parse(row.last_sid) as string[]) : [];
}

const COLUMNS = [
  'name', 'key', 'step', 'data', 'started_at', 'updated_at', 'expires_at', 'deadline_at', 'revision',
  'last_sid', 'code_hash', 'code_salt', 'code_expires_at', 'code_attempts_left',
] as const;

const PUT = `INSERT INTO conversation (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (name, key) DO UPDATE SET ${COLUMNS.slice(2).map((column) => `${column} = excluded.${column}`).join(', ')}`;

const DUE = `WITH due AS (
    SELECT * FROM conversation WHERE name = $1 AND deadline_at <= $2 AND expires_at > $2
    ORDER BY deadline_at LIMIT $3 FOR UPDATE SKIP LOCKED),
  cleared AS (UPDATE conversation c SET deadline_at = NULL FROM due WHERE c.name = due.name AND c.key = due.key)
  SELECT * FROM due ORDER BY deadline_at, key`;

export class PostgresConversations implements ConversationStore {
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly db: PostgresDatabase) {}

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

  private changed(name: string, key: string): void {
    this.events.emit('change', name, key);
  }

  async startConversation(start: ConversationStart): Promise<ConversationRecord> {
    const record = await this.db.transaction(async (tx): Promise<ConversationRecord> => {
      const now = Date.now();
      const existing = await this.activeRow(tx, start.name, start.key, now);
      const sids = recentSids(existing);
      if (existing && start.sid && sids.includes(start.sid)) return toConversation(existing);
      const row: ConversationRow = {
        name: start.name,
        key: start.key,
        step: start.step,
        data: JSON.stringify(start.data ?? {}),
        started_at: now,
        updated_at: now,
        expires_at: now + start.maxAgeMs,
        deadline_at: start.timeoutMs ? now + start.timeoutMs : null,
        revision: (existing?.revision ?? 0) + 1,
        last_sid: start.sid ? JSON.stringify([start.sid]) : null,
        code_hash: start.code?.hash ?? null,
        code_salt: start.code?.salt ?? null,
        code_expires_at: start.code ? now + start.code.lifetimeMs : null,
        code_attempts_left: start.code ? start.code.attempts : null,
      };
      await this.put(tx, row);
      return toConversation(row);
    });
    this.changed(start.name, start.key);
    return record;
  }

  async getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null> {
    const { result } = await this.db.transaction((tx) =>
      this.once(tx, replayKey, async () => {
        const row = await this.activeRow(tx, name, key, Date.now());
        return row ? toConversation(row) : null;
      }),
    );
    return result;
  }

  async updateConversation(name: string, key: string, update: ConversationUpdate): Promise<ConversationRecord | null> {
    let applied = false;
    const record = await this.db.transaction(async (tx): Promise<ConversationRecord | null> => {
      const now = Date.now();
      const row = await this.activeRow(tx, name, key, now);
      if (!row) return null;
      const sids = recentSids(row);
      if (update.sid && sids.includes(update.sid)) return toConversation(row);
      const stepChanges = update.step !== undefined && update.step !== row.step;
      let deadline = row.deadline_at;
      if (update.timeoutMs === null) deadline = null;
      else if (update.timeoutMs !== undefined) deadline = now + update.timeoutMs;
      else if (stepChanges) deadline = null;
      const next: ConversationRow = {
        ...row,
        step: update.step ?? row.step,
        data: update.data ? JSON.stringify({ ...(JSON.parse(row.data) as object), ...update.data }) : row.data,
        updated_at: now,
        deadline_at: deadline,
        revision: row.revision + 1,
        last_sid: update.sid ? JSON.stringify([...sids, update.sid].slice(-RECENT_SIDS)) : row.last_sid,
      };
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
        const last = toConversation({ ...row, updated_at: now, deadline_at: null, code_hash: null, code_salt: null, code_expires_at: null, code_attempts_left: null });
        if (data) last.data = { ...last.data, ...data };
        return last;
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
        const conversation = toConversation(row);
        const code = conversation.code;
        if (!code) return { result: 'none', conversation };
        const finish = async (result: CodeCheck['result']): Promise<CodeCheck> => {
          await this.remove(tx, name, key);
          return { result, conversation: { ...conversation, code: null, deadlineAt: null, updatedAt: now } };
        };
        if (now > code.expiresAt) return finish('expired');
        if (matches(code.hash, code.salt)) return finish('verified');
        const attemptsLeft = code.attemptsLeft - 1;
        if (attemptsLeft <= 0) return finish('too-many');
        const next: ConversationRow = { ...row, code_attempts_left: attemptsLeft, updated_at: now, revision: row.revision + 1 };
        await this.put(tx, next);
        return { result: 'wrong', conversation: toConversation(next) };
      }),
    );
    if (check.result !== 'none' && !replayed) this.changed(name, key);
    return check;
  }

  async takeDueConversations(name: string, now: number, limit: number): Promise<ConversationRecord[]> {
    const { rows } = await this.db.query<ConversationRow>(DUE, [name, now, limit]);
    return rows.map(toConversation);
  }

  async purgeExpiredConversations(now: number): Promise<number> {
    // Exotel stops retrying a callback after about 13 minutes; a week of outcomes is plenty.
    await this.db.query('DELETE FROM sms_outcome WHERE at <= $1', [now - OUTCOME_DAYS * 86_400_000]);
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

  /** Calls back after every committed change made through this store (this process). */
  onConversationChange(listener: (name: string, key: string) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}
