// The embedded store: one SQLite file in WAL mode. synchronous=NORMAL keeps every committed
// change across a killed process (only a power cut can cost the last commits), at a fraction
// of FULL's cost per inbound SMS.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MIGRATIONS } from './migrations';
import type {
  CodeCheck,
  ConversationRecord,
  ConversationStart,
  ConversationUpdate,
  ImportResult,
  InboundRecord,
  OptOutChange,
  OptOutRecord,
  OptOutResult,
  OptStatus,
  OutboxEntry,
  OutboxState,
  SandboxMessage,
  SandboxThread,
  Store,
} from './store';

export const IN_MEMORY = ':memory:';

interface InboundRow {
  sid: string;
  endpoint: string;
  from_number: string;
  to_number: string;
  body: string;
  received_at: string;
  account_sid: string;
}

interface OptOutRow {
  phone: string;
  status: OptStatus;
  keyword: string | null;
  source: string;
  updated_at: number;
}

function toOptOut(row: OptOutRow): OptOutRecord {
  return { phone: row.phone, status: row.status, keyword: row.keyword, source: row.source, updatedAt: row.updated_at };
}

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

interface OutboxRow {
  id: number;
  node_id: string;
  phone: string;
  request: string;
  message: string;
  claim_key: string | null;
  confirmation: number;
  state: OutboxState;
  attempts: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toOutbox(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    nodeId: row.node_id,
    phone: row.phone,
    request: JSON.parse(row.request) as unknown,
    message: JSON.parse(row.message) as unknown,
    claimKey: row.claim_key,
    confirmation: row.confirmation === 1,
    state: row.state,
    attempts: row.attempts,
    error: row.error === null ? null : (JSON.parse(row.error) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** How long the outcome of an inbound SMS is remembered for replays. */
const OUTCOME_DAYS = 7;

/** How many recent inbound SmsSids a conversation remembers, to ignore a replayed SMS. */
const RECENT_SIDS = 16;

function recentSids(row: ConversationRow | undefined): string[] {
  return row?.last_sid ? (JSON.parse(row.last_sid) as string[]) : [];
}

/** Sources that are not an inbound SmsSid, and so may be applied any number of times. */
const REPEATABLE_SOURCES = new Set(['manual', 'import']);

function toRecord(row: InboundRow): InboundRecord {
  return {
    sid: row.sid,
    endpoint: row.endpoint,
    from: row.from_number,
    to: row.to_number,
    body: row.body,
    receivedAt: row.received_at,
    accountSid: row.account_sid,
  };
}

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the store was written by a newer release (schema ${current}, this release knows ${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly statements;

  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(readonly file: string) {
    if (file !== IN_MEMORY) fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    if (file !== IN_MEMORY) this.startCheckpointer();
    migrate(this.db);
    this.statements = {
      insertInbound: this.db.prepare(
        `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at)
         VALUES (@sid, @endpoint, @from, @to, @body, @receivedAt, @accountSid, @recordedAt)
         ON CONFLICT (sid) DO NOTHING`,
      ),
      markHandled: this.db.prepare('UPDATE inbound SET handled = 1 WHERE sid = ?'),
      unhandled: this.db.prepare('SELECT * FROM inbound WHERE endpoint = ? AND handled = 0 ORDER BY recorded_at, sid'),
      claim: this.db.prepare('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      release: this.db.prepare('DELETE FROM send_claim WHERE node_id = ? AND claim_key = ?'),
      optGet: this.db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out WHERE phone = ?'),
      optStatus: this.db.prepare('SELECT status FROM opt_out WHERE phone = ?').pluck(),
      optIsOut: this.db.prepare("SELECT 1 FROM opt_out WHERE phone = ? AND status = 'opted-out'").pluck(),
      // Called only when the status changes: a repeated STOP keeps the time of the first.
      optUpsert: this.db.prepare(
        `INSERT INTO opt_out (phone, status, keyword, source, updated_at) VALUES (@phone, @status, @keyword, @source, @at)
         ON CONFLICT (phone) DO UPDATE SET status = excluded.status, keyword = excluded.keyword, source = excluded.source,
           updated_at = excluded.updated_at, confirmation_sent = 0`,
      ),
      optHistoryAdd: this.db.prepare('INSERT INTO opt_out_history (phone, status, keyword, source, at) VALUES (@phone, @status, @keyword, @source, @at)'),
      optHistoryHas: this.db.prepare('SELECT 1 FROM opt_out_history WHERE source = ? AND phone = ? AND status = ? LIMIT 1').pluck(),
      optHistory: this.db.prepare('SELECT phone, status, keyword, source, at FROM opt_out_history WHERE phone = ? ORDER BY id'),
      optAll: this.db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out ORDER BY phone'),
      optCount: this.db.prepare("SELECT COUNT(*) FROM opt_out WHERE status = 'opted-out'").pluck(),
      optClaimConfirmation: this.db.prepare(
        "UPDATE opt_out SET confirmation_sent = 1 WHERE phone = ? AND status = 'opted-out' AND confirmation_sent = 0 AND updated_at >= ?",
      ),
      convGet: this.db.prepare('SELECT * FROM conversation WHERE name = ? AND key = ?'),
      convPut: this.db.prepare(
        `INSERT OR REPLACE INTO conversation (name, key, step, data, started_at, updated_at, expires_at, deadline_at, revision,
           last_sid, code_hash, code_salt, code_expires_at, code_attempts_left)
         VALUES (@name, @key, @step, @data, @started_at, @updated_at, @expires_at, @deadline_at, @revision,
           @last_sid, @code_hash, @code_salt, @code_expires_at, @code_attempts_left)`,
      ),
      convDelete: this.db.prepare('DELETE FROM conversation WHERE name = ? AND key = ?'),
      convDue: this.db.prepare('SELECT * FROM conversation WHERE name = ? AND deadline_at <= ? AND expires_at > ? ORDER BY deadline_at LIMIT ?'),
      convClearDeadline: this.db.prepare('UPDATE conversation SET deadline_at = NULL WHERE name = ? AND key = ?'),
      convPurge: this.db.prepare('DELETE FROM conversation WHERE expires_at <= ?'),
      convCountAll: this.db.prepare('SELECT COUNT(*) FROM conversation WHERE expires_at > ?').pluck(),
      convCount: this.db.prepare('SELECT COUNT(*) FROM conversation WHERE name = ? AND expires_at > ?').pluck(),
      outcomeGet: this.db.prepare('SELECT outcome FROM sms_outcome WHERE replay_key = ?').pluck(),
      outcomePut: this.db.prepare('INSERT INTO sms_outcome (replay_key, outcome, at) VALUES (?, ?, ?)'),
      outcomePurge: this.db.prepare('DELETE FROM sms_outcome WHERE at <= ?'),
      outboxAdd: this.db.prepare(
        `INSERT INTO outbox (node_id, phone, request, message, claim_key, confirmation, state, created_at, updated_at)
         VALUES (@nodeId, @phone, @request, @message, @claimKey, @confirmation, 'queued', @at, @at)`,
      ),
      outboxRemove: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      outboxAttempt: this.db.prepare("UPDATE outbox SET state = 'queued', attempts = ?, error = ?, updated_at = ? WHERE id = ?"),
      outboxSending: this.db.prepare("UPDATE outbox SET state = 'sending', updated_at = ? WHERE id = ?"),
      outboxFail: this.db.prepare("UPDATE outbox SET state = 'failed', attempts = ?, error = ?, updated_at = ? WHERE id = ?"),
      outboxList: this.db.prepare('SELECT * FROM outbox WHERE node_id = ? AND state = ? ORDER BY id'),
      sandboxAdd: this.db.prepare(
        `INSERT INTO sandbox_message (account, phone, direction, body, sid, status, detail, segments, encoding, at)
         VALUES (@account, @phone, @direction, @body, @sid, @status, @detail, @segments, @encoding, @at)`,
      ),
      sandboxThreads: this.db.prepare(
        `SELECT m.*, t.count FROM (SELECT phone, MAX(id) AS last, COUNT(*) AS count FROM sandbox_message WHERE account = ? GROUP BY phone) t
         JOIN sandbox_message m ON m.id = t.last ORDER BY m.id DESC`,
      ),
      sandboxThread: this.db.prepare('SELECT * FROM (SELECT * FROM sandbox_message WHERE account = ? AND phone = ? ORDER BY id DESC LIMIT ?) ORDER BY id'),
      sandboxUpdate: this.db.prepare('UPDATE sandbox_message SET status = ?, detail = ? WHERE id = ?'),
      sandboxGet: this.db.prepare('SELECT * FROM sandbox_message WHERE id = ?'),
      sandboxClear: this.db.prepare('DELETE FROM sandbox_message WHERE account = ? AND phone = ?'),
      optReleaseConfirmation: this.db.prepare("UPDATE opt_out SET confirmation_sent = 0 WHERE phone = ? AND status = 'opted-out'"),
    };
  }

  // Group commit: the inbound records and handled marks that arrive in one turn of the event loop
  // share one transaction, and each caller's promise settles only once it has committed.
  private pendingInbound: Array<{ row: InboundRecord & { recordedAt: number }; resolve: (isNew: boolean) => void; reject: (err: unknown) => void }> = [];
  private pendingHandled: string[] = [];
  private pendingHandledWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private flushScheduled: NodeJS.Immediate | undefined;

  recordInbound(record: InboundRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pendingInbound.push({ row: { ...record, recordedAt: Date.now() }, resolve, reject });
      this.scheduleFlush();
    });
  }

  markInboundHandled(sids: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingHandled.push(...sids);
      this.pendingHandledWaiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    this.flushScheduled ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = undefined;
    const inbound = this.pendingInbound;
    const handled = this.pendingHandled;
    const waiters = this.pendingHandledWaiters;
    this.pendingInbound = [];
    this.pendingHandled = [];
    this.pendingHandledWaiters = [];
    if (inbound.length === 0 && handled.length === 0) return;
    const { insertInbound, markHandled } = this.statements;
    const write = (rows: typeof inbound, sids: string[]) =>
      this.db.transaction(() => {
        const results = rows.map((entry) => insertInbound.run(entry.row).changes === 1);
        for (const sid of sids) markHandled.run(sid);
        return results;
      })();
    try {
      const results = write(inbound, handled);
      inbound.forEach((entry, i) => entry.resolve(results[i]));
      for (const waiter of waiters) waiter.resolve();
    } catch (err) {
      // One bad record must not fail the others: write them one by one.
      for (const entry of inbound) {
        try {
          entry.resolve(write([entry], [])[0]);
        } catch (own) {
          entry.reject(own);
        }
      }
      try {
        write([], handled);
        for (const waiter of waiters) waiter.resolve();
      } catch (own) {
        for (const waiter of waiters) waiter.reject(own);
      }
    }
  }

  /**
   * Checkpoints (copying the WAL into the database file, with fsync) run in a worker thread on a
   * connection of its own, so that they never hold up the event loop; a passive checkpoint does not
   * block writers. Should the worker fail, SQLite's own automatic checkpoint takes over again.
   */
  private checkpointer: Worker | undefined;

  private startCheckpointer(): void {
    this.db.pragma('wal_autocheckpoint = 0');
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.module);
       const db = new Database(workerData.file);
       db.pragma('busy_timeout = 5000');
       const timer = setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.intervalMs);
       parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });`,
      { eval: true, workerData: { module: require.resolve('better-sqlite3'), file: this.file, intervalMs: 250 } },
    );
    worker.unref();
    worker.on('error', () => {
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
    this.checkpointer = worker;
  }

  async unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    return (this.statements.unhandled.all(endpoint) as InboundRow[]).map(toRecord);
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    this.statements.release.run(nodeId, key);
  }

  /** The opted-out count, kept up to date by every change once it has been read. */
  private optedOut: number | undefined;

  /** Applies one change inside the caller's transaction; true when the status changed. */
  private applyOptStatus(change: OptOutChange, at: number): boolean {
    const previous = this.statements.optStatus.get(change.phone) as OptStatus | undefined;
    const row = { phone: change.phone, status: change.status, keyword: change.keyword ?? null, source: change.source, at };
    const changed = previous !== change.status;
    if (changed) this.statements.optUpsert.run(row);
    this.statements.optHistoryAdd.run(row);
    if (this.optedOut !== undefined) {
      if (changed && change.status === 'opted-out') this.optedOut++;
      else if (changed && previous === 'opted-out') this.optedOut--;
    }
    return changed;
  }

  async setOptStatus(change: OptOutChange): Promise<OptOutResult> {
    const before = this.optedOut;
    try {
      return this.db.transaction((): OptOutResult => {
        const replay = !REPEATABLE_SOURCES.has(change.source) && !!this.statements.optHistoryHas.get(change.source, change.phone, change.status);
        const changed = replay ? false : this.applyOptStatus(change, Date.now());
        const record = toOptOut(this.statements.optGet.get(change.phone) as OptOutRow);
        return { record, changed, replay };
      })();
    } catch (err) {
      this.optedOut = before;
      throw err;
    }
  }

  async getOptStatus(phone: string): Promise<OptOutRecord | null> {
    const row = this.statements.optGet.get(phone) as OptOutRow | undefined;
    return row ? toOptOut(row) : null;
  }

  async isOptedOut(phone: string): Promise<boolean> {
    return this.statements.optIsOut.get(phone) === 1;
  }

  async claimOptOutConfirmation(phone: string, withinMs: number): Promise<boolean> {
    return this.statements.optClaimConfirmation.run(phone, Date.now() - withinMs).changes === 1;
  }

  async releaseOptOutConfirmation(phone: string): Promise<void> {
    this.statements.optReleaseConfirmation.run(phone);
  }

  async importOptStatus(phones: string[], status: OptStatus, source: string): Promise<ImportResult> {
    const before = this.optedOut;
    // In key order, with a large page cache for the import: the B-trees then fill page after page
    // instead of reading back and writing out pages at random (1M numbers: seconds, not half a minute).
    const sorted = [...phones].sort();
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -262144');
    try {
      return this.db.transaction((): ImportResult => {
        const at = Date.now();
        let changed = 0;
        for (const phone of sorted) if (this.applyOptStatus({ phone, status, source }, at)) changed++;
        return { changed, unchanged: sorted.length - changed };
      })();
    } catch (err) {
      this.optedOut = before;
      throw err;
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
  }

  async exportOptStatus(): Promise<OptOutRecord[]> {
    return (this.statements.optAll.all() as OptOutRow[]).map(toOptOut);
  }

  async optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>> {
    return this.statements.optHistory.all(phone) as Array<OptOutChange & { at: number }>;
  }

  async optedOutCount(): Promise<number> {
    if (this.optedOut === undefined) this.optedOut = this.statements.optCount.get() as number;
    return this.optedOut;
  }

  /** The active row, or undefined; an expired row is deleted on sight. */
  private activeRow(name: string, key: string, now: number): ConversationRow | undefined {
    const row = this.statements.convGet.get(name, key) as ConversationRow | undefined;
    if (row && row.expires_at <= now) {
      this.statements.convDelete.run(name, key);
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
      this.statements.convPut.run(row);
      return toConversation(row);
    })();
    this.changed(start.name, start.key);
    return record;
  }

  async getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null> {
    return this.db.transaction(() =>
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
      this.statements.convPut.run(next);
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
        this.statements.convDelete.run(name, key);
        const last = toConversation({ ...row, updated_at: now, deadline_at: null, code_hash: null, code_salt: null, code_expires_at: null, code_attempts_left: null });
        if (data) last.data = { ...last.data, ...data };
        return last;
      }),
    )();
    if (result && !replayed) this.changed(name, key);
    return result;
  }

  async checkCode(name: string, key: string, matches: (hash: string, salt: string) => boolean, replayKey?: string): Promise<CodeCheck> {
    const { result: check, replayed } = this.db.transaction(() => this.once(replayKey, (): CodeCheck => {
      const now = Date.now();
      const row = this.activeRow(name, key, now);
      if (!row) return { result: 'none', conversation: null };
      const conversation = toConversation(row);
      const code = conversation.code;
      if (!code) return { result: 'none', conversation };
      const finish = (result: CodeCheck['result']): CodeCheck => {
        this.statements.convDelete.run(name, key);
        return { result, conversation: { ...conversation, code: null, deadlineAt: null, updatedAt: now } };
      };
      if (now > code.expiresAt) return finish('expired');
      if (matches(code.hash, code.salt)) return finish('verified');
      const attemptsLeft = code.attemptsLeft - 1;
      if (attemptsLeft <= 0) return finish('too-many');
      const next: ConversationRow = { ...row, code_attempts_left: attemptsLeft, updated_at: now, revision: row.revision + 1 };
      this.statements.convPut.run(next);
      return { result: 'wrong', conversation: toConversation(next) };
    }))();
    if (check.result !== 'none' && !replayed) this.changed(name, key);
    return check;
  }

  async takeDueConversations(name: string, now: number, limit: number): Promise<ConversationRecord[]> {
    return this.db.transaction(() => {
      const rows = this.statements.convDue.all(name, now, now, limit) as ConversationRow[];
      for (const row of rows) this.statements.convClearDeadline.run(row.name, row.key);
      return rows.map(toConversation);
    })();
  }

  async purgeExpiredConversations(now: number): Promise<number> {
    // Exotel stops retrying a callback after about 13 minutes; a week of outcomes is plenty.
    this.statements.outcomePurge.run(now - OUTCOME_DAYS * 86_400_000);
    return this.statements.convPurge.run(now).changes;
  }

  async activeConversationCount(name?: string): Promise<number> {
    const now = Date.now();
    return (name === undefined ? this.statements.convCountAll.get(now) : this.statements.convCount.get(name, now)) as number;
  }

  onConversationChange(listener: (name: string, key: string) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  async addToOutbox(entry: Pick<OutboxEntry, 'nodeId' | 'phone' | 'request' | 'message' | 'claimKey' | 'confirmation'>): Promise<number | null> {
    return this.db.transaction((): number | null => {
      const at = Date.now();
      if (entry.claimKey && this.statements.claim.run(entry.nodeId, entry.claimKey, at).changes === 0) return null;
      const info = this.statements.outboxAdd.run({
        nodeId: entry.nodeId,
        phone: entry.phone,
        request: JSON.stringify(entry.request),
        message: JSON.stringify(entry.message ?? null),
        claimKey: entry.claimKey,
        confirmation: entry.confirmation ? 1 : 0,
        at,
      });
      return Number(info.lastInsertRowid);
    })();
  }

  async markOutboxSending(id: number): Promise<void> {
    this.statements.outboxSending.run(Date.now(), id);
  }

  async removeFromOutbox(id: number): Promise<void> {
    this.statements.outboxRemove.run(id);
  }

  async noteOutboxAttempt(id: number, attempts: number, error: unknown): Promise<void> {
    this.statements.outboxAttempt.run(attempts, JSON.stringify(error ?? null), Date.now(), id);
  }

  async failOutboxEntry(id: number, attempts: number, error: unknown): Promise<void> {
    this.statements.outboxFail.run(attempts, JSON.stringify(error ?? null), Date.now(), id);
  }

  async outboxEntries(nodeId: string, state: OutboxState): Promise<OutboxEntry[]> {
    return (this.statements.outboxList.all(nodeId, state) as OutboxRow[]).map(toOutbox);
  }

  async addSandboxMessage(message: Omit<SandboxMessage, 'id'>): Promise<SandboxMessage> {
    const id = Number(this.statements.sandboxAdd.run(message).lastInsertRowid);
    return { id, ...message };
  }

  async updateSandboxMessage(id: number, status: string, detail: string | null): Promise<SandboxMessage | null> {
    this.statements.sandboxUpdate.run(status, detail, id);
    return (this.statements.sandboxGet.get(id) as SandboxMessage | undefined) ?? null;
  }

  async sandboxThreads(account: string): Promise<SandboxThread[]> {
    return (this.statements.sandboxThreads.all(account) as Array<SandboxMessage & { count: number }>).map(({ count, ...last }) => ({
      phone: last.phone,
      count,
      last,
    }));
  }

  async sandboxThread(account: string, phone: string, limit = 200): Promise<SandboxMessage[]> {
    return this.statements.sandboxThread.all(account, phone, limit) as SandboxMessage[];
  }

  async clearSandboxThread(account: string, phone: string): Promise<number> {
    return this.statements.sandboxClear.run(account, phone).changes;
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    if (this.db.open) this.flush();
    const worker = this.checkpointer;
    this.checkpointer = undefined;
    if (worker) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    }
    if (this.db.open) {
      if (this.file !== IN_MEMORY) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
