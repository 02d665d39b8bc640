// The sandbox phone's threads: what a sandbox account "sent", and what the customer replied.
import type Database from 'better-sqlite3';
import type { SandboxMessage, SandboxThread, SandboxThreads } from '../store';

export class SqliteSandboxThreads implements SandboxThreads {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      add: db.prepare(
        `INSERT INTO sandbox_message (account, phone, direction, body, sid, status, detail, segments, encoding, at)
         VALUES (@account, @phone, @direction, @body, @sid, @status, @detail, @segments, @encoding, @at)`,
      ),
      threads: db.prepare(
        `SELECT m.*, t.count FROM (SELECT phone, MAX(id) AS last, COUNT(*) AS count FROM sandbox_message WHERE account = ? GROUP BY phone) t
         JOIN sandbox_message m ON m.id = t.last ORDER BY m.id DESC`,
      ),
      thread: db.prepare('SELECT * FROM (SELECT * FROM sandbox_message WHERE account = ? AND phone = ? ORDER BY id DESC LIMIT ?) ORDER BY id'),
      update: db.prepare('UPDATE sandbox_message SET status = ?, detail = ? WHERE id = ?'),
      get: db.prepare('SELECT * FROM sandbox_message WHERE id = ?'),
      clear: db.prepare('DELETE FROM sandbox_message WHERE account = ? AND phone = ?'),
    };
  }

  async addSandboxMessage(message: Omit<SandboxMessage, 'id'>): Promise<SandboxMessage> {
    const id = Number(this.statements.add.run(message).lastInsertRowid);
    return { id, ...message };
  }

  async updateSandboxMessage(id: number, status: string, detail: string | null): Promise<SandboxMessage | null> {
    this.statements.update.run(status, detail, id);
    return (this.statements.get.get(id) as SandboxMessage | undefined) ?? null;
  }

  async sandboxThreads(account: string): Promise<SandboxThread[]> {
    return (this.statements.threads.all(account) as Array<SandboxMessage & { count: number }>).map(({ count, ...last }) => ({
      phone: last.phone,
      count,
      last,
    }));
  }

  async sandboxThread(account: string, phone: string, limit = 200): Promise<SandboxMessage[]> {
    return this.statements.thread.all(account, phone, limit) as SandboxMessage[];
  }

  async clearSandboxThread(account: string, phone: string): Promise<number> {
    return this.statements.clear.run(account, phone).changes;
  }
}
