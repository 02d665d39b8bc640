// The durable state of the package behind one asynchronous interface, so that another database
// (PostgreSQL for several Node-RED instances) can take SQLite's place. One interface a concern, so
// that each backend implements them one by one and one contract suite runs against every backend.
import type { DeliveryStatus } from '../exotel/delivery-codes';
import type { DeliveryReport } from '../exotel/report';
import type { InboundSms } from '../exotel/webhook';

/** An inbound SMS as the webhook parsed it, kept in the inbound log. */
export interface InboundRecord extends InboundSms {
  /** the webhook path it arrived on: a restarted node hands on what was not handed on yet */
  endpoint: string;
}

export type OptStatus = 'opted-in' | 'opted-out';

export interface OptOutRecord {
  phone: string;
  status: OptStatus;
  /** the keyword the customer sent (STOP, START…), if any */
  keyword: string | null;
  /** the inbound SmsSid, `import` or `manual` */
  source: string;
  /** when the status last changed, ms since the epoch */
  updatedAt: number;
}

export interface OptOutChange {
  phone: string;
  status: OptStatus;
  keyword?: string | null;
  source: string;
  /** who made a `manual` or `import` change in the editor (its user name, when adminAuth is on) */
  by?: string | null;
}

export interface OptOutResult {
  record: OptOutRecord;
  /** false when the status was already this (the history still gets the event) */
  changed: boolean;
  /** true when this source (an inbound SmsSid) was already applied to this number: nothing was done */
  replay: boolean;
}

export interface ImportResult {
  /** numbers whose status changed */
  changed: number;
  /** numbers that already had that status */
  unchanged: number;
}

export interface ConversationRecord {
  name: string;
  /** the customer, usually the E.164 number */
  key: string;
  step: string;
  data: Record<string, unknown>;
  startedAt: number;
  updatedAt: number;
  expiresAt: number;
  /** when the current step times out, if it does */
  deadlineAt: number | null;
  /** counts every change: two messages that saw the same revision raced */
  revision: number;
  /** the one-time code, kept only as a salted hash and only until it is verified or expires */
  code: { hash: string; salt: string; expiresAt: number; attemptsLeft: number } | null;
}

export interface ConversationStart {
  name: string;
  key: string;
  step: string;
  data: Record<string, unknown>;
  maxAgeMs: number;
  /** the step's "no reply within" */
  timeoutMs?: number | null;
  code?: { hash: string; salt: string; lifetimeMs: number; attempts: number } | null;
  /** the inbound SmsSid that caused it: a replay of the same SMS changes nothing */
  sid?: string | null;
}

export interface ConversationUpdate {
  /** the step to move to; undefined stays */
  step?: string;
  /** merged into the data */
  data?: Record<string, unknown>;
  /** the new step's "no reply within"; null clears it; undefined keeps it when the step stays */
  timeoutMs?: number | null;
  sid?: string | null;
}

export interface CodeCheck {
  /** `none`: no active conversation, or it holds no code */
  result: 'verified' | 'wrong' | 'expired' | 'too-many' | 'none';
  conversation: ConversationRecord | null;
}

export interface SandboxMessage {
  id: number;
  /** the sandbox account's node id */
  account: string;
  phone: string;
  /** out: we sent it; in: the customer replied */
  direction: 'out' | 'in';
  body: string;
  sid: string;
  /** out: `sent`; in: `received`, or `rejected` when the webhook refused it */
  status: string;
  detail: string | null;
  segments: number | null;
  encoding: string | null;
  at: number;
}

export interface SandboxThread {
  phone: string;
  count: number;
  last: SandboxMessage;
}

export type OutboxState = 'queued' | 'sending' | 'failed';

export interface OutboxEntry {
  id: number;
  /** the send node that owns it */
  nodeId: string;
  phone: string;
  /** what goes to Exotel (JSON-able) */
  request: unknown;
  /** the message to hand on once it is sent or failed (JSON-able) */
  message: unknown;
  claimKey: string | null;
  /** the send holds the number's one opt-out confirmation */
  confirmation: boolean;
  state: OutboxState;
  attempts: number;
  error: unknown;
  createdAt: number;
  updatedAt: number;
  /** not to be sent before this time (ms since the epoch): a promotional send held until TRAI's hours; null: at once */
  notBefore: number | null;
}

