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
  /** The schema version the database is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
