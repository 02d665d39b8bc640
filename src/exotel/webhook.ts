// Exotel's inbound-SMS callback: every payload shape Exotel sends, mapped to one InboundSms.
// Pure functions over what arrived on the wire; the HTTP plumbing lives in nodes/exotel-inbound.
import { MAX_NUMBER_LENGTH, toE164 } from '../sms/phone';

export interface InboundSms {
  sid: string;
  /** the customer, E.164 */
  from: string;
  /** our virtual number or short code, E.164 where it is a phone number */
  to: string;
  body: string;
  /** ISO 8601 */
  receivedAt: string;
  accountSid: string;
}

export interface WebhookRequest {
  method: string;
  contentType: string | undefined;
  /** the query string, without the leading "?" */
  query: string;
  rawBody: Buffer | undefined;
}

export type ParseResult = { ok: true; sms: InboundSms } | { ok: false; status: number; reason: string };

/** Fields our authentication reads from the query string; they are never part of the SMS. */
const RESERVED = new Set(['token']);
const MAX_SID = 128;
/** Exotel's SMS bodies are at most 2,000 characters; the other fields it sends a few dozen. */
export const MAX_BODY_CHARS = 2000;
const MAX_FIELD_CHARS = 256;
const BODY_FIELDS = new Set(['body', 'messagebody']);
const NUMBER_FIELDS = new Set(['from', 'sender', 'to', 'receivedon']);
/** The fields an InboundSms is made of; any other field is ignored, not kept. */
const READ_FIELDS = new Set([...BODY_FIELDS, ...NUMBER_FIELDS, 'smssid', 'sid', 'datecreated', 'receivedtime', 'date', 'accountsid']);

class BadRequest extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

type Fields = Map<string, string>;

/** Which fields of a callback are read, and how long each may be; any other field is ignored, not kept. */
export interface FieldSchema {
  /** lower-case names */
  read: ReadonlySet<string>;
  limit(name: string): number;
}

/** The fields an InboundSms is made of. */
const INBOUND_FIELDS: FieldSchema = {
  read: READ_FIELDS,
  limit: (name) => (BODY_FIELDS.has(name) ? MAX_BODY_CHARS : NUMBER_FIELDS.has(name) ? MAX_NUMBER_LENGTH : MAX_FIELD_CHARS),
};

function addField(fields: Fields, schema: FieldSchema, key: string, value: unknown): void {
  const name = key.toLowerCase();
  if (RESERVED.has(name)) return;
  if (value === null || value === undefined) return;
  if (typeof value === 'object') throw new BadRequest(400, `field ${key} must be text, not ${Array.isArray(value) ? 'a list' : 'an object'}`);
  if (!schema.read.has(name)) return;
  const text = String(value);
  // Checked before anything parses or keeps the value: a huge field is refused, not carried along.
  const limit = schema.limit(name);
  if (text.length > limit) throw new BadRequest(400, `field ${key.slice(0, 40)} is longer than ${limit.toLocaleString('en-US')} characters`);
  if (fields.has(name) && fields.get(name) !== text) throw new BadRequest(400, `field ${key} is repeated with different values`);
  fields.set(name, text);
}

function addSearchParams(fields: Fields, schema: FieldSchema, text: string): void {
  for (const [key, value] of new URLSearchParams(text)) addField(fields, schema, key, value);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function readBody(fields: Fields, schema: FieldSchema, req: WebhookRequest): void {
  const raw = req.rawBody;
  if (!raw || raw.length === 0) return;
  const type = mediaType(req.contentType);
  const text = raw.toString('utf8');
  const looksJson = /^\s*[{[]/.test(text);
  if (type === 'application/json' || type.endsWith('+json') || (type === '' && looksJson) || (type === 'text/plain' && looksJson)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BadRequest(400, 'the body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequest(400, 'the JSON body must be an object of fields');
    for (const [key, value] of Object.entries(parsed)) addField(fields, schema, key, value);
    return;
  }
  if (type === 'application/x-www-form-urlencoded' || type === '' || type === 'text/plain') {
    addSearchParams(fields, schema, text);
    return;
  }
  throw new BadRequest(415, `content type ${type} is not accepted: send form fields or JSON`);
}

/**
 * The fields of a callback, from its query string and its body (form fields or JSON), by lower-case
 * name; or why the request is bad (400, 415).
 */
export function readFields(req: WebhookRequest, schema: FieldSchema): { ok: true; fields: Fields } | { ok: false; status: number; reason: string } {
  const fields: Fields = new Map();
  try {
    addSearchParams(fields, schema, req.query);
    readBody(fields, schema, req);
  } catch (err) {
    if (err instanceof BadRequest) return { ok: false, status: err.status, reason: err.message };
    throw err;
  }
  return { ok: true, fields };
}

/** The first of `names` that is present and not blank. */
export function first(fields: Fields, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = fields.get(name);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** An SmsSid as Exotel sends it: at most 128 characters, no control characters. */
export function isSmsSid(sid: string): boolean {
  return sid.length <= MAX_SID && !/[\u0000-\u001f]/.test(sid);
}

/**
 * Exotel sends ISO 8601 with an offset, or "YYYY-MM-DD HH:mm:ss" in Indian time, or epoch seconds.
 * Anything else, or nothing, is the time we received it.
 */
export function parseExotelDate(value: string | undefined, now = new Date()): string {
  if (!value) return now.toISOString();
  const text = value.trim();
  let date: Date;
  if (/^\d{10}(\.\d+)?$/.test(text)) date = new Date(Number(text) * 1000);
  else if (/^\d{13}$/.test(text)) date = new Date(Number(text));
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) date = new Date(text.replace(' ', 'T') + '+05:30');
  else date = new Date(text);
  return Number.isNaN(date.getTime()) ? now.toISOString() : date.toISOString();
}

/** Maps any of Exotel's three inbound shapes to an InboundSms, or says why the request is bad. */
export function parseInbound(req: WebhookRequest, defaultCountry = 'IN', now = new Date()): ParseResult {
  const read = readFields(req, INBOUND_FIELDS);
  if (!read.ok) return read;
  const { fields } = read;
  // Shape 1 and 3: SmsSid, From, To, Body, DateCreated|Date. Shape 2: Sender, ReceivedOn, MessageBody, ReceivedTime.
  const sid = first(fields, 'smssid', 'sid');
  if (!sid) return { ok: false, status: 400, reason: 'SmsSid is missing' };
  if (!isSmsSid(sid)) return { ok: false, status: 400, reason: 'SmsSid is not a valid identifier' };
  const rawFrom = first(fields, 'from', 'sender');
  if (!rawFrom) return { ok: false, status: 400, reason: 'the sender (From) is missing' };
  const from = toE164(rawFrom, defaultCountry, 'possible');
  if (!from) return { ok: false, status: 400, reason: 'the sender (From) is not a phone number' };
  const rawTo = first(fields, 'to', 'receivedon') ?? '';
  const to = toE164(rawTo, defaultCountry, 'possible') ?? rawTo.trim();
  return {
    ok: true,
    sms: {
      sid,
      from,
      to,
      body: fields.get('body') ?? fields.get('messagebody') ?? '',
      receivedAt: parseExotelDate(first(fields, 'datecreated', 'receivedtime', 'date'), now),
      accountSid: fields.get('accountsid') ?? '',
    },
  };
}