/** The inbound log (deduplicated on SmsSid) and the send claims (one send a node makes for an inbound SMS). */
export interface InboundLog {
  /** Records an inbound SMS durably. False when this SmsSid is already recorded (a duplicate). */
  recordInbound(record: InboundRecord): Promise<boolean>;
  /** Marks inbound SMS as handed to the flow. */
  markInboundHandled(sids: string[]): Promise<void>;
  /** Inbound SMS recorded on an endpoint but never handed to the flow (the process died in between). */
  unhandledInbound(endpoint: string): Promise<InboundRecord[]>;
  /** Gives a claim back after a failed send, so that a replay may try again. */
  releaseSend(nodeId: string, key: string): Promise<void>;
}

/** Opt-outs, one record a number, and their append-only history. */
export interface OptOutStore {
  /**
   * Records an opt-out or opt-in, and appends it to the history, in one transaction that is
   * committed when the promise resolves. The same inbound SmsSid applied twice to a number is a replay.
   */
  setOptStatus(change: OptOutChange): Promise<OptOutResult>;
  getOptStatus(phone: string): Promise<OptOutRecord | null>;
  /** The send guard: whether a number is opted out now. */
  isOptedOut(phone: string): Promise<boolean>;
  /**
   * The one message an opt-out confirmation node may send: true (and used up) when the number
   * opted out within `withinMs` and no confirmation was sent since. Asked again with the same
   * `attempt` (the answer to the first call was lost after it committed), true again while that
   * attempt holds the claim and has not queued it.
   */
  claimOptOutConfirmation(phone: string, withinMs: number, attempt?: string): Promise<boolean>;
  /**
   * Gives the confirmation back when its send failed. With `attempt`: only while that attempt holds
   * the claim and has not queued it (a confirmation queued by it, perhaps taken over and sent by
   * another instance since, or a claim another instance took, is not given back).
   */
  releaseOptOutConfirmation(phone: string, attempt?: string): Promise<void>;
  /** Sets many numbers (E.164) at once, in one transaction, each change in the history. */
  importOptStatus(phones: string[], status: OptStatus, source: string, by?: string | null): Promise<ImportResult>;
  exportOptStatus(): Promise<OptOutRecord[]>;
  optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>>;
  /** How many numbers are opted out now: kept as changes happen, never counted (O(1)). */
  optedOutCount(): Promise<number>;
}

/** Conversations, one active a customer and name, with their one-time codes and step deadlines. */
export interface ConversationStore {
  /** Starts (or starts over) a conversation. */
  startConversation(start: ConversationStart): Promise<ConversationRecord>;
  /**
   * The customer's active conversation of that name; null when there is none or it expired.
   * With a replay key (a node and an inbound SmsSid), the answer is remembered, and a replay of the
   * same SMS gets the same answer, whatever happened since.
   */
  getConversation(name: string, key: string, replayKey?: string): Promise<ConversationRecord | null>;
  /** Moves and merges in one transaction; null when there is no active conversation. */
  updateConversation(name: string, key: string, update: ConversationUpdate): Promise<ConversationRecord | null>;
  /** Ends it, returning its last state (with `data` merged); null when there was none. */
  endConversation(name: string, key: string, data?: Record<string, unknown>, replayKey?: string): Promise<ConversationRecord | null>;
  /**
   * Checks a one-time code: `matches` compares in constant time. Verified, expired and too many
   * attempts end the conversation and forget the code; a wrong code uses one attempt.
   */
  checkCode(name: string, key: string, matches: (hash: string, salt: string) => boolean, replayKey?: string): Promise<CodeCheck>;
  /**
   * Conversations whose step deadline has passed; each is returned once (the deadline is cleared).
   * `attempt`: the poll's key, the same again after a poll whose answer was lost (PostgreSQL): the
   * conversations that poll took are returned again, but for those written since (a reply, the end).
   */
  takeDueConversations(name: string, now: number, limit: number, attempt?: string): Promise<ConversationRecord[]>;
  /** Deletes expired conversations; returns how many. */
  purgeExpiredConversations(now: number): Promise<number>;
  activeConversationCount(name?: string): Promise<number>;
  /** Calls back after every committed change to a conversation (in this process). */
  onConversationChange(listener: (name: string, key: string) => void): () => void;
}

/** What the outbox is given: the rest (id, state, attempts, times) is the store's. */
export type OutboxAddition = Pick<OutboxEntry, 'nodeId' | 'phone' | 'request' | 'message' | 'claimKey' | 'confirmation'> & {
  notBefore?: number | null;
  /**
   * A key the caller makes for this one send (random): asked again with the same key, because the
   * answer to the first call was lost after it committed (the connection dropped), the store answers
   * with the entry that call queued, not null as for a claim somebody else took.
   */
  attempt?: string;
};

