// The store for several Node-RED instances: PostgreSQL through a pg pool. Each concern is a module
// of its own under postgres/; this class opens the pool, migrates the schema (once, whichever
// instance starts first) and builds the concerns that `ComposedStore` puts together behind `Store`,
// adding what several instances need (the lease, take-overs, the shared rate limit). A call made
// while the database cannot be reached rejects with code `store_unavailable`; the pool reconnects.
import { PostgresDatabase, type PostgresStoreConfig } from './postgres/connection';
import { PostgresCluster, type RateSlots, type RateTurn } from './postgres/cluster';
import { PostgresConversations } from './postgres/conversations';
import { PostgresInboundLog } from './postgres/inbound';
import { PostgresOptOuts } from './postgres/opt-outs';
import { PostgresOutbox } from './postgres/outbox';
import { PostgresPersonalData } from './postgres/personal-data';
import { PostgresRefusalLog } from './postgres/refusals';
import { PostgresSendLogView } from './postgres/send-log-view';
import { PostgresSandboxThreads } from './postgres/sandbox';
import { PostgresSendLog } from './postgres/send-log';
import { PostgresTurns } from './postgres/turns';
import { ComposedStore } from './composed';
import type { InboundRecord, OutboxEntry, ReportRecord, SendAccepted, SendLogStart } from './store';

type InboundTurn = Pick<InboundRecord, 'sid' | 'endpoint' | 'from'>;

export { DEFAULT_SCHEMA, SchemaTooNewError, StoreUnavailableError, isUnavailable, type PostgresStoreConfig } from './postgres/connection';
export { PG_MIGRATIONS } from './postgres/migrations';

export class PostgresStore extends ComposedStore {
  readonly db: PostgresDatabase;
  protected override readonly inbound: PostgresInboundLog;
  protected override readonly optOuts: PostgresOptOuts;
  protected override readonly conversations: PostgresConversations;
  protected override readonly outbox: PostgresOutbox;
  protected override readonly sandbox: PostgresSandboxThreads;
  protected override readonly personalData: PostgresPersonalData;
  protected override readonly sendLogView: PostgresSendLogView;
  protected override readonly sendLog: PostgresSendLog;
  protected override readonly refusals: PostgresRefusalLog;
  /** this instance's lease, the take-over of dead instances' work, and the cluster's rate limit */
  readonly cluster: PostgresCluster;
  /** a customer's SMS handed to the flow in arrival order, whichever instance received them */
  readonly turns: PostgresTurns;
  private closing: Promise<void> | undefined;

  /** Connects lazily: the schema is migrated by `ready()` or by the first call, whichever comes first. */
  constructor(readonly config: PostgresStoreConfig) {
    super();
    this.db = new PostgresDatabase(config);
    this.cluster = new PostgresCluster(this.db, config.leaseMs);
    this.inbound = new PostgresInboundLog(this.db, this.cluster);
    this.optOuts = new PostgresOptOuts(this.db, this.cluster);
    this.conversations = new PostgresConversations(this.db);
    this.outbox = new PostgresOutbox(this.db, this.cluster);
    this.sandbox = new PostgresSandboxThreads(this.db);
    this.personalData = new PostgresPersonalData(this.db);
    this.sendLogView = new PostgresSendLogView(this.db);
    this.sendLog = new PostgresSendLog(this.db, this.cluster);
    // an SMS waits this long at most for an earlier one nobody hands on (a take-over takes about a lease)
    this.turns = new PostgresTurns(this.db, 2 * this.cluster.leaseMs + 10_000);
    this.refusals = new PostgresRefusalLog(this.db);
  }

  /**
   * Connects and migrates; resolves with the schema version. Rejects with code `store_unavailable`
   * (tried again by the next call) or `store_schema_too_new` (for good: a newer release wrote it).
   */
  ready(): Promise<number> {
    return this.db.ready();
  }

  /** how long a dead instance's work waits before another takes it over */
  get leaseMs(): number {
    return this.cluster.leaseMs;
  }

  // several instances: what dead ones left unfinished, and the account's rate limit for all of them
  takeOverInbound(endpoint: string, key?: string): Promise<InboundRecord[]> {
    return this.inbound.takeOverInbound(endpoint, key);
  }
  takeOverOutbox(nodeId: string, key?: string): Promise<OutboxEntry[]> {
    return this.outbox.takeOverOutbox(nodeId, key);
  }
  // a send's bookkeeping: one statement each way, not two
  override startSendAttempt(outboxId: number, log: SendLogStart | null): Promise<void> {
    return this.sendLog.startSendAttempt(outboxId, log);
  }
  override finishSend(outboxId: number, accepted: SendAccepted | null): Promise<void> {
    return this.sendLog.finishSend(outboxId, accepted);
  }
  takeOverReports(nodeId: string, key?: string): Promise<ReportRecord[]> {
    return this.sendLog.takeOverReports(nodeId, key);
  }
  takeRateSlot(account: string, perMinute: number, windowMs: number): Promise<RateTurn> {
    return this.cluster.takeRateSlot(account, perMinute, windowMs);
  }
  takeRateSlots(account: string, perMinute: number, windowMs: number, wanted: number, attempt?: string): Promise<RateSlots> {
    return this.cluster.takeRateSlots(account, perMinute, windowMs, wanted, attempt);
  }
  endRateSlot(slot: number, sent: boolean): Promise<void> {
    return this.cluster.endRateSlot(slot, sent);
  }
  takeInboundTurn(record: InboundTurn, holdMs: number): Promise<void> {
    return this.turns.take(record, holdMs);
  }
  finishInboundTurn(record: InboundTurn): void {
    this.turns.finish(record);
  }
  dropInboundTurn(sid: string): void {
    this.turns.drop(sid);
  }

  override schemaVersion(): Promise<number> {
    return this.db.schemaVersion();
  }

  /** Writes what is waiting (inbound records in this turn), then closes the pool. */
  override close(): Promise<void> {
    this.closing ??= (async () => {
      await this.turns.close();
      await this.optOuts.mirror.close();
      await this.inbound.settle();
      await this.cluster.close();
      await this.db.close();
    })();
    return this.closing;
  }
}
