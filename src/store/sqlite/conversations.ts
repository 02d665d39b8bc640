// Conversations, one active a customer and name, with their step deadlines and one-time codes (only
// a salted hash), and the remembered outcome of each inbound SMS, so that a replay does the same again.
import type Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import type { CodeCheck, ConversationRecord, ConversationStart, ConversationStore, ConversationUpdate } from '../store';

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

export class SqliteConversations implements ConversationStore {
  private readonly statements;
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly db: Database.Database) {
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

  private changed(name: string, key: string): void {
    this.events.emit('change', name, key);
  }

  async startConversation(start: ConversationStart): Promise<ConversationRecord> {
    const record = this.db.transaction((): ConversationRecord => {
      const now = Date.now();
      const existing = this.activeRow(start.name, start.key, now);
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
        const last = toConversation({ ...row, updated_at: now, deadline_at: null, code_hash: null, code_salt: null, code_expires_at: null, code_attempts_left: null });
        if (data) last.data = { ...last.data, ...data };
        return last;
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
        const conversation = toConversation(row);
        const code = conversation.code;
        if (!code) return { result: 'none', conversation };
        const finish = (result: CodeCheck['result']): CodeCheck => {
          this.statements.delete.run(name, key);
          return { result, conversation: { ...conversation, code: null, deadlineAt: null, updatedAt: now } };
        };
        if (now > code.expiresAt) return finish('expired');
        if (matches(code.hash, code.salt)) return finish('verified');
        const attemptsLeft = code.attemptsLeft - 1;
        if (attemptsLeft <= 0) return finish('too-many');
        const next: ConversationRow = { ...row, code_attempts_left: attemptsLeft, updated_at: now, revision: row.revision + 1 };
        this.statements.put.run(next);
        return { result: 'wrong', conversation: toConversation(next) };
      }),
    )();
    if (check.result !== 'none' && !replayed) this.changed(name, key);
    return check;
  }

  async takeDueConversations(name: string, now: number, limit: number): Promise<ConversationRecord[]> {
    return this.db.transaction(() => {
      const rows = this.statements.due.all(name, now, now, limit) as ConversationRow[];
      for (const row of rows) this.statements.clearDeadline.run(row.name, row.key);
      return rows.map(toConversation);
    })();
  }

  async purgeExpiredConversations(now: number): Promise<number> {
    // Exotel stops retrying a callback after about 13 minutes; a week of outcomes is plenty.
    this.statements.outcomePurge.run(now - OUTCOME_DAYS * 86_400_000);
    return this.statements.purge.run(now).changes;
  }

  async activeConversationCount(name?: string): Promise<number> {
    const now = Date.now();
    return (name === undefined ? this.statements.countAll.get(now) : this.statements.count.get(name, now)) as number;
  }

  onConversationChange(listener: (name: string, key: string) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}
