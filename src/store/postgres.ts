// The store for several Node-RED instances: PostgreSQL through a pg pool. Each concern is a module
// of its own under postgres/; this class opens the pool, migrates the schema (once, whichever
// instance starts first) and puts the concerns together behind `Store`. A call made while the
// database cannot be reached rejects with code `store_unavailable`; the pool reconnects by itself.
import { PostgresDatabase, type PostgresStoreConfig } from './postgres/connection';
import { PostgresCluster, type RateTurn } from './postgres/cluster';
import { PostgresConversations } from './postgres/conversations';
import { PostgresInboundLog } from './postgres/inbound';
import { PostgresOptOuts } from './postgres/opt-outs';
import { PostgresOutbox } from './postgres/outbox';
import { PostgresSandboxThreads } from './postgres/sandbox';
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

export { DEFAULT_SCHEMA, SchemaTooNewError, StoreUnavailableError, isUnavailable, type PostgresStoreConfig } from './postgres/connection';
export { PG_MIGRATIONS } from './postgres/migrations';

export class PostgresStore implements Store {
  readonly db: PostgresDatabase;
  private readonly inbound: PostgresInboundLog;
  private readonly optOuts: PostgresOptOuts;
  private readonly conversations: PostgresConversations;
  private readonly outbox: PostgresOutbox;
  private readonly sandbox: PostgresSandboxThreads;
  /** this instance's lease, the take-over of dead instances' work, and the cluster's rate limit */
  readonly cluster: PostgresCluster;
  private closing: Promise<void> | undefined;

  /** Connects lazily: the schema is migrated by `ready()` or by the first call, whichever comes first. */
  constructor(readonly config: PostgresStoreConfig) {
    this.db = new PostgresDatabase(config);
    this.cluster = new PostgresCluster(this.db, config.leaseMs);
    this.inbound = new PostgresInboundLog(this.db, this.cluster);
    this.optOuts = new PostgresOptOuts(this.db);
    this.conversations = new PostgresConversations(this.db);
    this.outbox = new PostgresOutbox(this.db, this.cluster);
    this.sandbox = new PostgresSandboxThreads(this.db);
  }

  /**
   * Connects and migrates; resolves with the schema version. Rejects with code `store_unavailable`
   * (tried again by the next call) or `store_schema_too_new` (for good: a newer release wrote it).
   */
  ready(): Promise<number> {
    return this.db.ready();
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

  /** how long a dead instance's work waits before another takes it over */
  get leaseMs(): number {
    return this.cluster.leaseMs;
  }

  // several instances: what dead ones left unfinished, and the account's rate limit for all of them
  takeOverInbound(endpoint: string): Promise<InboundRecord[]> {
    return this.inbound.takeOverInbound(endpoint);
  }
  takeOverOutbox(nodeId: string): Promise<OutboxEntry[]> {
    return this.outbox.takeOverOutbox(nodeId);
  }
  takeRateSlot(account: string, perMinute: number, windowMs: number): Promise<RateTurn> {
    return this.cluster.takeRateSlot(account, perMinute, windowMs);
  }
  endRateSlot(slot: number, sent: boolean): Promise<void> {
    return this.cluster.endRateSlot(slot, sent);
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

  schemaVersion(): Promise<number> {
    return this.db.schemaVersion();
  }

  /** Writes what is waiting (inbound records in this turn), then closes the pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.inbound.settle();
      await this.cluster.close();
      await this.db.close();
    })();
    return this.closing;
  }
}
