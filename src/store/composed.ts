// What every backend's `Store` has in common: it puts its concern modules (one a concern, with its
// own SQL) together and hands each call to the module of that concern. A backend extends this class,
// opens its connection, builds its concerns, and says how it reads its schema version and closes.
import type {
  CodeCheck,
  ConversationQuery,
  ConversationView,
  ErasedNumber,
  InboundLogLine,
  InboundLogQuery,
  InboundLogView,
  InboundRefusal,
  NumberData,
  OptOutQuery,
  OptOutView,
  OutboxQuery,
  OutboxView,
  PersonalData,
  RefusalLine,
  RefusalLog,
  RefusalQuery,
  SendCounts,
  SendLogQuery,
  SendLogView,
  ConversationRecord,
  ConversationStart,
  ConversationStore,
  ConversationUpdate,
  DeliveryReport,
  ImportResult,
  InboundLog,
  InboundRecord,
  OptOutChange,
  OptOutRecord,
  OptOutResult,
  OptOutStore,
  OptStatus,
  Outbox,
  OutboxAddition,
  OutboxEntry,
  OutboxState,
  ReportRecord,
  RecordedReport,
  SandboxMessage,
  SandboxThread,
  SandboxThreads,
  SendLog,
  SendLogEntry,
  SendAccepted,
  SendLogStart,
  Store,
} from './store';

export abstract class ComposedStore implements Store {
  protected abstract readonly inbound: InboundLog & InboundLogView;
  protected abstract readonly optOuts: OptOutStore & OptOutView;
  protected abstract readonly conversations: ConversationStore & ConversationView;
  protected abstract readonly outbox: Outbox & OutboxView;
  protected abstract readonly sandbox: SandboxThreads;
  protected abstract readonly personalData: PersonalData;
  protected abstract readonly sendLogView: SendLogView;
  protected abstract readonly sendLog: SendLog;
  protected abstract readonly refusals: RefusalLog;

  abstract schemaVersion(): Promise<number>;
  abstract close(): Promise<void>;

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
  claimOptOutConfirmation(phone: string, withinMs: number, attempt?: string): Promise<boolean> {
    return this.optOuts.claimOptOutConfirmation(phone, withinMs, attempt);
  }
  releaseOptOutConfirmation(phone: string, attempt?: string): Promise<void> {
    return this.optOuts.releaseOptOutConfirmation(phone, attempt);
  }
  importOptStatus(phones: string[], status: OptStatus, source: string, by?: string | null): Promise<ImportResult> {
    return this.optOuts.importOptStatus(phones, status, source, by);
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
  takeDueConversations(name: string, now: number, limit: number, attempt?: string): Promise<ConversationRecord[]> {
    return this.conversations.takeDueConversations(name, now, limit, attempt);
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

  // the operators' view: pages newest first, counts, retention, a customer's data
  inboundLogPage(query: InboundLogQuery): Promise<InboundLogLine[]> {
    return this.inbound.inboundLogPage(query);
  }
  inboundCounts(since: number, until: number, bucketMs: number, accountSid?: string): Promise<number[]> {
    return this.inbound.inboundCounts(since, until, bucketMs, accountSid);
  }
  purgeInboundLog(before: number, limit: number): Promise<number> {
    return this.inbound.purgeInboundLog(before, limit);
  }
  optOutPage(query: OptOutQuery): Promise<OptOutRecord[]> {
    return this.optOuts.optOutPage(query);
  }
  conversationPage(query: ConversationQuery, now: number): Promise<ConversationRecord[]> {
    return this.conversations.conversationPage(query, now);
  }
  outboxPage(query: OutboxQuery): Promise<OutboxEntry[]> {
    return this.outbox.outboxPage(query);
  }
  outboxEntry(id: number): Promise<OutboxEntry | null> {
    return this.outbox.outboxEntry(id);
  }
  requeueOutboxEntry(id: number, attempt?: string): Promise<OutboxEntry | null> {
    return this.outbox.requeueOutboxEntry(id, attempt);
  }
  discardOutboxEntry(id: number): Promise<boolean> {
    return this.outbox.discardOutboxEntry(id);
  }
  sendLogPage(query: SendLogQuery): Promise<SendLogEntry[]> {
    return this.sendLogView.sendLogPage(query);
  }
  sendCounts(since: number, until: number, bucketMs: number, account?: string): Promise<SendCounts> {
    return this.sendLogView.sendCounts(since, until, bucketMs, account);
  }
  outboxCounts(): Promise<Record<OutboxState, number>> {
    return this.outbox.outboxCounts();
  }
  numberData(phone: string): Promise<NumberData> {
    return this.personalData.numberData(phone);
  }
  eraseNumber(phone: string): Promise<ErasedNumber> {
    return this.personalData.eraseNumber(phone);
  }

  // a send's outbox entry and its send log line, around its request (PostgreSQL: one statement each)
  async startSendAttempt(outboxId: number, log: SendLogStart | null): Promise<void> {
    await this.outbox.markOutboxSending(outboxId);
    if (log) await this.sendLog.logSendStart(log);
  }
  async finishSend(outboxId: number, accepted: SendAccepted | null): Promise<void> {
    // the send log has its SmsSid first: should the process die in between, the restart knows it went
    if (accepted) await this.sendLog.logSendAccepted(accepted.customField, accepted.sid, accepted.exotelStatus, accepted.units);
    await this.outbox.removeFromOutbox(outboxId);
  }

  // callbacks the SMS in nodes refused
  logRefusal(refusal: InboundRefusal): Promise<void> {
    return this.refusals.logRefusal(refusal);
  }
  refusalPage(query: RefusalQuery): Promise<RefusalLine[]> {
    return this.refusals.refusalPage(query);
  }
  purgeRefusals(before: number, limit: number): Promise<number> {
    return this.refusals.purgeRefusals(before, limit);
  }

  // the send log and its delivery reports
  logSendStart(start: SendLogStart): Promise<void> {
    return this.sendLog.logSendStart(start);
  }
  logSendAccepted(customField: string, sid: string, exotelStatus: string, units: number | null): Promise<void> {
    return this.sendLog.logSendAccepted(customField, sid, exotelStatus, units);
  }
  logSendFailed(customField: string, error: unknown): Promise<void> {
    return this.sendLog.logSendFailed(customField, error);
  }
  sendLogEntry(customField: string): Promise<SendLogEntry | null> {
    return this.sendLog.sendLogEntry(customField);
  }
  recordDeliveryReport(report: DeliveryReport, attempt?: string): Promise<{ isNew: boolean; entry: SendLogEntry | null }> {
    return this.sendLog.recordDeliveryReport(report, attempt);
  }
  recordedReports(recorded: RecordedReport[]): Promise<ReportRecord[]> {
    return this.sendLog.recordedReports(recorded);
  }
  unhandledReports(nodeId: string): Promise<ReportRecord[]> {
    return this.sendLog.unhandledReports(nodeId);
  }
  markReportHandled(sid: string, status: string): Promise<void> {
    return this.sendLog.markReportHandled(sid, status);
  }
  purgeSendLog(before: number): Promise<number> {
    return this.sendLog.purgeSendLog(before);
  }
}
