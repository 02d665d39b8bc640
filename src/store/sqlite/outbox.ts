// The outbox: sends waiting for the rate limit or a retry, the one being asked of Exotel right now
// ('sending': after a crash nobody knows whether it went), and the ones that failed for good.
import type Database from 'better-sqlite3';
import { statementCache } from './connection';
import type { Outbox, OutboxAddition, OutboxEntry, OutboxQuery, OutboxState, OutboxView } from '../store';
import { countsByState, toOutbox, type OutboxRow } from '../shared/rows';
import { CONFIRMATION_CLAIMED, CONFIRMATION_QUEUED } from './opt-outs';

/** Takes a send claim inside the caller's transaction (the inbound log's); false when already taken. */
export type ClaimTaker = (nodeId: string, key: string, at: number) => boolean;

export class SqliteOutbox implements Outbox, OutboxView {
  private readonly prepared: (sql: string) => Database.Statement;
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly takeClaim: ClaimTaker,
  ) {
    this.prepared = statementCache(db);
    this.statements = {
      add: db.prepare(
        `INSERT INTO outbox (node_id, phone, request, message, claim_key, confirmation, state, created_at, updated_at, not_before, attempt)
         VALUES (@nodeId, @phone, @request, @message, @claimKey, @confirmation, 'queued', @at, @at, @notBefore, @attempt)`,
      ),
      byAttempt: db.prepare('SELECT id FROM outbox WHERE attempt = ?').pluck(),
      // an opt-out confirmation queued with its entry: from then on the outbox keeps it, a restart does not free it
      confirmationQueued: db.prepare(`UPDATE opt_out SET confirmation_sent = ${CONFIRMATION_QUEUED} WHERE phone = ? AND confirmation_sent = ${CONFIRMATION_CLAIMED}`),
      remove: db.prepare('DELETE FROM outbox WHERE id = ?'),
      attempt: db.prepare("UPDATE outbox SET state = 'queued', attempts = ?, error = ?, updated_at = ? WHERE id = ?"),
      sending: db.prepare("UPDATE outbox SET state = 'sending', updated_at = ? WHERE id = ?"),
      fail: db.prepare("UPDATE outbox SET state = 'failed', attempts = ?, error = ?, updated_at = ?, request = json_remove(request, '$.sealed') WHERE id = ?"),
      purgeFailed: db.prepare("DELETE FROM outbox WHERE state = 'failed' AND updated_at < ?"),
      purgeClaims: db.prepare('DELETE FROM send_claim WHERE claimed_at < ?'),
      list: db.prepare('SELECT * FROM outbox WHERE node_id = ? AND state = ? ORDER BY id'),
      one: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      // asked again with the same key: the entry that request queued again, still queued
      requeue: db.prepare(
        `UPDATE outbox SET state = 'queued', attempts = 0, error = NULL, updated_at = @at, taken_in = @attempt
         WHERE id = @id AND (state = 'failed' OR (state = 'queued' AND taken_in = @attempt))`,
      ),
      discard: db.prepare("DELETE FROM outbox WHERE id = ? AND state = 'failed'"),
      counts: db.prepare('SELECT state, COUNT(*) AS count FROM outbox GROUP BY state'),
    };
  }

  async addToOutbox(entry: OutboxAddition): Promise<number | null> {
    return this.db.transaction((): number | null => {
      const at = Date.now();
      const again = entry.attempt ? (this.statements.byAttempt.get(entry.attempt) as number | undefined) : undefined;
      if (again !== undefined) return again;
      if (entry.claimKey && !this.takeClaim(entry.nodeId, entry.claimKey, at)) return null;
      const info = this.statements.add.run({
        nodeId: entry.nodeId,
        phone: entry.phone,
        request: JSON.stringify(entry.request),
        message: JSON.stringify(entry.message ?? null),
        claimKey: entry.claimKey,
        confirmation: entry.confirmation ? 1 : 0,
        at,
        notBefore: entry.notBefore ?? null,
        attempt: entry.attempt ?? null,
      });
      if (entry.confirmation) this.statements.confirmationQueued.run(entry.phone);
      return Number(info.lastInsertRowid);
    })();
  }

  async markOutboxSending(id: number): Promise<void> {
    this.statements.sending.run(Date.now(), id);
  }

  async removeFromOutbox(id: number): Promise<void> {
    this.statements.remove.run(id);
  }

  async noteOutboxAttempt(id: number, attempts: number, error: unknown): Promise<void> {
    this.statements.attempt.run(attempts, JSON.stringify(error ?? null), Date.now(), id);
  }

  async failOutboxEntry(id: number, attempts: number, error: unknown): Promise<void> {
    this.statements.fail.run(attempts, JSON.stringify(error ?? null), Date.now(), id);
  }

  async purgeFinishedSends(before: number): Promise<number> {
    return this.db.transaction(() => this.statements.purgeFailed.run(before).changes + this.statements.purgeClaims.run(before).changes)();
  }

  async outboxEntries(nodeId: string, state: OutboxState): Promise<OutboxEntry[]> {
    return (this.statements.list.all(nodeId, state) as OutboxRow[]).map(toOutbox);
  }

  async outboxPage(query: OutboxQuery): Promise<OutboxEntry[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit };
    if (query.state) {
      where.push('state = @state');
      params.state = query.state;
    }
    if (query.after) {
      where.push('created_at <= @at AND (created_at < @at OR id < @id)');
      params.at = query.after.at;
      params.id = Number(query.after.id);
    }
    const sql = `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`;
    return (this.prepared(sql).all(params) as OutboxRow[]).map(toOutbox);
  }

  async outboxEntry(id: number): Promise<OutboxEntry | null> {
    const row = this.statements.one.get(id) as OutboxRow | undefined;
    return row ? toOutbox(row) : null;
  }

  async requeueOutboxEntry(id: number, attempt?: string): Promise<OutboxEntry | null> {
    if (this.statements.requeue.run({ at: Date.now(), id, attempt: attempt ?? null }).changes === 0) return null;
    return this.outboxEntry(id);
  }

  async discardOutboxEntry(id: number): Promise<boolean> {
    return this.statements.discard.run(id).changes === 1;
  }

  async outboxCounts(): Promise<Record<OutboxState, number>> {
    return countsByState(this.statements.counts.all() as Array<{ state: OutboxState; count: number }>);
  }
}
