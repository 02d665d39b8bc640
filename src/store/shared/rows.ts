// The rows of the inbound log, the opt-outs and the outbox as both backends read them, and how each
// becomes the record `Store` hands out. The SQL that reads and writes them stays with each backend.
import type { InboundRecord, OptOutRecord, OptStatus, OutboxEntry, OutboxState } from '../store';

export interface InboundRow {
  sid: string;
  endpoint: string;
  from_number: string;
  to_number: string;
  body: string;
  received_at: string;
  account_sid: string;
}

export function toRecord(row: InboundRow): InboundRecord {
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

export interface OptOutRow {
  phone: string;
  status: OptStatus;
  keyword: string | null;
  source: string;
  updated_at: number;
}

export function toOptOut(row: OptOutRow): OptOutRecord {
  return { phone: row.phone, status: row.status, keyword: row.keyword, source: row.source, updatedAt: row.updated_at };
}

/** Sources that are not an inbound SmsSid, and so may be applied any number of times. */
const REPEATABLE_SOURCES = new Set(['manual', 'import']);

/** Whether a change from this source is a replay when the history already has it (an inbound SmsSid). */
export function isReplayable(source: string): boolean {
  return !REPEATABLE_SOURCES.has(source);
}

export interface OutboxRow {
  id: number;
  node_id: string;
  phone: string;
  request: string;
  message: string;
  claim_key: string | null;
  /** SQLite: 0 or 1; PostgreSQL: a boolean */
  confirmation: number | boolean;
  state: OutboxState;
  attempts: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  /** PostgreSQL hands a bigint over as a string */
  not_before: number | string | null;
}

export function toOutbox(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    nodeId: row.node_id,
    phone: row.phone,
    request: JSON.parse(row.request) as unknown,
    message: JSON.parse(row.message) as unknown,
    claimKey: row.claim_key,
    confirmation: row.confirmation === true || row.confirmation === 1,
    state: row.state,
    attempts: row.attempts,
    error: row.error === null ? null : (JSON.parse(row.error) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    notBefore: row.not_before === null || row.not_before === undefined ? null : Number(row.not_before),
  };
}
