// The embedded store: one SQLite file in WAL mode, readable only by the Node-RED user. Each concern
// is a module of its own under sqlite/ with its own statements; this class opens the shared
// connection, migrates it, runs the checkpointer and puts the concerns together behind `Store`.
import type Database from 'better-sqlite3';
import { Checkpointer, IN_MEMORY, openDatabase, migrate } from './sqlite/connection';
import { SqliteConversations } from './sqlite/conversations';
import { SqliteInboundLog } from './sqlite/inbound';
import { SqliteOptOuts } from './sqlite/opt-outs';
import { SqliteOutbox } from './sqlite/outbox';
import { SqliteSandboxThreads } from './sqlite/sandbox';
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
  OutboxAddition,
  OutboxEntry,
  OutboxState,
  SandboxMessage,
  SandboxThread,
  Store,
} from './store';

export { IN_MEMORY, migrate } from './sqlite/connection';

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly inbound: SqliteInboundLog;
  private readonly optOuts: SqliteOptOuts;
  private readonly conversations: SqliteConversations;
  private readonly outbox: SqliteOutbox;
  private readonly sandbox: SqliteSandboxThreads;

  constructor(readonly file: string) {
    this.db = openDatabase(file);
    try {
      if (file !== IN_MEMORY) this.checkpointer = new Checkpointer(this.db, file);
      migrate(this.db);
    } catch (err) {
      void this.checkpointer?.stop();
      this.db.close();
      throw err;
    }
    this.inbound = new SqliteInboundLog(this.db);
    this.optOuts = new SqliteOptOuts(this.db);
    this.conversations = new SqliteConversations(this.db);
    this.outbox = new SqliteOutbox(this.db, (nodeId, key, at) => this.inbound.takeClaim(nodeId, key, at));
    this.sandbox = new SqliteSandboxThreads(this.db);
  }

  // inbound log and send claims
  recordInbound(record: InboundRecord): Promise<boolean> {
    return this.inbound.recordInbound(record);
  }
  markInboundHandled(sids: string[]): Promise<void> {
    return this.inbound.markInboundHandled(sids);
  }
  unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    return this.inbound.unhandledInbound(endpoint);
  }
  releaseSend(nodeId: string, key: string): Promise<void> {
    return this.inbound.releaseSend(nodeId, key);
  }

  // opt-outs and their history
  setOptStatus(change: OptOutChange): Promise<OptOutResult> {
    return this.optOuts.setOptStatus(change);
  }
  getOptStatus(phone: string): Promise<OptOutRecord | null> {
    return this.optOuts.getOptStatus(phone);
  }
  isOptedOut(phone: string): Promise<boolean> {
    return this.optOuts.isOptedOut(phone);
  }
  claimOptOutConfirmation(phone: string, withinMs: number): Promise<boolean> {
    return this.optOuts.claimOptOutConfirmation(phone, withinMs);
  }
  releaseOptOutConfirmation(phone: string): Promise<void> {
    return this.optOuts.releaseOptOutConfirmation(phone);
  }
  importOptStatus(phones: string[], status: OptStatus, source: string): Promise<ImportResult> {
    return this.optOuts.importOptStatus(phones, status, source);
  }
  exportOptStatus(): Promise<OptOutRecord[]> {
    return this.optOuts.exportOptStatus();
  }
  optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>> {
    return this.optOuts.optOutHistory(phone);
  }
  optedOutCount(): Promise<number> {
    return this.optOuts.optedOutCount();
  }

  // conversations, codes and deadlines
  startConversation(start: ConversationStart): Promise<ConversationRecord> {
    return this.conversations.startConversation(start);
  }
  getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null> {
    return this.conversations.getConversation(name, key, replayKey);
  }
  updateConversation(name: string, key: string, update: ConversationUpdate): Promise<ConversationRecord | null> {
    return this.conversations.updateConversation(name, key, update);
  }
  endConversation(name: string, key: string, data?: Record<string, unknown>, replayKey?: string): Promise<ConversationRecord | null> {
    return this.conversations.endConversation(name, key, data, replayKey);
  }
  checkCode(name: string, key: string, matches: (hash: string, salt: string) => boolean, replayKey?: string): Promise<CodeCheck> {
    return this.conversations.checkCode(name, key, matches, replayKey);
  }
  takeDueConversations(name: string, now: number, limit: number): Promise<ConversationRecord[]> {
    return this.conversations.takeDueConversations(name, now, limit);
  }
  purgeExpiredConversations(now: number): Promise<number> {
    return this.conversations.purgeExpiredConversations(now);
  }
  activeConversationCount(name?: string): Promise<number> {
    return this.conversations.activeConversationCount(name);
  }
  onConversationChange(listener: (name: string, key: string) => void): () => void {
    return this.conversations.onConversationChange(listener);
  }

  // the outbox
  addToOutbox(entry: OutboxAddition): Promise<number | null> {
    return this.outbox.addToOutbox(entry);
  }
  markOutboxSending(id: number): Promise<void> {
    return this.outbox.markOutboxSending(id);
  }
  removeFromOutbox(id: number): Promise<void> {
    return this.outbox.removeFromOutbox(id);
  }
  noteOutboxAttempt(id: number, attempts: number, error: unknown): Promise<void> {
    return this.outbox.noteOutboxAttempt(id, attempts, error);
  }
  failOutboxEntry(id: number, attempts: number, error: unknown): Promise<void> {
    return this.outbox.failOutboxEntry(id, attempts, error);
  }
  purgeFinishedSends(before: number): Promise<number> {
    return this.outbox.purgeFinishedSends(before);
  }
  outboxEntries(nodeId: string, state: OutboxState): Promise<OutboxEntry[]> {
    return this.outbox.outboxEntries(nodeId, state);
  }

  // the sandbox phone
  addSandboxMessage(message: Omit<SandboxMessage, 'id'>): Promise<SandboxMessage> {
    return this.sandbox.addSandboxMessage(message);
  }
  updateSandboxMessage(id: number, status: string, detail: string | null): Promise<SandboxMessage | null> {
    return this.sandbox.updateSandboxMessage(id, status, detail);
  }
  sandboxThreads(account: string): Promise<SandboxThread[]> {
    return this.sandbox.sandboxThreads(account);
  }
  sandboxThread(account: string, phone: string, limit?: number): Promise<SandboxMessage[]> {
    return this.sandbox.sandboxThread(account, phone, limit);
  }
  clearSandboxThread(account: string, phone: string): Promise<number> {
    return this.sandbox.clearSandboxThread(account, phone);
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    this.inbound.flushNow();
    await this.checkpointer?.stop();
    if (this.db.open) {
      if (this.file !== IN_MEMORY) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
