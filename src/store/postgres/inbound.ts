// The inbound log (deduplicated on SmsSid by its primary key, whichever instance records it) and the
// send claims: one send a node makes for an inbound SMS and recipient.
import type { InboundLog, InboundLogLine, InboundLogQuery, InboundLogView, InboundRecord } from '../store';
import { PendingWrites, type PendingInbound, type Waiting } from '../shared/pending-writes';
import { bucketsOf, likePattern, toLogLine, toRecord, type InboundLogRow } from '../shared/rows';
import type { PostgresCluster } from './cluster';
import { isUnavailable, storable, type PostgresDatabase, type Queryable, queryParameters } from './connection';

/** How many group commits may wait for the database at once. */
const CONCURRENT_FLUSHES = 4;

// owner: the instance that acknowledged it, and hands it on (or, once its lease ran out, another one)
const INSERT_MANY = `INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, owner)
  SELECT *, $9::text FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
  ON CONFLICT (sid) DO NOTHING RETURNING sid`;

export class PostgresInboundLog implements InboundLog, InboundLogView {
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
    return this.cluster.claimInbound(endpoint, true, null, toRecord);
  }

  /** What dead instances acknowledged on an endpoint but did not finish: handed on by this one (and what it took with `key` before). */
  async takeOverInbound(endpoint: string, key?: string): Promise<InboundRecord[]> {
    await this.written();
    return this.cluster.claimInbound(endpoint, false, key ?? null, toRecord);
  }

  /** Inside the caller's transaction: takes a send claim; false when it was already taken. */
  static async takeClaim(tx: Queryable, nodeId: string, key: string, at: number): Promise<boolean> {
    const result = await tx.query('INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [nodeId, key, at]);
    return result.rowCount === 1;
  }

  async releaseSend(nodeId: string, key: string): Promise<void> {
    await this.db.query('DELETE FROM send_claim WHERE node_id = $1 AND claim_key = $2', [nodeId, key]);
  }

  async inboundLogPage(query: InboundLogQuery): Promise<InboundLogLine[]> {
    // Newest first by (recorded_at, sid): an index walked backwards from the cursor, never an OFFSET.
    const where: string[] = [];
    const { values: params, add: param } = queryParameters();
    if (query.phone) where.push(`from_number = ${param(query.phone)}`);
    if (query.text) {
      const text = param(likePattern(query.text));
      where.push(`(body ILIKE ${text} OR from_number LIKE ${text})`);
    }
    if (query.accountSid !== undefined) where.push(`account_sid = ${param(query.accountSid)}`);
    if (query.since !== undefined) where.push(`recorded_at >= ${param(query.since)}`);
    if (query.until !== undefined) where.push(`recorded_at < ${param(query.until)}`);
    if (query.after) where.push(`(recorded_at, sid) < (${param(query.after.at)}, ${param(query.after.id)})`);
    const sql = `SELECT * FROM inbound ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recorded_at DESC, sid DESC LIMIT ${param(query.limit)}`;
    const { rows } = await this.db.query<InboundLogRow>(sql, params);
    return rows.map(toLogLine);
  }

  async inboundCounts(since: number, until: number, bucketMs: number, accountSid?: string): Promise<number[]> {
    const params: unknown[] = [since, until, bucketMs];
    if (accountSid !== undefined) params.push(accountSid);
    const { rows } = await this.db.query<{ bucket: string; count: string }>(
      `SELECT (recorded_at - $1) / $3 AS bucket, count(*) AS count FROM inbound WHERE recorded_at >= $1 AND recorded_at < $2
       ${accountSid !== undefined ? 'AND account_sid = $4' : ''} GROUP BY 1`,
      params,
    );
    return bucketsOf(rows, since, until, bucketMs);
  }

  async purgeInboundLog(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.db.query(
      'DELETE FROM inbound WHERE sid IN (SELECT sid FROM inbound WHERE recorded_at < $1 AND handled ORDER BY recorded_at LIMIT $2)',
      [before, limit],
    );
    return rowCount ?? 0;
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
    const results = entries.map((entry) => inserted.delete(entry.row.sid));
    const duplicates = entries.filter((_, i) => !results[i]).map((entry) => entry.row.sid);
    if (duplicates.length) {
      // The repeat count is for the SMS tab only: failing to raise it must not turn a recorded SMS into a 503.
      await this.db.query('UPDATE inbound SET duplicates = inbound.duplicates + d.n FROM (SELECT sid, count(*) AS n FROM unnest($1::text[]) AS sid GROUP BY sid) d WHERE inbound.sid = d.sid', [duplicates]).catch(() => undefined);
    }
    return results;
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
