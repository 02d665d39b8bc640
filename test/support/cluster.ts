// Several real Node-RED processes on one PostgreSQL database: the same flow (an example switched to
// live against a mock Exotel), each process its own user directory and port, as replicas behind a
// load balancer would be. Shared by the cluster specs and the cluster drill.
import { Client } from 'pg';
import { NodeRedChild } from './node-red-launcher';
import { createTestDatabase, type TestDatabase } from '../store/pg-database';
import { liveExample } from './drills';

export const HOOK = '/exotel/sms';
export const EXAMPLE = '06 - All scenarios on one number.json';

export interface ClusterOptions {
  mockUrl: string;
  instances: number;
  token: string;
  accountSid: string;
  rateLimit: number;
  /** the store's lease (how soon a dead instance's work is taken over) */
  leaseMs: number;
  /** more of `exotelSms` */
  exotelSms?: Record<string, unknown>;
  label: string;
  /** connect through this port (a test proxy in front of PostgreSQL) instead of PostgreSQL's own */
  port?: number;
  /** this database (on a server of the test's own) instead of a new one on the shared server */
  database?: TestDatabase;
}

export class TestCluster {
  static async start(options: ClusterOptions): Promise<TestCluster> {
    const db = options.database ?? (await createTestDatabase());
    const { flow, credentials } = liveExample(EXAMPLE, {
      mockUrl: options.mockUrl, accountSid: options.accountSid, rateLimit: options.rateLimit,
      credentials: { apiKey: 'cluster-key-1a2b', apiToken: 'cluster-token-3c4d', webhookToken: options.token },
    });
    const store = { type: 'postgres', connectionString: db.url(options.port), leaseMs: options.leaseMs, connectionTimeoutMillis: 1_000 };
    const reds: NodeRedChild[] = [];
    for (let i = 0; i < options.instances; i++) {
      reds.push(await NodeRedChild.create({ flows: flow, credentials, exotelSms: { store, codeSecret: 'cluster-test-code-secret', retryBaseDelayMs: 50, ...options.exotelSms }, label: `${options.label}-${i}` }));
    }
    // both at once: the schema is migrated once, whichever comes first
    await Promise.all(reds.map((red) => red.start()));
    return new TestCluster(db, reds);
  }

  private constructor(
    readonly db: TestDatabase,
    readonly reds: NodeRedChild[],
  ) {}

  /** Runs `fn` on a client of the cluster's database (the package's schema). */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client: Client = await this.db.client('exotel_sms');
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  async stop(keep = !!process.env.DRILL_KEEP): Promise<void> {
    for (const red of this.reds) {
      await red.stop().catch(() => undefined);
      if (!keep) red.remove();
    }
    await this.db.drop();
  }
}
