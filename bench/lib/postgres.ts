// A PostgreSQL database of the benchmark's own (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 as the
// tests use), created for a benchmark and dropped after it.
import { Client } from 'pg';

const PG_HOST = process.env.PGHOST || '127.0.0.1';
const PG_PORT = Number(process.env.PGPORT || 5432);

export async function adminClient(): Promise<{ client: Client; user: string }> {
  let last: unknown;
  for (const user of [...new Set([process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u))]) {
    for (const database of ['test', 'postgres']) {
      const client = new Client({ host: PG_HOST, port: PG_PORT, user, database, connectionTimeoutMillis: 5000 });
      try {
        await client.connect();
        return { client, user };
      } catch (err) {
        last = err;
      }
    }
  }
  throw new Error(`no PostgreSQL at ${PG_HOST}:${PG_PORT} (${(last as Error)?.message}): run scripts/ensure-postgres.sh`);
}

export interface BenchDatabase {
  url: string;
  /** rows of a query in the package's schema */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

let made = 0;

export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const { client: admin, user } = await adminClient();
  const name = `exotel_sms_bench_${label}_${process.pid}_${++made}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = `postgres://${encodeURIComponent(user)}@${PG_HOST}:${PG_PORT}/${name}`;
  let reader: Client | undefined;
  return {
    url,
    async query<T>(sql: string, params: unknown[] = []) {
      if (!reader) {
        reader = new Client({ connectionString: url, options: '-c search_path=exotel_sms' });
        await reader.connect();
      }
      return (await reader.query(sql, params)).rows as T[];
    },
    async drop() {
      await reader?.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}
