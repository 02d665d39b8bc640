// One-time codes for "reply with the code": drawn from a cryptographic source, kept only as a
// salted HMAC-SHA-256 keyed with a secret kept outside the store (whoever reads the store alone
// cannot try the million 6-digit codes against it), compared in constant time.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { normaliseReply } from './keywords';

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 4 || length > 10) throw new Error('a code has 4 to 10 digits');
}

export function generateCode(length = 6): string {
  checkLength(length);
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

/**
 * The code a start caused by an inbound SMS gives: digits of an HMAC under the code secret of what
 * names that start (conversation, customer, SmsSid), so that the same SMS handed on again (after a
 * crash, or a database answer lost after it committed) gives the same code, and the SMS that carries
 * it, sent once whichever run sends it, holds the code the store can verify. Nobody without the secret
 * can tell it from a random code.
 */
export function codeFor(key: Buffer, parts: readonly string[], length = 6): string {
  checkLength(length);
  const digest = createHmac('sha256', key).update(`one-time code\u0000${parts.join('\u0000')}`).digest();
  return (digest.readBigUInt64BE(0) % 10n ** BigInt(length)).toString().padStart(length, '0');
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** Hashes of this form are keyed (HMAC-SHA-256); older ones are a salted SHA-256, still checked. */
const KEYED = 'k1:';

/** The code's hash: keyed with `key` (the code secret), or the unkeyed form of earlier releases without one. */
export function hashCode(code: string, salt: string, key?: Buffer): string {
  if (key) return KEYED + createHmac('sha256', key).update(salt).update('\u0000').update(code).digest('hex');
  return createHash('sha256').update(salt).update('\u0000').update(code).digest('hex');
}

/** What a customer typed, as a code: Indian-script and full-width digits folded, spaces and dashes dropped. */
export function codeFromReply(reply: unknown): string {
  if (typeof reply === 'number') return String(reply);
  if (typeof reply !== 'string') return '';
  return normaliseReply(reply).replace(/[\s\-.]/g, '');
}

/**
 * Constant-time comparison of a reply with a stored hash. A keyed hash needs the key it was made
 * with: without it, or with another, no reply matches (the code counts as wrong, never as right).
 */
export function codeMatches(reply: unknown, hash: string, salt: string, key?: Buffer): boolean {
  const keyed = hash.startsWith(KEYED);
  // Stryker disable next-line ConditionalExpression: equivalent; without it the unkeyed hash is compared with the keyed one and never equals it
  if (keyed && !key) return false;
  const given = Buffer.from(hashCode(codeFromReply(reply), salt, keyed ? key : undefined).replace(KEYED, ''), 'hex');
  const expected = Buffer.from(hash.replace(KEYED, ''), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** What stands for a code in any text the store keeps. */
export const CODE_MASK = '••••';

/** The text with every occurrence of the code masked. */
export function maskCode(text: string, code: string): string {
  return code ? text.split(code).join(CODE_MASK) : text;
}

/** Encrypts a text that holds a code (AES-256-GCM under the code secret), for the outbox to keep until sent. */
export function sealText(text: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', createHash('sha256').update('seal').update(key).digest(), iv);
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64')).join('.');
}

/** The text sealText() sealed, or null when it cannot be read with this key. */
export function openText(sealed: string, key: Buffer | undefined): string | null {
  // Stryker disable next-line ConditionalExpression: equivalent; without a key createHash().update(undefined) throws, and the catch answers null
  if (!key) return null;
  try {
    const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64'));
    const decipher = createDecipheriv('aes-256-gcm', createHash('sha256').update('seal').update(key).digest(), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
