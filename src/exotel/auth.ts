// Exotel does not sign callbacks: a secret token in the URL (or as the Basic password),
// an optional IP allow-list and the account's own SID are what keep strangers out.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { allowListEntries } from './allow-list';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

// The expected secret is the same on every request: hash it once.
let lastExpected: { text: string; digest: Buffer } | undefined;

/** Constant-time comparison of two secrets of any length. */
export function secretEquals(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  if (lastExpected?.text !== expected) lastExpected = { text: expected, digest: digest(expected) };
  return timingSafeEqual(lastExpected.digest, digest(given));
}

/** The password of an `Authorization: Basic …` header, if there is one. */
export function basicPassword(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** Whether a request carries the webhook token, as `?token=` or as the Basic password. */
export function hasWebhookToken(expected: string, queryToken: string | undefined, authorization: string | undefined): boolean {
  const fromBasic = basicPassword(authorization);
  return secretEquals(expected, queryToken) || secretEquals(expected, fromBasic);
}

export interface AllowList {
  allows(ip: string | undefined): boolean;
}

/**
 * Parses "52.74.0.0/16, 10.1.2.3, 2001:db8::/32" into an allow-list. Throws with the bad entry named.
 * An empty text allows everyone.
 */
export function parseAllowList(text: string | undefined): AllowList | null {
  const { entries, bad } = allowListEntries(text);
  if (bad !== null) throw new Error(`"${bad}" is not an IP address or CIDR range`);
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const entry of entries) list.addSubnet(entry.address, entry.prefix, entry.family);
  return {
    allows(ip) {
      if (!ip) return false;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
      const address = mapped ? mapped[1] : ip;
      if (isIPv4(address)) return list.check(address, 'ipv4');
      if (isIPv6(address)) return list.check(address, 'ipv6');
      return false;
    },
  };
}
