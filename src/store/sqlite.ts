// The embedded store: one SQLite file in WAL mode, readable only by the Node-RED user. Each concern
// is a module of its own under sqlite/ with its own statements; this class opens the shared
// connection, migrates it, runs the checkpointer and builds the concerns that `ComposedStore` puts
// together behind `Store`.
import type Database from 'better-sqlite3';
import { Checkpointer, IN_MEMORY, openDatabase, migrate } from './sqlite/connection';
import { SqliteConversations } from './sqlite/conversations';
import { SqliteInboundLog } from './sqlite/inbound';
import { SqliteOptOuts } from './sqlite/opt-outs';
import { SqliteOutbox } from './sqlite/outbox';
import { SqlitePersonalData } from './sqlite/personal-data';
import { SqliteRefusalLog } from './sqlite/refusals';
import { SqliteSendLogView } from './sqlite/send-log-view';
import { SqliteSandboxThreads } from './sqlite/sandbox';
import { SqliteSendLog } from './sqlite/send-log';
import { ComposedStore } from './composed';

export { IN_MEMORY, migrate } from './sqlite/connection';

export class SqliteStore extends ComposedStore {
  readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | undefined;
  protected override readonly inbound: SqliteInboundLog;
  protected override readonly optOuts: SqliteOptOuts;
  protected override readonly conversations: SqliteConversations;
  protected override readonly outbox: SqliteOutbox;
  protected override readonly sandbox: SqliteSandboxThreads;
  protected override readonly personalData: SqlitePersonalData;
  protected override readonly sendLogView: SqliteSendLogView;
  protected override readonly sendLog: SqliteSendLog;
  protected override readonly refusals: SqliteRefusalLog;

  constructor(readonly file: string) {
    super();
    this.db = openDatabase(file);
    try {
      if (file !== IN_MEMORY) this.checkpointer = new Checkpointer(this.db, file);
      migrate(this.db);
    } catch (err) {
      void this.checkpointer?.stop();
      this.db.close();
      throw err;
    }
    this.inbound = new SqliteInboundLog(this.db);
    this.optOuts = new SqliteOptOuts(this.db);
    this.conversations = new SqliteConversations(this.db);
    this.outbox = new SqliteOutbox(this.db, (nodeId, key, at) => this.inbound.takeClaim(nodeId, key, at));
    this.sandbox = new SqliteSandboxThreads(this.db);
    this.personalData = new SqlitePersonalData(this.db);
    this.sendLogView = new SqliteSendLogView(this.db);
    this.sendLog = new SqliteSendLog(this.db);
    this.refusals = new SqliteRefusalLog(this.db);
  }

  override async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  override async close(): Promise<void> {
    this.inbound.flushNow();
    await this.checkpointer?.stop();
    if (this.db.open) {
      if (this.file !== IN_MEMORY) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
