// The rows of the inbound log, the opt-outs and the outbox as both backends read them, and how each
// becomes the record `Store` hands out. The SQL that reads and writes them stays with each backend.
import type { DeliveryReport, DeliveryStatus, InboundLogLine, SendCounts, InboundRecord, OptOutRecord, OptStatus, OutboxEntry, OutboxState, SendLogEntry, SendState } from '../store';

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

/** Sent (Exotel took it), delivered (a report said so) and failed (not sent, or a report said not delivered), per bucket. */
export function countsOf(rows: Array<{ bucket: number | string; state: string; delivery: string | null; count: number | string }>, since: number, until: number, bucketMs: number): SendCounts {
  const pick = (test: (row: { state: string; delivery: string | null }) => boolean) => bucketsOf(rows.filter(test), since, until, bucketMs);
  return {
    sent: pick((row) => row.state === 'sent'),
    delivered: pick((row) => row.state === 'sent' && row.delivery === 'delivered'),
    failed: pick((row) => row.state === 'failed' || row.delivery === 'failed'),
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

export interface SendLogRow {
  id: number;
  custom_field: string;
  sid: string | null;
  node_id: string;
  account: string;
  phone: string;
  body: string;
  template_id: string | null;
  message: string;
  state: SendState;
  error: string | null;
  exotel_status: string | null;
  delivery: DeliveryStatus | null;
  detail: string | null;
  code: string | null;
  units: number | null;
  created_at: number;
  updated_at: number;
  reported_at: number | null;
}

export function toSendLogEntry(row: SendLogRow): SendLogEntry {
  return {
    id: row.id,
    customField: row.custom_field,
    sid: row.sid,
    nodeId: row.node_id,
    account: row.account,
    phone: row.phone,
    body: row.body,
    templateId: row.template_id,
    message: JSON.parse(row.message) as unknown,
    state: row.state,
    error: row.error === null ? null : (JSON.parse(row.error) as unknown),
    exotelStatus: row.exotel_status,
    delivery: row.delivery,
    detail: row.detail,
    code: row.code,
    units: row.units,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    reportedAt: row.reported_at,
  };
}

export interface DeliveryReportRow {
  sid: string;
  status: string;
  node_id: string | null;
  to_number: string;
  delivery: DeliveryStatus;
  detailed_status: string;
  detailed_status_code: string;
  date_sent: string | null;
  units: number | null;
  custom_field: string;
  received_at: number;
}

export function toDeliveryReport(row: DeliveryReportRow): DeliveryReport {
  return {
    sid: row.sid,
    to: row.to_number,
    status: row.status,
    delivery: row.delivery,
    detailedStatus: row.detailed_status,
    detailedStatusCode: row.detailed_status_code,
    dateSent: row.date_sent,
    units: row.units,
    customField: row.custom_field,
    receivedAt: row.received_at,
  };
}

/** The columns of a report's joined send log row are prefixed `s_` (see sendLogOfJoin). */
export const JOINED_SEND_LOG_COLUMNS = [
  'id', 'custom_field', 'sid', 'node_id', 'account', 'phone', 'body', 'template_id', 'message', 'state', 'error',
  'exotel_status', 'delivery', 'detail', 'code', 'units', 'created_at', 'updated_at', 'reported_at',
].map((column) => `s.${column} AS s_${column}`).join(', ');

/** The send log row of a report read with JOINED_SEND_LOG_COLUMNS, or null when the report matched none. */
export function sendLogOfJoin(row: Record<string, unknown>): SendLogEntry | null {
  if (row.s_id === null || row.s_id === undefined) return null;
  const entry: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) if (key.startsWith('s_')) entry[key.slice(2)] = value;
  return toSendLogEntry(entry as unknown as SendLogRow);
}

export function countsByState(rows: Array<{ state: OutboxState; count: number | string }>): Record<OutboxState, number> {
  const counts: Record<OutboxState, number> = { queued: 0, sending: 0, failed: 0 };
  for (const row of rows) counts[row.state] = Number(row.count);
  return counts;
}
