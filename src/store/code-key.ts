// The secret that keys one-time-code hashes and seals a code's text in the outbox. It is kept
// outside the database, so that a copy of the store alone (a backup, a stolen file, a read-only SQL
// user) gives no code away. Either a secret from settings.js (the same on every instance sharing
// a PostgreSQL store), or a random key in a file beside the store, readable by its owner only.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_MODE = 0o600;
const loaded = new Map<string, Buffer>();

/** A 32-byte key from a secret written in settings (`exotelSms.codeSecret`). */
export function codeKeyFromSecret(secret: string): Buffer {
  return createHash('sha256').update('exotel-sms one-time codes\u0000').update(secret).digest();
}

/**
 * The key kept in `file`, made (32 random bytes, mode 0600) when there is none yet. A file that
 * another process made at the same moment is read, not overwritten; one in the wrong form is an error
 * rather than silently replaced (codes made with it would stop verifying).
 */
export function codeKeyFromFile(file: string): Buffer {
  const known = loaded.get(file);
  if (known) return known;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: KEY_MODE, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${file} is not a key this package made (64 hexadecimal digits)`);
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, KEY_MODE);
  const key = Buffer.from(text, 'hex');
  loaded.set(file, key);
  return key;
}

/** For a store that keeps nothing across restarts: a key for this process only. */
export const processCodeKey = randomBytes(32);
