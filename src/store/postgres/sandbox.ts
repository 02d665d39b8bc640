// The sandbox phone's threads: what a sandbox account "sent", and what the customer replied. Shared by
// every instance on the database, so either instance's editor shows the whole conversation.
import type { SandboxMessage, SandboxThread, SandboxThreads } from '../store';
import { storable, type PostgresDatabase } from './connection';

const THREADS = `SELECT m.*, t.count FROM (
    SELECT phone, max(id) AS last, count(*) AS count FROM sandbox_message WHERE account = $1 GROUP BY phone) t
  JOIN sandbox_message m ON m.id = t.last ORDER BY m.id DESC`;

const THREAD = `SELECT * FROM (SELECT * FROM sandbox_message WHERE account = $1 AND phone = $2 ORDER BY id DESC LIMIT $3) recent ORDER BY id`;

export class PostgresSandboxThreads implements SandboxThreads {
  constructor(private readonly db: PostgresDatabase) {}

  async addSandboxMessage(message: Omit<SandboxMessage, 'id'>): Promise<SandboxMessage> {
    const stored = { ...message, body: storable(message.body) };
    const { rows } = await this.db.query<{ id: number }>(
      `INSERT INTO sandbox_message (account, phone, direction, body, sid, status, detail, segments, encoding, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [stored.account, stored.phone, stored.direction, stored.body, stored.sid, stored.status, stored.detail, stored.segments, stored.encoding, stored.at],
    );
    return { id: rows[0].id, ...stored };
  }

  async updateSandboxMessage(id: number, status: string, detail: string | null): Promise<SandboxMessage | null> {
    const { rows } = await this.db.query<SandboxMessage>('UPDATE sandbox_message SET status = $1, detail = $2 WHERE id = $3 RETURNING *', [status, detail, id]);
    return rows[0] ?? null;
  }

  async sandboxThreads(account: string): Promise<SandboxThread[]> {
    const { rows } = await this.db.query<SandboxMessage & { count: number }>(THREADS, [account]);
    return rows.map(({ count, ...last }) => ({ phone: last.phone, count, last }));
  }

  async sandboxThread(account: string, phone: string, limit = 200): Promise<SandboxMessage[]> {
    const { rows } = await this.db.query<SandboxMessage>(THREAD, [account, phone, limit]);
    return rows;
  }

  async clearSandboxThread(account: string, phone: string): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM sandbox_message WHERE account = $1 AND phone = $2', [account, phone]);
    return rowCount ?? 0;
  }
}
