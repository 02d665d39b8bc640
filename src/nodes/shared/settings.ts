// The package's settings from settings.js (`exotelSms: { … }`) and the store they point at.
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { acquireConfiguredStore, IN_MEMORY, storeConfigFromSettings, type StoreHandle } from '../../store';

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
  return !!store && typeof store === 'object' && store.type === 'postgres';
}
