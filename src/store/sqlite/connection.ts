// The shared part of the SQLite store: the file (readable only by its owner), the connection's
// settings, the migrations and the checkpointer thread.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MIGRATIONS } from '../migrations';
import type { CheckpointWorkerData } from './checkpoint-worker';

export const IN_MEMORY = ':memory:';

/** The store holds numbers, SMS bodies and opt-out lists: its files are the Node-RED user's alone. */
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the store was written by a newer release (schema ${current}, this release knows ${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

/**
 * Creates the file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database
 * file's mode), and tightens an existing file of ours that others can read.
 */
function prepareFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: DIRECTORY_MODE });
  try {
    fs.closeSync(fs.openSync(file, 'wx', FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const each of [file, `${file}-wal`, `${file}-shm`]) tighten(each);
}

function tighten(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return; // not there (yet): SQLite creates it with the database file's mode
  }
  const ours = typeof process.getuid !== 'function' || stat.uid === process.getuid();
  if (!ours || (stat.mode & 0o077) === 0) return;
  try {
    fs.chmodSync(file, stat.mode & 0o700);
  } catch {
    // not ours to change (a shared mount, another user's file): it keeps working as it is
  }
}

/** WAL mode; synchronous=NORMAL keeps every committed change across a killed process. */
export function openDatabase(file: string): Database.Database {
  if (file !== IN_MEMORY) prepareFile(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * The checkpointer's script beside this one: compiled JavaScript in dist/, TypeScript in src/ (under
 * tsx, in tests and mutation testing), which the thread then loads through tsx's require hook.
 */
export function checkpointWorkerScript(dir = __dirname): { file: string; execArgv?: string[] } | undefined {
  const js = path.join(dir, 'checkpoint-worker.js');
  if (fs.existsSync(js)) return { file: js };
  const ts = path.join(dir, 'checkpoint-worker.ts');
  if (!fs.existsSync(ts)) return undefined;
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch {
    return undefined;
  }
  return { file: ts, execArgv: [...process.execArgv, '--require', tsx] };
}

/**
 * Checkpoints run in a worker thread; SQLite's own automatic checkpoint is turned off while it runs,
 * and comes back should the worker fail or not start.
 */
export class Checkpointer {
  private worker: Worker | undefined;
  private exited: Promise<unknown> = Promise.resolve();

  constructor(db: Database.Database, file: string, intervalMs = 250) {
    const script = checkpointWorkerScript();
    if (!script) return;
    db.pragma('wal_autocheckpoint = 0');
    const workerData: CheckpointWorkerData = { file, intervalMs };
    const worker = new Worker(script.file, { workerData, execArgv: script.execArgv });
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.on('error', () => {
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    });
    this.worker = worker;
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    worker.ref(); // closing waits for the thread, even where nothing else keeps the process alive
    worker.postMessage('close');
    await this.exited;
  }
}

/**
 * Statements of queries built from the filters a caller chose (the operators' view): each distinct SQL
 * prepared once, then reused (a handful of shapes, so the cache stays small).
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const prepared = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = prepared.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      prepared.set(sql, statement);
    }
    return statement;
  };
}