/** Sends waiting for the rate limit or a retry, the one being asked of Exotel, and the failed ones. */
export interface Outbox {
  /**
   * Puts a send in the outbox, committed when the promise resolves, together with its claim (one send
   * a node makes for an inbound SMS and recipient): null, and nothing queued, when the
   * claim was already taken.
   */
  addToOutbox(entry: OutboxAddition): Promise<number | null>;
  /** An attempt starts: until it ends, nobody can tell whether Exotel got the message. */
  markOutboxSending(id: number): Promise<void>;
  /** A send went out: it leaves the outbox. */
  removeFromOutbox(id: number): Promise<void>;
  /** An attempt failed and another will follow (the entry is queued again). */
  noteOutboxAttempt(id: number, attempts: number, error: unknown): Promise<void>;
  /** Given up: kept, failed, for inspection, until purged; a sealed text (`request.sealed`) is dropped. */
  failOutboxEntry(id: number, attempts: number, error: unknown): Promise<void>;
  /** Deletes failed entries last changed, and send claims taken, before `before` (ms); returns how many rows. */
  purgeFinishedSends(before: number): Promise<number>;
  /** A node's entries of one state, oldest first. */
  outboxEntries(nodeId: string, state: OutboxState): Promise<OutboxEntry[]>;
}

/** The sandbox phone's threads. */
export interface SandboxThreads {
  addSandboxMessage(message: Omit<SandboxMessage, 'id'>): Promise<SandboxMessage>;
  /** Sets a sandbox message's status and detail; returns the message as it now is. */
  updateSandboxMessage(id: number, status: string, detail: string | null): Promise<SandboxMessage | null>;
  /** A sandbox account's threads, most recent first. */
  sandboxThreads(account: string): Promise<SandboxThread[]>;
  /** The last `limit` messages of a thread, oldest first. */
  sandboxThread(account: string, phone: string, limit?: number): Promise<SandboxMessage[]>;
  clearSandboxThread(account: string, phone: string): Promise<number>;
}

/** How a sent SMS stands with Exotel: its request on the wire, answered with an SmsSid, or given up. */
export type SendState = 'sending' | 'sent' | 'failed';
export type { DeliveryReport, DeliveryStatus };

/** What a send node logs when the first attempt of an SMS is about to leave. */
export interface SendLogStart {
  /** identifies the send in Exotel's delivery report (`CustomField`): unique */
  customField: string;
  /** the send node */
  nodeId: string;
  /** the exotel-account node it was sent through */
  account: string;
  phone: string;
  /** the text as sent, with a one-time code in it masked */
  body: string;
  templateId: string | null;
  /** the message as the send node got it (JSON-able, no one-time code): the report output hands it on again */
  message: unknown;
}

/** One SMS of the send log, with what Exotel answered and what its delivery reports said. */
export interface SendLogEntry extends SendLogStart {
  id: number;
  /** Exotel's SmsSid: from its answer, or from the first report (a send whose answer a crash lost) */
  sid: string | null;
  state: SendState;
  /** why it failed (msg.error), when it did */
  error: unknown;
  /** Exotel's last status: from its answer, then from each report */
  exotelStatus: string | null;
  delivery: DeliveryStatus | null;
  /** the last report's DetailedStatus and DetailedStatusCode */
  detail: string | null;
  code: string | null;
  /** SMS units billed (Exotel's answer, then its report) */
  units: number | null;
  createdAt: number;
  updatedAt: number;
  /** when the last report came */
  reportedAt: number | null;
}

/** A report with the send it belongs to, as that send is after the report. */
export interface ReportRecord {
  report: DeliveryReport;
  entry: SendLogEntry | null;
}

/** A call that recorded a report, or may have: the report's SmsSid and Status, and the call's key. */
export interface RecordedReport {
  sid: string;
  status: string;
  attempt: string;
}

/** Exotel's answer to a send: what the send log keeps of it. */
export interface SendAccepted {
  customField: string;
  sid: string;
  exotelStatus: string;
  units: number | null;
}

/** A send's bookkeeping around its request to Exotel: the outbox and the send log together, one write each way. */
export interface SendBookkeeping {
  /** `markOutboxSending`, and on the first attempt of a logged send `logSendStart`, together. */
  startSendAttempt(outboxId: number, log: SendLogStart | null): Promise<void>;
  /** It went: `logSendAccepted` (when logged), and `removeFromOutbox`, together. */
  finishSend(outboxId: number, accepted: SendAccepted | null): Promise<void>;
}

