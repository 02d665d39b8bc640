// The rows of the inbound log, the opt-outs and the outbox as both backends read them, and how each
// becomes the record `Store` hands out. The SQL that reads and writes them stays with each backend.
import type { InboundLogLine, InboundRecord, OptOutRecord, OptStatus, OutboxEntry, OutboxState } from '../store';

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

export interface InboundLogRow extends InboundRow {
  recorded_at: number;
  /** SQLite: 0 or 1; PostgreSQL: a boolean */
  handled: number | boolean;
  duplicates: number;
}

export function toLogLine(row: InboundLogRow): InboundLogLine {
  return { ...toRecord(row), recordedAt: row.recorded_at, handled: row.handled === true || row.handled === 1, duplicates: row.duplicates };
}

/** A LIKE pattern that finds `text` anywhere, its own % and _ taken literally (escape character \\). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Counts per bucket as the database grouped them, every bucket from `since` to `until` present. */
export function bucketsOf(rows: Array<{ bucket: number | string; count: number | string }>, since: number, until: number, bucketMs: number): number[] {
  const counts = new Array<number>(Math.max(0, Math.ceil((until - since) / bucketMs))).fill(0);
  for (const row of rows) {
    const bucket = Math.floor(Number(row.bucket));
    if (bucket >= 0 && bucket < counts.length) counts[bucket] += Number(row.count);
  }
  return counts;
}

/**
 * LIKE patterns of what else names a number: a remembered outcome of its SMS (a conversation as JSON,
 * `"key":"<number>"`) and the claim of a send to it (`<inbound SmsSid>><number>`).
 */
export function outcomePattern(phone: string): { outcomes: string; claims: string } {
  const literal = phone.replace(/[\\%_]/g, (c) => `\\${c}`);
  return { outcomes: `%"key":"${literal}"%`, claims: `%>${literal}` };
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
  };
}
