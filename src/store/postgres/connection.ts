// The shared part of the PostgreSQL store: the pool, the errors that mean "the database cannot be
// reached" (code `store_unavailable`, so that a webhook answers 503 and Exotel tries again), the
// transactions, and the migrations, run once however many instances start together.
import { Client, Pool, types as pgTypes, type PoolClient, type PoolConfig, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { PG_MIGRATIONS } from './migrations';

/** `exotelSms.store` in settings.js for PostgreSQL: pg.Pool's options, plus the schema to keep the tables in. */
export interface PostgresStoreConfig extends PoolConfig {
  type: 'postgres';
  /** the PostgreSQL schema (namespace) of the package's tables; default `exotel_sms` */
  schema?: string;
  /** how long a dead instance's unfinished work waits before another takes it over (ms, default 15000, at most 30000) */
  leaseMs?: number;
}

export const DEFAULT_SCHEMA = 'exotel_sms';

/** Held while migrating: a second instance starting at the same time waits, then finds nothing to do. */
const MIGRATION_LOCK = 0x45_78_6f_74_65_6c; // "Exotel"

/** The two-key advisory locks of the store (their key space is apart from the one-key migration lock). */
export const LOCK_CONVERSATION = 1;
export const LOCK_REPLAY = 2;
export const LOCK_PHONE = 3;
/** an account's rate slots, taken by the rate_take function (migration 16), which names it as 4 */
export const LOCK_RATE = 4;
/** held by every opt-out change from its notification to its commit: the changes' numbers are in commit order */
export const LOCK_OPT_OUT_CHANGE = 6;

export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
  constructor(cause: unknown) {
    super(`the database cannot be reached (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export class SchemaTooNewError extends Error {
  readonly code = 'store_schema_too_new';
  constructor(found: number, known: number) {
    super(`the store was written by a newer release (schema ${found}, this release knows ${known})`);
    this.name = 'SchemaTooNewError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);
// SQLSTATE: admin or crash shutdown, starting up, too many connections, out of resources
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53000']);
const NETWORK_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection timeout|Query read timeout|Client has encountered a connection error|not queryable/i;

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // class 08 is a lost connection, but for 08P01: a protocol violation (a statement given the wrong number of
  // parameters) is a bug, which waiting for the database would retry for ever
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || (code.startsWith('08') && code !== '08P01'))) return true;
  return NETWORK_MESSAGES.test(err.message);
}

function mapped(err: unknown): unknown {
  return isUnavailable(err) && !(err instanceof StoreUnavailableError) ? new StoreUnavailableError(err) : err;
}

/** bigint columns (times in ms, ids, counts) as numbers: all of them stay far below 2^53. */
const INT8 = 20;
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pgTypes.getTypeParser(oid, format ?? 'text')) as typeof pgTypes.getTypeParser,
};

function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`the store's schema name "${name}" must be letters, digits and _`);
  return `"${name}"`;
}

export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export class PostgresDatabase implements Queryable {
  readonly pool: Pool;
  readonly schema: string;
  private migrated: Promise<number> | undefined;

  constructor(config: PostgresStoreConfig) {
    const { type: _type, schema = DEFAULT_SCHEMA, options, leaseMs: _leaseMs, ...poolOptions } = config;
    this.schema = schema;
    const searchPath = `-c search_path=${quoteIdentifier(schema)}`;
    this.pool = new Pool({
      // Without these, a database that does not answer (or a connection a network fault left hanging)
      // keeps every call waiting for ever; a connection whose query timed out is dropped, not reused.
      connectionTimeoutMillis: 5000,
      query_timeout: 30_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'node-red-exotel',
      // a reply takes about a dozen short statements: more than pg's 10 connections keep a busy instance's
      // statements from queuing for a connection (two instances: 40 of PostgreSQL's default 100)
      max: 20,
      ...poolOptions,
      options: options ? `${options} ${searchPath}` : searchPath,
      types: typeParsers,
    });
    // An idle connection lost (the server restarted): the pool drops it and connects afresh when asked.
    this.pool.on('error', () => undefined);
  }

  /** A connection of its own, outside the pool, with the pool's settings (a listener: LISTEN holds its connection). */
  client(): Client {
    const { options } = this.pool as unknown as { options: PoolConfig };
    // the pool keeps the password out of sight (not enumerable); the name tells it apart in pg_stat_activity
    return new Client({ ...options, password: options.password, application_name: `${options.application_name ?? 'node-red-exotel'}-listener` });
  }

  /** Migrates once; after the database was unreachable, the next call tries again. */
  ready(): Promise<number> {
    if (!this.migrated) {
      const attempt = this.migrate().catch((err: unknown) => {
        if (isUnavailable(err) && this.migrated === attempt) this.migrated = undefined;
        throw mapped(err);
      });
      this.migrated = attempt;
    }
    return this.migrated;
  }

  /** One statement on any pooled connection; a `QueryConfig` with a `name` is prepared once a connection. */
  async query<R extends QueryResultRow = QueryResultRow>(sql: string | QueryConfig, params?: unknown[]): Promise<QueryResult<R>> {
    await this.ready();
    try {
      return await (typeof sql === 'string' ? this.pool.query<R>(sql, params) : this.pool.query<R>(sql));
    } catch (err) {
      throw mapped(err);
    }
  }

  /** Runs `fn` in one transaction on one connection: committed when the promise resolves. */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    await this.ready();
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapped(err);
    }
    let broken: Error | undefined;
    // A connection lost while checked out emits 'error' (the pool listens only while it is idle): without
    // a listener that would end the whole Node-RED process; the query under way fails with it instead.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      if (isUnavailable(err)) broken = err as Error; // never hand a dead connection back to the pool
      throw mapped(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private migrate(): Promise<number> {
    return this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
        if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(this.schema)}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version');
        const current = rows[0]?.version ?? 0;
        if (current > PG_MIGRATIONS.length) throw new SchemaTooNewError(current, PG_MIGRATIONS.length);
        for (let version = current; version < PG_MIGRATIONS.length; version++) {
          await client.query('BEGIN');
          try {
            await client.query(PG_MIGRATIONS[version]);
            await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version + 1]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        }
        return PG_MIGRATIONS.length;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      }
    });
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version');
    return rows[0]?.version ?? 0;
  }

  async close(): Promise<void> {
    await this.migrated?.catch(() => undefined);
    await this.pool.end();
  }
}

/** PostgreSQL's text cannot hold NUL: a NUL in what a customer sent becomes U+FFFD instead of failing the write. */
export function storable(text: string): string {
  return text.includes('\u0000') ? text.replace(/\u0000/g, '\uFFFD') : text;
}

/** The parameters of a query built from the filters a caller chose: `add` a value, get its `$n`. */
export function queryParameters(first: unknown[] = []): { values: unknown[]; add(value: unknown): string } {
  const values = [...first];
  return {
    values,
    add(value) {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
