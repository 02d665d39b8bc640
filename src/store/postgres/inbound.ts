// The inbound log (deduplicated on SmsSid by its primary key, whichever instance records it) and the
// send claims: one send a node makes for an inbound SMS and recipient.
import type { InboundLog, InboundRecord } from '../store';
import { PendingWrites, type PendingInbound, type Waiting } from '../shared/pending-writes';
import { toRecord } from '../shared/rows';
import type { PostgresCluster } from './cluster';
import { isUnavailable, storable, type PostgresDatabase, type Queryable } from './connection';

/** How many group commits may wait for the database at once. */
const CONCURRENT_FLUSHES = 4;

// owner: the instance that acknowledged it, and hands it on (or, once its lease ran out, another one)
const INSERT_MANY = `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, owner)
  SELECT *, $9::text FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
  ON CONFLICT (sid) DO NOTHING RETURNING sid`;

export class PostgresInboundLog implements InboundLog {
  // Group commit: what arrives in one turn of the event loop is written by one statement (the records,
  // and the handled marks), each on a connection of its own; while a few such writes wait for their
  // commit, the next turn's start on other connections (the database merges their commits).
  private readonly pending = new PendingWrites(() => this.scheduleFlush());
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly flushes = new Set<Promise<void>>();
  private flushWanted = false;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly cluster: PostgresCluster,
  ) {}

  recordInbound(record: InboundRecord): Promise<boolean> {
    return this.pending.record(record);
  }

  markInboundHandled(sids: string[]): Promise<void> {
    return this.pending.markHandled(sids);
  }

  async unhandledInbound(endpoint: string): Promise<InboundRecord[]> {
    await this.written();
    // This instance's own, and those of instances that died (their lease ran out) or stopped.
    return this.cluster.claimInbound(endpoint, true, toRecord);
  }

  /** What dead instances acknowledged on an endpoint but did not finish: handed on by this one. */
  async takeOverInbound(endpoint: string): Promise<InboundRecord[]> {
    await this.written();
    return this.cluster.claimInbound(endpoint, false, toRecord);
  }

  /** Inside the caller's transaction: takes a send claim; false when it was already taken. */
  static async takeClaim(tx: Queryable, nodeId: string, key: string, at: number): Promise<boolean> {
    const result = await tx.query('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [nodeId, key, at]);
    return result.rowCount === 1;
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    await this.db.query('DELETE FROM send_claim WHERE node_id = $1 AND claim_key = $2', [nodeId, key]);
  }

  /** Waits for what is being written now (the store is closing). */
  async settle(): Promise<void> {
    if (this.flushScheduled) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = undefined;
      this.startFlush();
    }
    await this.written();
  }

  /** Resolves once every write started so far has ended. */
  private async written(): Promise<void> {
    while (this.flushes.size > 0 || this.flushWanted) await Promise.all(this.flushes);
  }

  private scheduleFlush(): void {
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = undefined;
      this.startFlush();
    });
  }

  private startFlush(): void {
    if (this.flushes.size >= CONCURRENT_FLUSHES) {
      this.flushWanted = true;
      return;
    }
    this.flushWanted = false;
    const flush = this.flush().finally(() => {
      this.flushes.delete(flush);
      if (this.flushWanted) this.startFlush();
    });
    this.flushes.add(flush);
  }

  private async insert(entries: PendingInbound[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const column = (pick: (entry: PendingInbound) => string | number) => entries.map(pick);
    const { rows } = await this.db.query<{ sid: string }>({ name: 'exotel-inbound-insert', text: INSERT_MANY, values: [
      column((e) => e.row.sid),
      column((e) => e.row.endpoint),
      column((e) => storable(e.row.from)),
      column((e) => storable(e.row.to)),
      column((e) => storable(e.row.body)),
      column((e) => storable(e.row.receivedAt)),
      column((e) => storable(e.row.accountSid)),
      column((e) => e.recordedAt),
      this.cluster.instanceId,
    ] });
    // The same SmsSid twice in one batch: the first is new, the second a duplicate.
    const inserted = new Set(rows.map((row) => row.sid));
    return entries.map((entry) => inserted.delete(entry.row.sid));
  }

  private async flush(): Promise<void> {
    const { inbound, handled, waiters } = this.pending.take();
    await Promise.all([this.record(inbound), this.mark(handled, waiters)]);
  }

  private async record(inbound: PendingInbound[]): Promise<void> {
    if (inbound.length === 0) return;
    try {
      await this.cluster.registered();
      const results = await this.insert(inbound);
      inbound.forEach((entry, i) => entry.resolve(results[i]));
    } catch (err) {
      if (isUnavailable(err)) {
        for (const entry of inbound) entry.reject(err);
        return;
      }
      // One bad record must not fail the others: write them one by one.
      for (const entry of inbound) {
        try {
          entry.resolve((await this.insert([entry]))[0]);
        } catch (own) {
          entry.reject(own);
        }
      }
    }
  }

  private async mark(sids: string[], waiters: Array<Waiting<void>>): Promise<void> {
    try {
      if (sids.length > 0) await this.db.query('UPDATE inbound SET handled = true WHERE sid = ANY($1::text[])', [sids]);
      for (const waiter of waiters) waiter.resolve();
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
    }
  }
}