/** Every SMS sent, kept for the retention period, with Exotel's delivery reports (each SmsSid and Status once). */
export interface SendLog {
  /** The first attempt of a send is about to leave; a second call for its CustomField changes nothing. */
  logSendStart(start: SendLogStart): Promise<void>;
  /** Exotel answered with an SmsSid. */
  logSendAccepted(customField: string, sid: string, exotelStatus: string, units: number | null): Promise<void>;
  /** The send failed for good (it may still have gone: a report then says so). */
  logSendFailed(customField: string, error: unknown): Promise<void>;
  sendLogEntry(customField: string): Promise<SendLogEntry | null>;
  /**
   * Records a report, committed when the promise resolves: `isNew` false when this SmsSid and Status
   * were recorded already. The send it belongs to (by SmsSid, else by CustomField: a send whose answer
   * was lost gets its SmsSid here) takes its status; a final delivery is never set back to pending.
   * `attempt`: a key the caller makes for this one call (random), kept with the report it records.
   */
  recordDeliveryReport(report: DeliveryReport, attempt?: string): Promise<{ isNew: boolean; entry: SendLogEntry | null }>;
  /**
   * The reports these calls recorded (an answer lost after the call committed: the connection dropped)
   * that are not handed on yet, with their sends, oldest first. On a shared database only those still
   * this instance's, and not those a start of a send node has read since.
   */
  recordedReports(recorded: RecordedReport[]): Promise<ReportRecord[]>;
  /** A send node's reports not yet handed to the flow, oldest first. */
  unhandledReports(nodeId: string): Promise<ReportRecord[]>;
  markReportHandled(sid: string, status: string): Promise<void>;
  /** Deletes sends (and their reports) logged before `before` (ms); returns how many sends. */
  purgeSendLog(before: number): Promise<number>;
}


// ---- the operators' view (the SMS tab of the editor): pages newest first, read by keyset ----------

/** Where a page goes on: after this line of the previous one (pages run newest first). */
export interface PageCursor {
  /** the line's time, ms */
  at: number;
  /** what orders lines of the same time: an SmsSid, a number, `name\u0000key`, an outbox id */
  id: string;
}

export interface InboundLogQuery {
  /** only this customer's SMS (E.164) */
  phone?: string;
  /** text in the SMS or in the customer's number (case-insensitive) */
  text?: string;
  /** from (inclusive) and until (exclusive), ms */
  since?: number;
  until?: number;
  /** only SMS to this Exotel account (its AccountSid) */
  accountSid?: string;
  after?: PageCursor | null;
  limit: number;
}

/** An inbound SMS as the log shows it. */
export interface InboundLogLine extends InboundRecord {
  recordedAt: number;
  /** handed to the flow */
  handled: boolean;
  /** how many more times Exotel delivered the same SmsSid (each answered, none handed on) */
  duplicates: number;
}

/** The inbound log read by people: newest first, counted per hour, and forgotten after the retention period. */
export interface InboundLogView {
  inboundLogPage(query: InboundLogQuery): Promise<InboundLogLine[]>;
  /** Inbound SMS recorded in each `bucketMs` from `since` until `until`. */
  inboundCounts(since: number, until: number, bucketMs: number, accountSid?: string): Promise<number[]>;
  /** Deletes at most `limit` handed-on SMS recorded before `before`, oldest first; returns how many. */
  purgeInboundLog(before: number, limit: number): Promise<number>;
}

export interface OptOutQuery {
  /** digits of the number, or the whole number */
  text?: string;
  /** `opted-out` (default): the numbers opted out now; `all`: every number with a record */
  status?: OptStatus | 'all';
  /** cursor: updatedAt and phone */
  after?: PageCursor | null;
  limit: number;
}

export interface OptOutView {
  /** Numbers by their last change, newest first. */
  optOutPage(query: OptOutQuery): Promise<OptOutRecord[]>;
}

export interface ConversationQuery {
  name?: string;
  /** text in the customer's key (number) */
  text?: string;
  /** cursor: startedAt and `name\u0000key` */
  after?: PageCursor | null;
  limit: number;
}

export interface ConversationView {
  /** Active conversations, the last started first (codes left out). */
  conversationPage(query: ConversationQuery, now: number): Promise<ConversationRecord[]>;
}

export interface OutboxQuery {
  state?: OutboxState;
  /** cursor: createdAt and the id */
  after?: PageCursor | null;
  limit: number;
}

