// The callback URL to paste into Exotel: the SMS in node's dialog asks the runtime for it, because
// the webhook token in it is a password credential the editor is never sent.
import { normalisePath } from '../exotel-inbound/contract';

export interface CallbackUrlRequest {
  /** the address the editor was opened on (window.location.origin), when it sends one */
  origin?: unknown;
  /** the request's own origin, used when the editor sends none or a bad one */
  requestOrigin: string;
  /** settings.httpNodeRoot: false switches HTTP nodes off */
  httpNodeRoot: unknown;
  path: unknown;
  /** `?token=…`, or '' */
  query: string;
}

export type CallbackUrl = { ok: true; url: string } | { ok: false; status: 400 | 409; error: string };

function originOf(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 300) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

export function callbackUrl(request: CallbackUrlRequest): CallbackUrl {
  if (request.httpNodeRoot === false) return { ok: false, status: 409, error: 'HTTP endpoints are switched off (httpNodeRoot is false in settings.js)' };
  const path = normalisePath(request.path);
  if (!path) return { ok: false, status: 400, error: 'the path must be a plain path starting with /, such as /exotel/sms' };
  // Stryker disable next-line StringLiteral: equivalent; '/' loses its slash below, leaving ''
  const root = (typeof request.httpNodeRoot === 'string' ? request.httpNodeRoot : '/').replace(/\/+$/, '');
  const origin = originOf(request.origin) ?? request.requestOrigin;
  return { ok: true, url: `${origin}${root}${path}${request.query}` };
}
