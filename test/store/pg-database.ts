// A database of its own for each test run on the PostgreSQL the tests talk to (127.0.0.1:5432, or
// PGHOST/PGPORT/PGUSER), dropped after; and a TCP proxy in front of it that a test can cut and restore,
// as a database restart or a network fault would.
import net from 'node:net';
import { Client, type ClientConfig } from 'pg';
import { PostgresStore } from '../../src/store';

export const PG_HOST = process.env.PGHOST || '127.0.0.1';
export const PG_PORT = Number(process.env.PGPORT || 5432);

async function connect(config: ClientConfig): Promise<Client> {
  const client = new Client({ host: PG_HOST, port: PG_PORT, connectionTimeoutMillis: 5000, ...config });
  await client.connect();
  return client;
}

/** Connects as the first user and to the first database that let us in. */
async function adminClient(): Promise<{ client: Client; user: string }> {
  const users = [...new Set([process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u))];
  const databases = [...new Set([process.env.PGDATABASE, 'test', 'postgres'].filter((d): d is string => !!d))];
  let last: unknown;
  for (const user of users) {
    for (const database of databases) {
      try {
        return { client: await connect({ user, database }), user };
      } catch (err) {
        last = err;
      }
    }
  }
  throw new Error(
    `no PostgreSQL at ${PG_HOST}:${PG_PORT} lets the tests in (${last instanceof Error ? last.message : String(last)}); run scripts/ensure-postgres.sh first`,
  );
}

export interface TestDatabase {
  name: string;
  user: string;
  url(port?: number): string;
  /** a client on the test database, in one schema */
  client(schema: string): Promise<Client>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { client: admin, user } = await adminClient();
  const name = `exotel_sms_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    name,
    user,
    url: (port = PG_PORT) => `postgres://${encodeURIComponent(user)}@${PG_HOST}:${port}/${name}`,
    client: (schema) => connect({ user, database: name, options: `-c search_path=${schema}` }),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Forwards a local port to PostgreSQL; `cut()` drops every connection and refuses new ones until `restore()`. */
export class Proxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;
  port = 0;

  async start(): Promise<this> {
    const server = net.createServer((socket) => {
      if (this.frozen) {
        this.hold(socket);
        return;
      }
      const upstream = net.connect(PG_PORT, PG_HOST);
      for (const each of [socket, upstream]) {
        this.sockets.add(each);
        each.on('close', () => this.sockets.delete(each));
        each.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this;
  }

  /**
   * Stops forwarding, keeping every connection open, and takes new ones without forwarding them
   * either: a network fault that nobody reports. `thaw()` forwards new connections again.
   */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  thaw(): void {
    this.frozen = false;
  }

  private hold(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pause();
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  restore(): Promise<this> {
    return this.start();
  }
}

/** A port where something accepts connections and never says a word (a firewall that drops packets behaves alike). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Several instances on one database, for a describe block: each test gets a database of its own;
 * `open()` starts one more store on it (an instance, with a short lease), and all are closed after
 * the test. `database()` is the current test's database.
 */
export function instancesOnOneDatabase(): { open(leaseMs?: number): Promise<PostgresStore>; database(): TestDatabase } {
  let db: TestDatabase;
  const stores: PostgresStore[] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await db.drop();
  });
  return {
    async open(leaseMs = 600) {
      const store = new PostgresStore({ type: 'postgres', connectionString: db.url(), leaseMs });
      await store.ready();
      stores.push(store);
      return store;
    },
    database: () => db,
  };
}