export interface OutboxView {
  /** Every send node's entries, newest first. */
  outboxPage(query: OutboxQuery): Promise<OutboxEntry[]>;
  outboxEntry(id: number): Promise<OutboxEntry | null>;
  /**
   * A failed entry queued again with its attempts reset (this instance's on a shared database); null
   * when it is not failed (any more). `attempt`: a key the caller makes for this one request (random):
   * asked again with it, because the answer was lost after it committed, the entry it queued again,
   * while still queued (and this instance's).
   */
  requeueOutboxEntry(id: number, attempt?: string): Promise<OutboxEntry | null>;
  /** Deletes a failed entry; false when there is none (any more). */
  discardOutboxEntry(id: number): Promise<boolean>;
  /** How many entries there are of each state. */
  outboxCounts(): Promise<Record<OutboxState, number>>;
}

export interface SendLogQuery {
  /** only SMS to this customer (E.164) */
  phone?: string;
  /** text in the SMS or in the customer's number (case-insensitive) */
  text?: string;
  since?: number;
  until?: number;
  /** only SMS sent through this exotel-account node */
  account?: string;
  /** cursor: createdAt and the id */
  after?: PageCursor | null;
  limit: number;
}

/** SMS sent in each bucket (by when they were sent), and how many of them were delivered, and failed (not sent, or not delivered). */
export interface SendCounts {
  sent: number[];
  delivered: number[];
  failed: number[];
}

/** The send log read by people: newest first, counted per hour. */
export interface SendLogView {
  sendLogPage(query: SendLogQuery): Promise<SendLogEntry[]>;
  sendCounts(since: number, until: number, bucketMs: number, account?: string): Promise<SendCounts>;
}

/**
 * A callback an SMS in node refused (a wrong or missing token, an address off the allow-list, a body it
 * could not read…), as the log keeps it: never the token, the query string or a credential.
 */
export interface InboundRefusal {
  /** the webhook path it came to */
  endpoint: string;
  /** the AccountSid of the path's account (blank for a sandbox account): the log's account filter */
  accountSid: string;
  /** ms */
  at: number;
  /** the HTTP status it was answered */
  status: number;
  /** why, for the tab to say in the operator's language: bad_token, not_allowed, malformed… */
  code: string;
  /** why, as the caller was told (English) */
  reason: string;
  /** the sender (E.164 when it is a number), its text (cut short) and SmsSid, as far as the request could be read */
  from: string | null;
  body: string | null;
  sid: string | null;
  /** the address it came from */
  remote: string | null;
  /**
   * A line that stands for a flood: this many more callbacks were refused in the minute before `at` and
   * not logged one by one (the line says how the last of them was refused); 0 for a line of one refusal.
   */
  dropped: number;
}

export interface RefusalLine extends InboundRefusal {
  id: number;
}

/** Refused callbacks, searched as the inbound log is: by sender, text, time, account; cursor: `at` and the id. */
export type RefusalQuery = InboundLogQuery;

/** Refused callbacks: logged (a few a minute an endpoint; see exotel-inbound/refusal-log.ts), read newest first, forgotten after the retention period. */
export interface RefusalLog {
  logRefusal(refusal: InboundRefusal): Promise<void>;
  refusalPage(query: RefusalQuery): Promise<RefusalLine[]>;
  /** Deletes at most `limit` refusals logged before `before`, oldest first; returns how many. */
  purgeRefusals(before: number, limit: number): Promise<number>;
}

/** Everything held about one number, for a customer's data request. */
export interface NumberData {
  phone: string;
  optOut: OptOutRecord | null;
  optOutHistory: Array<OptOutChange & { at: number }>;
  inbound: InboundLogLine[];
  conversations: ConversationRecord[];
  outbox: OutboxEntry[];
  sandbox: SandboxMessage[];
  /** what was sent to it, with the delivery reports' verdict */
  sent: SendLogEntry[];
  /** callbacks refused that named it as the sender */
  refused: RefusalLine[];
}

/** How many rows of each kind an erasure deleted. */
export interface ErasedNumber {
  inbound: number;
  conversations: number;
  outbox: number;
  sandbox: number;
  sent: number;
  refused: number;
  /** remembered outcomes of the number's SMS, the claims of sends to it, and their delivery reports */
  other: number;
}

export interface PersonalData {
  numberData(phone: string): Promise<NumberData>;
  /** Deletes everything held about a number but its opt-out record and history, in one transaction. */
  eraseNumber(phone: string): Promise<ErasedNumber>;
}

export interface Store extends InboundLog, OptOutStore, ConversationStore, Outbox, SandboxThreads, SendLog, SendBookkeeping,
  InboundLogView, OptOutView, ConversationView, OutboxView, SendLogView, PersonalData, RefusalLog {
  /** The schema version the database is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
