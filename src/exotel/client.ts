// Exotel's SMS API over undici: one keep-alive pool per account, timeouts, errors classified
// so that the retry policy knows what may be tried again.
import { Pool, request, type Dispatcher } from 'undici';
import { SendError } from './errors';
import type { Encoding } from '../sms/encoding';

export interface ClientOptions {
  accountSid: string;
  apiKey: string;
  apiToken: string;
  apiBaseUrl: string;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** requests at a time (default 8): the keep-alive connections of the pool */
  connections?: number;
  /** for tests: undici's MockAgent, or any dispatcher */
  dispatcher?: Dispatcher;
}

export interface SendRequest {
  from: string;
  to: string;
  body: string;
  encoding: Encoding;
  dltEntityId?: string;
  dltTemplateId?: string;
  smsType?: string;
  priority?: string;
  statusCallback?: string;
  customField?: string;
}

export interface SendResult {
  sid: string;
  status: string;
  detailedStatus: string;
  detailedStatusCode: number | string | null;
  segments: number;
  encoding: Encoding;
}

/** What sends an SMS for an account: Exotel's API, or the sandbox. */
export interface SmsGateway {
  /**
   * One attempt: no retry, no pacing (see withRetry and RateLimiter). `onDispatch` is called when the
   * request is about to leave (it has a connection of its own), the moment from which Exotel may get it.
   */
  send(sms: SendRequest, onDispatch?: () => void | Promise<void>): Promise<SendResult>;
  close(): Promise<void>;
}

/** Splits an API base URL into its origin and path prefix, dropping any user:password in it. */
export function parseBaseUrl(apiBaseUrl: string): { origin: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(apiBaseUrl);
  } catch {
    throw new Error('the API base URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('the API base URL must start with https:// or http://');
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Failures before the request left: Exotel cannot have seen it. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A request that timed out or lost its connection is tried again (as Exotel's 5xx are), although
 * Exotel may have sent it: `maybeSent` says so, and the final error carries it.
 */
function classifyThrown(err: unknown): SendError {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || e.name === 'TimeoutError') {
    return new SendError({ code: 'timeout', message: 'Exotel did not answer in time', retryable: true, maybeSent: true });
  }
  if (code && NOT_SENT_CODES.has(code)) {
    return new SendError({ code: 'network_error', message: `could not reach Exotel (${code})`, retryable: true });
  }
  return new SendError({ code: 'network_error', message: `the connection to Exotel failed (${code ?? e.message ?? String(err)})`, retryable: true, maybeSent: true });
}

interface RestException {
  Status?: number;
  Code?: number | string;
  Message?: string;
}

function classifyStatus(status: number, body: unknown, retryAfterMs: number | undefined): SendError {
  const rest = (body as { RestException?: RestException } | undefined)?.RestException;
  const message = rest?.Message ? `Exotel: ${rest.Message}` : `Exotel answered HTTP ${status}`;
  if (status === 429) return new SendError({ code: rest?.Code ?? 'rate_limited', message, retryable: true, httpStatus: status, retryAfterMs });
  if (status === 503) return new SendError({ code: rest?.Code ?? 'unavailable', message, retryable: true, httpStatus: status, retryAfterMs });
  if (status >= 500) return new SendError({ code: rest?.Code ?? 'server_error', message, retryable: true, httpStatus: status, retryAfterMs });
  if (status === 401 || status === 403) {
    return new SendError({ code: rest?.Code ?? 'unauthorized', message: `${message} (check the account SID, API key and token)`, retryable: false, httpStatus: status });
  }
  return new SendError({ code: rest?.Code ?? `http_${status}`, message, retryable: false, httpStatus: status });
}

export const DEFAULT_CONNECTIONS = 8;

export class ExotelClient implements SmsGateway {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly sendPath: string;
  private readonly authorization: string;
  private readonly responseTimeoutMs: number;
  private readonly connections: number;

  constructor(private readonly options: ClientOptions) {
    const { origin, prefix } = parseBaseUrl(options.apiBaseUrl);
    this.origin = origin;
    this.sendPath = `${prefix}/v1/Accounts/${encodeURIComponent(options.accountSid)}/Sms/send.json`;
    this.authorization = 'Basic ' + Buffer.from(`${options.apiKey}:${options.apiToken}`).toString('base64');
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.connections = Math.max(1, Math.floor(options.connections ?? DEFAULT_CONNECTIONS));
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Pool(origin, {
        connections: this.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs ?? 5_000 },
        headersTimeout: this.responseTimeoutMs,
        bodyTimeout: this.responseTimeoutMs,
      });
  }

  // At most one request per pooled connection: a request never waits inside undici for a connection,
  // so that "in flight" means "on the wire" (see onDispatch) and the timeout is Exotel's alone.
  private active = 0;
  private readonly slots: Array<() => void> = [];

  private async slot(): Promise<() => void> {
    if (this.active >= this.connections) await new Promise<void>((resolve) => this.slots.push(resolve));
    this.active++;
    return () => {
      this.active--;
      this.slots.shift()?.();
    };
  }

  async send(sms: SendRequest, onDispatch?: () => void | Promise<void>): Promise<SendResult> {
    const release = await this.slot();
    try {
      await onDispatch?.();
      return await this.post(sms);
    } finally {
      release();
    }
  }

  private async post(sms: SendRequest): Promise<SendResult> {
    const form = new URLSearchParams({ From: sms.from, To: sms.to, Body: sms.body, EncodingType: sms.encoding });
    if (sms.dltEntityId) form.set('DltEntityId', sms.dltEntityId);
    if (sms.dltTemplateId) form.set('DltTemplateId', sms.dltTemplateId);
    if (sms.smsType) form.set('SmsType', sms.smsType);
    if (sms.priority) form.set('Priority', sms.priority);
    if (sms.statusCallback) form.set('StatusCallback', sms.statusCallback);
    if (sms.customField) form.set('CustomField', sms.customField);

    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.origin + this.sendPath, {
        dispatcher: this.dispatcher,
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        // Counted from when the request is on a connection, not while it waits for one of the pool.
        headersTimeout: this.responseTimeoutMs,
        bodyTimeout: this.responseTimeoutMs,
      });
    } catch (err) {
      throw classifyThrown(err);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw classifyThrown(err);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw classifyStatus(response.statusCode, json, parseRetryAfter(response.headers['retry-after']));
    }
    const message = (json as { SMSMessage?: Record<string, unknown> } | undefined)?.SMSMessage;
    if (!message || typeof message.Sid !== 'string') {
      // The SMS may have gone out: never retry this one, or the customer gets it twice.
      throw new SendError({ code: 'bad_response', message: 'Exotel accepted the request but its answer had no SMS id', retryable: false, httpStatus: response.statusCode });
    }
    const units = Number(message.SmsUnits);
    return {
      sid: message.Sid,
      status: String(message.Status ?? 'queued'),
      detailedStatus: String(message.DetailedStatus ?? ''),
      detailedStatusCode: (message.DetailedStatusCode as number | string | undefined) ?? null,
      segments: Number.isFinite(units) && units > 0 ? units : 0,
      encoding: sms.encoding,
    };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
