// The embedded store: one SQLite file in WAL mode. synchronous=NORMAL keeps every committed
// change across a killed process (only a power cut can cost the last commits), at a fraction
// of FULL's cost per inbound SMS.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations';
import type { InboundRecord, Store } from './store';

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

  constructor(readonly file: string) {
    if (file !== IN_MEMORY) fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.statements = {
      insertInbound: this.db.prepare(
        `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at)
         VALUES (@sid, @endpoint, @from, @to, @body, @receivedAt, @accountSid, @recordedAt)
         ON CONFLICT (sid) DO NOTHING`,
      ),
      markHandled: this.db.prepare('UPDATE inbound SET handled = 1 WHERE sid = ?'),
      unhandled: this.db.prepare('SELECT * FROM inbound WHERE endpoint = ? AND handled = 0 ORDER BY recorded_at, sid'),
      stats: this.db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(handled = 0), 0) AS unhandled FROM inbound'),
      claim: this.db.prepare('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      release: this.db.prepare('DELETE FROM send_claim WHERE node_id = ? AND claim_key = ?'),
    };
  }

  async recordInbound(record: InboundRecord): Promise<boolean> {
    return this.statements.insertInbound.run({ ...record, recordedAt: Date.now() }).changes === 1;
  }

  async markInboundHandled(sids: string[]): Promise<void> {
    const mark = this.statements.markHandled;
    this.db.transaction(() => {
      for (const sid of sids) mark.run(sid);
    })();
  }

  async unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    return (this.statements.unhandled.all(endpoint) as InboundRow[]).map(toRecord);
  }

  async inboundStats(): Promise<{ total: number; unhandled: number }> {
    return this.statements.stats.get() as { total: number; unhandled: number };
  }

  async claimSend(nodeId: string, key: string): Promise<boolean> {
    return this.statements.claim.run(nodeId, key, Date.now()).changes === 1;
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    this.statements.release.run(nodeId, key);
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
