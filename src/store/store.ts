// The durable state of the package behind one asynchronous interface, so that another database
// (PostgreSQL for several Node-RED instances) can take SQLite's place.

export interface InboundRecord {
  sid: string;
  from: string;
  to: string;
  body: string;
  receivedAt: string;
  accountSid: string;
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

export interface Store {
  /** Records an inbound SMS durably. False when this SmsSid is already recorded (a duplicate). */
  recordInbound(record: InboundRecord): Promise<boolean>;
  /** Marks inbound SMS as handed to the flow. */
  markInboundHandled(sids: string[]): Promise<void>;
  /** Inbound SMS recorded on an endpoint but never handed to the flow (the process died in between). */
  unhandledInbound(endpoint: string): Promise<InboundRecord[]>;
  /** Counts of the inbound log. */
  inboundStats(): Promise<{ total: number; unhandled: number }>;
  /** Claims the one send a send node makes for a key (inbound SmsSid and recipient); false when it already made it. */
  claimSend(nodeId: string, key: string): Promise<boolean>;
  /** Gives a claim back after a failed send, so that a replay may try again. */
  releaseSend(nodeId: string, key: string): Promise<void>;
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
   * opted out within `withinMs` and no confirmation was sent since.
   */
  claimOptOutConfirmation(phone: string, withinMs: number): Promise<boolean>;
  /** Gives the confirmation back when its send failed. */
  releaseOptOutConfirmation(phone: string): Promise<void>;
  /** Sets many numbers (E.164) at once, in one transaction, each change in the history. */
  importOptStatus(phones: string[], status: OptStatus, source: string): Promise<ImportResult>;
  exportOptStatus(): Promise<OptOutRecord[]>;
  optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>>;
  /** How many numbers are opted out now. */
  optedOutCount(): Promise<number>;
  /** The schema version the database is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
