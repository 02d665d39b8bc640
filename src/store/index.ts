// One store per file (SQLite) or per database (PostgreSQL) for the whole runtime: every node that asks
// for the same one shares its connection or pool, which is closed when the last of them lets go.
import { PostgresStore, type PostgresStoreConfig } from './postgres';
import { IN_MEMORY, SqliteStore } from './sqlite';
import type { InboundRecord, OutboxEntry, ReportRecord, Store } from './store';

export type * from './store';
export { IN_MEMORY, SqliteStore } from './sqlite';
export { PostgresStore, SchemaTooNewError, StoreUnavailableError, isUnavailable, type PostgresStoreConfig } from './postgres';

/** The embedded default: one SQLite file (or `:memory:`). */
export interface SqliteStoreConfig {
  type: 'sqlite';
  path: string;
}

export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

export interface StoreHandle {
  store: Store;
  release(): Promise<void>;
}

const open = new Map<string, { store: Store; users: number }>();

function acquire(id: string, create: () => Store): StoreHandle {
  let entry = open.get(id);
  if (!entry) {
    entry = { store: create(), users: 0 };
    open.set(id, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    async release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && open.get(id) === held) {
        open.delete(id);
        await held.store.close();
      }
    },
  };
}

/** The SQLite store of a file, shared by everyone who asks for that file. */
export function acquireStore(file: string): StoreHandle {
  return acquire(`sqlite:${file}`, () => new SqliteStore(file));
}

/** The same settings name the same database: the key of a shared pool (its password included, never shown). */
function postgresId(config: PostgresStoreConfig): string {
  const entries = Object.entries(config).filter(([, value]) => value !== undefined && typeof value !== 'function');
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `postgres:${JSON.stringify(entries)}`;
}

/**
 * The store the settings ask for, shared by everyone who asks for the same one. A PostgreSQL store is
 * returned at once and connects and migrates on its first call (or `ready()`).
 */
export function acquireConfiguredStore(config: StoreConfig): StoreHandle {
  if (config.type === 'postgres') return acquire(postgresId(config), () => new PostgresStore(config));
  return acquireStore(config.path);
}

/**
 * Reads `exotelSms.store` of settings.js: `{ type: 'postgres', connectionString, …pg.Pool options }`
 * for PostgreSQL, or nothing (or `{ type: 'sqlite' }`) for the SQLite file `sqlitePath`.
 * Throws an error that says what is wrong with a setting it cannot use.
 */
export function storeConfigFromSettings(setting: unknown, sqlitePath: string): StoreConfig {
  if (setting === undefined || setting === null) return { type: 'sqlite', path: sqlitePath };
  if (typeof setting !== 'object' || Array.isArray(setting)) {
    throw new Error('exotelSms.store in settings.js must be an object such as { type: "postgres", connectionString: "postgres://…" }');
  }
  const { type } = setting as { type?: unknown };
  if (type === undefined || type === 'sqlite') {
    const configured = (setting as { path?: unknown }).path;
    if (configured !== undefined && typeof configured !== 'string') throw new Error('exotelSms.store.path in settings.js must be a file name');
    return { type: 'sqlite', path: (configured as string | undefined) ?? sqlitePath };
  }
  if (type !== 'postgres') throw new Error(`exotelSms.store.type in settings.js must be "postgres" or "sqlite", not ${JSON.stringify(type)}`);
  const { connectionString, schema } = setting as { connectionString?: unknown; schema?: unknown };
  if (connectionString !== undefined && typeof connectionString !== 'string') {
    throw new Error('exotelSms.store.connectionString in settings.js must be text such as "postgres://user:password@host:5432/database"');
  }
  if (schema !== undefined && (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))) {
    throw new Error('exotelSms.store.schema in settings.js must be a name of letters, digits and _');
  }
  const { leaseMs } = setting as { leaseMs?: unknown };
  if (leaseMs !== undefined && !(typeof leaseMs === 'number' && leaseMs >= 300 && leaseMs <= 30_000)) {
    throw new Error('exotelSms.store.leaseMs in settings.js must be a number of milliseconds between 300 and 30000');
  }
  return setting as PostgresStoreConfig;
}

/** What a store shared by several instances adds (PostgreSQL): the take-over of dead instances' work, and one rate limit. */
export interface ClusterStore {
  readonly leaseMs: number;
  // Each take-over claims with a `key` of the caller's: asked again with the same key (the answer to a
  // claim was lost after it committed), it answers the rows that claim took too, not only new ones.
  /** inbound SMS that dead instances acknowledged on this endpoint but did not finish: now this instance's */
  takeOverInbound(endpoint: string, key?: string): Promise<InboundRecord[]>;
  /** a send node's outbox entries that dead instances left queued or being sent: now this instance's */
  takeOverOutbox(nodeId: string, key?: string): Promise<OutboxEntry[]>;
  /** a send node's delivery reports that dead instances recorded but did not hand on: now this instance's */
  takeOverReports(nodeId: string, key?: string): Promise<ReportRecord[]>;
  takeRateSlot(account: string, perMinute: number, windowMs: number): Promise<{ slot: number } | { waitMs: number }>;
  /**
   * up to `wanted` slots at once; `waitMs`: when to ask for the rest. `attempt`: the call's key, the
   * same again after a call whose answer was lost (what that call took is given back first)
   */
  takeRateSlots(account: string, perMinute: number, windowMs: number, wanted: number, attempt?: string): Promise<{ slots: number[]; waitMs: number }>;
  endRateSlot(slot: number, sent: boolean): Promise<void>;
  /** resolves when it is this SMS's turn: earlier SMS of its number on its webhook are done (or held the hold), whichever instance has them */
  takeInboundTurn(record: Pick<InboundRecord, 'sid' | 'endpoint' | 'from'>, holdMs: number): Promise<void>;
  /** the flow is done with this SMS: the next of its number may go */
  finishInboundTurn(record: Pick<InboundRecord, 'sid' | 'endpoint' | 'from'>): void;
  /** stops waiting for this SMS's turn (its node closed) */
  dropInboundTurn(sid: string): void;
}

/** A webhook's side of the arrival order across instances: what exotel-inbound's controller is given. */
export interface InboundTurns {
  take(sms: { sid: string; from: string }): Promise<void>;
  finish(sms: { sid: string; from: string }): void;
  drop(sid: string): void;
}

/** The arrival order of one webhook's SMS across instances, each SMS held at most `holdMs` by the one before. */
export function inboundTurns(cluster: ClusterStore, endpoint: string, holdMs: number): InboundTurns {
  return {
    take: (sms) => cluster.takeInboundTurn({ sid: sms.sid, from: sms.from, endpoint }, holdMs),
    finish: (sms) => cluster.finishInboundTurn({ sid: sms.sid, from: sms.from, endpoint }),
    drop: (sid) => cluster.dropInboundTurn(sid),
  };
}

/** How often an instance looks for a dead one's work: a few times a lease, so it is taken over soon after the lease ran out. */
export function takeOverEveryMs(cluster: ClusterStore): number {
  return Math.max(100, Math.min(5_000, Math.floor(cluster.leaseMs / 3)));
}

/** The store's cluster side, or null when it serves one instance only (SQLite). */
export function clusterOf(store: object): ClusterStore | null {
  return 'takeOverInbound' in store && 'takeRateSlot' in store ? (store as unknown as ClusterStore) : null;
}
