// A PostgreSQL server of a drill's own (initdb in a temporary directory, its own port and socket), so
// that the drill can restart it, as an operator or a crash would, without touching the server the other
// tests share. The binaries are the highest version under /usr/lib/postgresql (EXOTEL_PG_BIN
// overrides); as root they run as the `postgres` system user, since initdb refuses to run as root.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { TestDatabase } from '../store/pg-database';
import { freePort } from './wait';

const run = promisify(execFile);

/** `pg_ctl -m`: fast terminates every backend (57P01) and checkpoints; immediate is a crash (recovery at start). */
export type RestartMode = 'fast' | 'immediate';

/** The directory of initdb and pg_ctl: EXOTEL_PG_BIN, or the highest version under /usr/lib/postgresql. */
export function postgresBin(): string {
  if (process.env.EXOTEL_PG_BIN) return process.env.EXOTEL_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (versions.length === 0) throw new Error(`no PostgreSQL binaries under ${root}: run EXOTEL_PG_BINARIES=1 bash scripts/ensure-postgres.sh (npm run test:drills does), or set EXOTEL_PG_BIN`);
  return path.join(root, versions[versions.length - 1], 'bin');
}

export class OwnPostgres {
  /** the superuser initdb creates (trust authentication, local connections only) */
  readonly user = 'exotel_drill';
  readonly host = '127.0.0.1';
  private readonly dataDir: string;
  private readonly logFile: string;
  private running = false;

  private constructor(
    private readonly root: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asPostgres: boolean,
  ) {
    this.dataDir = path.join(root, 'data');
    this.logFile = path.join(root, 'server.log');
  }

  /** initdb, then starts the server on a free port; the directory is removed by `cleanup()`. */
  static async start(): Promise<OwnPostgres> {
    const bin = postgresBin();
    const asPostgres = process.getuid?.() === 0;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-pg-'));
    const server = new OwnPostgres(root, await freePort(), bin, asPostgres);
    try {
      if (asPostgres) {
        const { stdout } = await run('id', ['-u', 'postgres']);
        const { stdout: gid } = await run('id', ['-g', 'postgres']);
        fs.chownSync(root, Number(stdout.trim()), Number(gid.trim()));
      }
      await server.pg('initdb', ['-D', server.dataDir, '-A', 'trust', '-U', server.user, '--no-sync', '-E', 'UTF8', '--locale=C']);
      await server.ctl(['start']);
      return server;
    } catch (err) {
      await server.cleanup();
      throw err;
    }
  }

  /** Runs one of the binaries, as `postgres` when we are root; rejects with its output. */
  private async pg(program: string, args: string[]): Promise<string> {
    const file = path.join(this.bin, program);
    const [command, argv] = this.asPostgres ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    try {
      const { stdout } = await run(command, argv, { cwd: this.root, timeout: 60_000 });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${this.logTail()}`);
    }
  }

  private async ctl(action: string[]): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=${this.host} -k ${this.root}`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '60', ...action]);
    this.running = action[0] !== 'stop';
  }

  /**
   * `pg_ctl restart -m <mode>`: every connection is ended (fast: 57P01, immediate: a crash), the server
   * refuses new ones until it has started again; resolves once it accepts them. Resolves with how long it took.
   */
  async restart(mode: RestartMode): Promise<number> {
    const started = Date.now();
    await this.ctl(['restart', '-m', mode]);
    return Date.now() - started;
  }

  async stop(mode: RestartMode = 'fast'): Promise<void> {
    if (this.running) await this.ctl(['stop', '-m', mode]);
  }

  /** Stops the server (when it runs) and removes its directory; never throws. */
  async cleanup(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    if (process.env.DRILL_KEEP) return;
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private async connect(database: string, options?: string): Promise<Client> {
    const client = new Client({ host: this.host, port: this.port, user: this.user, database, options, connectionTimeoutMillis: 5_000 });
    // a connection the restart ends while idle must not end the test process
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /**
   * A database of its own on this server. Unlike the shared server's, no connection is kept open
   * (a restart would end it): each call connects afresh.
   */
  async createDatabase(name = 'exotel_sms_drill'): Promise<TestDatabase> {
    const admin = await this.connect('postgres');
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return {
      name,
      user: this.user,
      url: (port = this.port) => `postgres://${encodeURIComponent(this.user)}@${this.host}:${port}/${name}`,
      client: (schema) => this.connect(name, `-c search_path=${schema}`),
      drop: async () => {
        if (!this.running) return;
        const client = await this.connect('postgres');
        try {
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await client.end();
        }
      },
    };
  }
}
