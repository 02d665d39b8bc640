// One-time codes for "reply with the code": drawn from a cryptographic source, kept only as a
// salted hash, compared in constant time.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { normaliseReply } from './keywords';

export function generateCode(length = 6): string {
  if (!Number.isInteger(length) || length < 4 || length > 10) throw new Error('a code has 4 to 10 digits');
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

export function hashCode(code: string, salt: string): string {
  return createHash('sha256').update(salt).update('\u0000').update(code).digest('hex');
}

/** What a customer typed, as a code: Indian-script and full-width digits folded, spaces and dashes dropped. */
export function codeFromReply(reply: unknown): string {
  if (typeof reply === 'number') return String(reply);
  if (typeof reply !== 'string') return '';
  return normaliseReply(reply).replace(/[\s\-.]/g, '');
}

/** Constant-time comparison of a reply with a stored hash. */
export function codeMatches(reply: unknown, hash: string, salt: string): boolean {
  const given = Buffer.from(hashCode(codeFromReply(reply), salt), 'hex');
  const expected = Buffer.from(hash, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
