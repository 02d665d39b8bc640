// The package's settings from settings.js (`exotelSms: { … }`) and the store they point at.
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { acquireConfiguredStore, IN_MEMORY, storeConfigFromSettings, type StoreHandle } from '../../store';
import { codeKeyFromFile, codeKeyFromSecret, processCodeKey } from '../../store/code-key';

/** `exotelSms: { … }` in settings.js */
export interface PackageSettings {
  /** `{ type: 'postgres', connectionString, …pg.Pool options }` for several instances on one database; default the SQLite file */
  store?: unknown;
  /** the store file; default `<userDir>/exotel-sms.db`; `:memory:` keeps nothing across restarts */
  storePath?: string;
  /** an inbound SMS handed to the flow less than this before a stop or crash is handed on again at the next start (default 10000 ms) */
  replayWindowMs?: number;
  /** how long Exotel's API may take to answer before the attempt counts as timed out (default 10000 ms) */
  apiTimeoutMs?: number;
  /** first wait before a retried send, doubled each attempt (default 1000 ms) */
  retryBaseDelayMs?: number;
  /** how long a customer's next reply waits for the flow to act on the previous one (default 2000 ms) */
  conversationHoldMs?: number;
  /** how often conversation timeouts are looked for (default 1000 ms) */
  conversationTimerMs?: number;
  /** days the SMS logs (every SMS received; every SMS sent, with its delivery reports), failed sends and send claims are kept before they are deleted (default 180); the opt-out history is never deleted */
  retentionDays?: number;
  /** how long a send that was on the wire when Node-RED died waits for its delivery report before it is sent again (default 900000 ms, 15 minutes) */
  reconcileAfterMs?: number;
  /** the secret one-time codes are keyed with; default: a key file beside the store. The same on every instance sharing a PostgreSQL store */
  codeSecret?: string;
}

export const DEFAULT_RETENTION_DAYS = 180;
export const CODE_KEY_FILE = 'exotel-sms-codes.key';
const warnedNoSharedSecret = new WeakSet<object>();

/** How long the send log, finished outbox entries and send claims are kept, in ms (the inbound log too). */
export function retentionMs(RED: NodeAPI): number {
  const days = Number(packageSettings(RED).retentionDays);
  return (Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS) * 86_400_000;
}

/** How long a send on the wire at a crash waits for its delivery report; a positive number, else the default. */
export function reconcileAfterMs(RED: NodeAPI, fallback: number): number {
  const ms = Number(packageSettings(RED).reconcileAfterMs);
  return Number.isFinite(ms) && ms > 0 ? ms : fallback;
}

/**
 * The key of one-time codes, outside the database: `exotelSms.codeSecret`, else a key file beside the
 * store file (made 0600 on first use), else (a store in memory) one for this process. A key file that
 * cannot be made is reported, and this process's key is used: codes made now do not survive a restart.
 */
export function codeKey(RED: NodeAPI): Buffer {
  const { codeSecret } = packageSettings(RED);
  if (typeof codeSecret === 'string' && codeSecret) return codeKeyFromSecret(codeSecret);
  if (sharedStoreConfigured(RED) && !warnedNoSharedSecret.has(RED)) {
    warnedNoSharedSecret.add(RED);
    RED.log.warn('exotel-sms: several instances share a PostgreSQL store but exotelSms.codeSecret is not set: each instance keys one-time codes with its own key file, so a code sent by one instance does not verify on another. Set the same codeSecret on every instance.');
  }
  const file = storePath(RED);
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  const dir = file !== IN_MEMORY ? path.dirname(file) : userDir;
  if (!dir) return processCodeKey;
  try {
    return codeKeyFromFile(path.join(dir, CODE_KEY_FILE));
  } catch (err) {
    RED.log.warn(`exotel-sms: the one-time-code key file could not be made or read (${(err as Error).message}); codes made now will not verify after a restart`);
    return processCodeKey;
  }
}

export function packageSettings(RED: NodeAPI): PackageSettings {
  return ((RED.settings as unknown as Record<string, unknown>).exotelSms as PackageSettings | undefined) ?? {};
}

export function storePath(RED: NodeAPI): string {
  const configured = packageSettings(RED).storePath;
  if (configured) return configured === IN_MEMORY ? configured : path.resolve(configured);
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  return userDir ? path.join(userDir, 'exotel-sms.db') : IN_MEMORY;
}

/** The store `exotelSms.store` names (PostgreSQL), or the SQLite file; throws saying what is wrong with the setting. */
export function openStore(RED: NodeAPI): StoreHandle {
  return acquireConfiguredStore(storeConfigFromSettings(packageSettings(RED).store, storePath(RED)));
}

/** Whether settings.js names a database several instances share (PostgreSQL). */
export function sharedStoreConfigured(RED: NodeAPI): boolean {
  const store = packageSettings(RED).store as { type?: unknown } | undefined;
  // Stryker disable next-line ConditionalExpression: equivalent; a setting that is text or a number has no type either
  return !!store && typeof store === 'object' && store.type === 'postgres';
}
