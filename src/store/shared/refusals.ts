// The rows of refused callbacks as both backends read them, and how each becomes the line `Store` hands out.
import type { InboundRefusal, RefusalLine } from '../store';

export interface RefusalRow {
  /** PostgreSQL hands a bigint over as a string */
  id: number | string;
  endpoint: string;
  account_sid: string;
  at: number | string;
  status: number;
  code: string;
  reason: string;
  from_number: string | null;
  body: string | null;
  sid: string | null;
  remote: string | null;
  dropped: number;
}

export function toRefusal(row: RefusalRow): RefusalLine {
  return {
    id: Number(row.id),
    endpoint: row.endpoint,
    accountSid: row.account_sid,
    at: Number(row.at),
    status: row.status,
    code: row.code,
    reason: row.reason,
    from: row.from_number,
    body: row.body,
    sid: row.sid,
    remote: row.remote,
    dropped: row.dropped,
  };
}

/** The columns of a refusal, in the order the backends insert them. */
export function refusalValues(r: InboundRefusal): unknown[] {
  return [r.endpoint, r.accountSid, r.at, r.status, r.code, r.reason, r.from, r.body, r.sid, r.remote, r.dropped];
}

export const REFUSAL_COLUMNS = 'endpoint, account_sid, at, status, code, reason, from_number, body, sid, remote, dropped';
