// Exotel's delivery report (the StatusCallback of a send): form fields or JSON, mapped to one
// DeliveryReport. Pure functions over what arrived on the wire; the HTTP plumbing lives in the
// exotel-account node, which owns the report endpoint.
import { MAX_NUMBER_LENGTH, toE164 } from '../sms/phone';
import { deliveryOf, deliveryReason, normaliseStatus, REPORT_STATUSES, type DeliveryStatus } from './delivery-codes';
import { first, isSmsSid, parseExotelDate, readFields, type FieldSchema, type WebhookRequest } from './webhook';

/** A delivery report as Exotel posted it. */
export interface DeliveryReport {
  sid: string;
  /** the customer, E.164 where it is a phone number */
  to: string;
  /** Exotel's Status, lower case (`failed-dnd` written `failed_dnd`) */
  status: string;
  delivery: DeliveryStatus;
  detailedStatus: string;
  detailedStatusCode: string;
  /** DateSent, ISO 8601, or null */
  dateSent: string | null;
  units: number | null;
  /** what the send put in CustomField: identifies it when its answer was lost */
  customField: string;
  /** when it was received, ms since the epoch */
  receivedAt: number;
}

export type ReportParse = { ok: true; report: DeliveryReport } | { ok: false; status: number; reason: string };

/** A CustomField we send is short; Exotel's other fields a few dozen characters. */
const MAX_FIELD_CHARS = 256;

const REPORT_FIELDS: FieldSchema = {
  read: new Set(['smssid', 'sid', 'to', 'status', 'detailedstatus', 'detailedstatuscode', 'datesent', 'sentat', 'smsunits', 'customfield']),
  limit: (name) => (name === 'to' ? MAX_NUMBER_LENGTH : MAX_FIELD_CHARS),
};

/** Units are a small whole number; anything else is not known. */
function unitsOf(value: string | undefined): number | null {
  if (value === undefined || !/^\s*\d{1,4}\s*$/.test(value)) return null;
  return Number(value);
}

/** Maps a delivery report to a DeliveryReport, or says why the request is bad (400, 415). */
export function parseReport(req: WebhookRequest, defaultCountry = 'IN', now = new Date()): ReportParse {
  const read = readFields(req, REPORT_FIELDS);
  if (!read.ok) return read;
  const { fields } = read;
  const sid = first(fields, 'smssid', 'sid');
  if (!sid) return { ok: false, status: 400, reason: 'SmsSid is missing' };
  if (!isSmsSid(sid)) return { ok: false, status: 400, reason: 'SmsSid is not a valid identifier' };
  const rawStatus = first(fields, 'status');
  if (!rawStatus) return { ok: false, status: 400, reason: 'Status is missing' };
  const status = normaliseStatus(rawStatus);
  if (!status) return { ok: false, status: 400, reason: `Status "${rawStatus.slice(0, 40)}" is not one of ${REPORT_STATUSES.join(', ')}` };
  const rawTo = first(fields, 'to') ?? '';
  const dateSent = first(fields, 'datesent', 'sentat');
  return {
    ok: true,
    report: {
      sid,
      to: toE164(rawTo, defaultCountry, 'possible') ?? rawTo.trim(),
      status,
      delivery: deliveryOf(status),
      detailedStatus: (fields.get('detailedstatus') ?? '').trim(),
      detailedStatusCode: (fields.get('detailedstatuscode') ?? '').trim(),
      dateSent: dateSent ? parseExotelDate(dateSent, now) : null,
      units: unitsOf(fields.get('smsunits')),
      customField: (fields.get('customfield') ?? '').trim(),
      receivedAt: now.getTime(),
    },
  };
}

/** `msg.delivery` on the send node's report output. */
export interface DeliveryInfo {
  status: DeliveryStatus;
  /** Exotel's Status as posted (lower case) */
  exotelStatus: string;
  /** DetailedStatusCode: a number when it is one, else as given, or null */
  code: number | string | null;
  /** DetailedStatus */
  detail: string;
  /** a sentence that says what happened and, for a failure, why */
  reason: string;
  sid: string;
  units: number | null;
  /** when the SMS reached this state (DateSent), else when the report came; ISO 8601 */
  at: string;
}

export function deliveryInfo(report: DeliveryReport): DeliveryInfo {
  const code = report.detailedStatusCode;
  return {
    status: report.delivery,
    exotelStatus: report.status,
    code: code === '' ? null : /^\d{1,9}$/.test(code) ? Number(code) : code,
    detail: report.detailedStatus,
    reason: deliveryReason(report.status, code, report.detailedStatus),
    sid: report.sid,
    units: report.units,
    at: report.dateSent ?? new Date(report.receivedAt).toISOString(),
  };
}
