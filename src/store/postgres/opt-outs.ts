// Opt-outs, one row a number, their append-only history (enforced by triggers), and the opted-out
// count, which statement triggers keep in a one-row table: reading it is O(1). A change is one
// statement that writes the status only when it differs, so two instances can never count it twice.
import type { ImportResult, OptOutChange, OptOutQuery, OptOutRecord, OptOutResult, OptOutStore, OptOutView, OptStatus } from '../store';
import { isReplayable, likePattern, toOptOut, type OptOutRow } from '../shared/rows';
import type { PostgresCluster } from './cluster';
import { LOCK_OPT_OUT_CHANGE, LOCK_PHONE, type PostgresDatabase, queryParameters } from './connection';
import { Batch } from './batch';
import { OptOutMirror } from './opt-out-mirror';

/** How many numbers an import writes a statement (all in one transaction). */
const IMPORT_CHUNK = 50_000;

const SELECT = 'SELECT phone, status, keyword, source, updated_at FROM opt_out';
/** The number the database gave this transaction's last change of a status (its trigger notified it), or ''. */
const CHANGE = "coalesce(current_setting('exotel_sms.opt_out_change', true), '') AS change";
/** A change notified again under a new number (after LOCK_OPT_OUT_CHANGE, as the trigger numbers one): $1 the channel, $2 the number. */
const NOTIFY_AGAIN = "SELECT change, pg_notify($1, change || ' ' || $2) FROM (SELECT nextval('opt_out_change') AS change) n";

// Called with every change; the status (and its time) is written only when it changes: a repeated
// STOP keeps the time of the first. The history gets every change.
const APPLY = `WITH changed AS (
    INSERT INTO opt_out (phone, status, keyword, source, updated_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (phone) DO UPDATE SET status = excluded.status, keyword = excluded.keyword, source = excluded.source,
      updated_at = excluded.updated_at, confirmation_sent = false, confirmation_owner = NULL
    WHERE opt_out.status <> excluded.status
    RETURNING 1),
  history AS (INSERT INTO opt_out_history (phone, status, keyword, source, at, by_user) VALUES ($1, $2, $3, $4, $5, $6))
  SELECT count(*) AS changed FROM changed`;

const IMPORT = `WITH input AS (SELECT unnest($1::text[]) AS phone),
  changed AS (
    INSERT INTO opt_out (phone, status, keyword, source, updated_at) SELECT DISTINCT phone, $2, NULL::text, $3, $4::bigint FROM input
    ON CONFLICT (phone) DO UPDATE SET status = excluded.status, keyword = NULL, source = excluded.source,
      updated_at = excluded.updated_at, confirmation_sent = false, confirmation_owner = NULL
    WHERE opt_out.status <> excluded.status
    RETURNING 1),
  history AS (INSERT INTO opt_out_history (phone, status, keyword, source, at, by_user) SELECT phone, $2, NULL, $3, $4::bigint, $5::text FROM input)
  SELECT count(*) AS changed FROM changed`;

// The number's one confirmation: free, or claimed by an instance that died before it queued it (the
// STOP is then handed on again by another instance, whose send takes it). Queuing it clears the owner
// (outbox.ts), so that a queued confirmation is never taken again.
const CLAIM_CONFIRMATION = `UPDATE opt_out o SET confirmation_sent = true, confirmation_owner = $3, confirmation_attempt = $4
  WHERE o.phone = $1 AND o.status = 'opted-out' AND o.updated_at >= $2
    AND (NOT o.confirmation_sent OR (o.confirmation_owner = $3 AND o.confirmation_attempt = $4) OR (o.confirmation_owner IS DISTINCT FROM $3 AND o.confirmation_owner IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = o.confirmation_owner AND i.lease_until > ${'(extract(epoch from clock_timestamp()) * 1000)::bigint'})))`;

// A number's confirmation given back; with an attempt key, only the claim that attempt holds and has
// not queued (queuing it clears the owner; another instance's claim has another owner and key)
const RELEASE_CONFIRMATION = "UPDATE opt_out SET confirmation_sent = false, confirmation_owner = NULL WHERE phone = $1 AND status = 'opted-out'";

const IS_OPTED_OUT = { name: 'exotel-is-opted-out', text: "SELECT 1 FROM opt_out WHERE phone = $1 AND status = 'opted-out'" };

export class PostgresOptOuts implements OptOutStore, OptOutView {
  /** the opted-out numbers in memory, kept true through the database (opt-out-mirror.ts) */
  readonly mirror: OptOutMirror;
  private readonly records = new Batch<string, OptOutRecord | null>((phones) => this.readRecords(phones));

  constructor(
    private readonly db: PostgresDatabase,
    private readonly cluster: PostgresCluster,
  ) {
    this.mirror = new OptOutMirror(db, cluster);
  }

  async setOptStatus(change: OptOutChange): Promise<OptOutResult> {
    const result = await this.db.transaction(async (tx): Promise<OptOutResult & { notified: number }> => {
      // One change a number at a time, across instances: a replayed SmsSid is then seen as one.
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_PHONE, change.phone]);
      let replay = false;
      if (isReplayable(change.source)) {
        const seen = await tx.query('SELECT 1 FROM opt_out_history WHERE source = $1 AND phone = $2 AND status = $3 LIMIT 1', [
          change.source,
          change.phone,
          change.status,
        ]);
        replay = seen.rowCount !== 0;
      }
      let changed = false;
      if (!replay) {
        const { rows } = await tx.query<{ changed: number }>(APPLY, [change.phone, change.status, change.keyword ?? null, change.source, Date.now(), change.by ?? null]);
        changed = rows[0].changed === 1;
      }
      const { rows } = await tx.query<OptOutRow & { change: string }>(`SELECT phone, status, keyword, source, updated_at, ${CHANGE} FROM opt_out WHERE phone = $1`, [change.phone]);
      const record = toOptOut(rows[0]);
      if (replay && record.source === change.source && record.status === change.status) {
        // The change this SMS made is still in force, and the call that made it may not have waited for
        // every copy (its answer was lost after the commit): notified again, so that this one waits.
        // Its own number is not kept anywhere; a new one is seen after it (notifications come in order).
        await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_OPT_OUT_CHANGE]);
        const again = await tx.query<{ change: string }>(NOTIFY_AGAIN, [this.mirror.channel, change.phone]);
        return { record, changed, replay, notified: Number(again.rows[0].change) };
      }
      return { record, changed, replay, notified: changed ? Number(rows[0].change) || 0 : 0 };
    });
    // acknowledged once every instance's copy in memory has the change: no send after this reads the old answer
    if (result.notified) await this.mirror.seen(result.notified);
    return { record: result.record, changed: result.changed, replay: result.replay };
  }

  getOptStatus(phone: string): Promise<OptOutRecord | null> {
    return this.records.add(phone);
  }

  /** The records asked for while one such read is on its way: one read for all of them. */
  private async readRecords(phones: string[]): Promise<Array<OptOutRecord | null>> {
    if (phones.length === 1) {
      const { rows } = await this.db.query<OptOutRow>({ name: 'exotel-opt-out-record', text: `${SELECT} WHERE phone = $1`, values: phones });
      return [rows.length ? toOptOut(rows[0]) : null];
    }
    const { rows } = await this.db.query<OptOutRow>({ name: 'exotel-opt-out-records', text: `${SELECT} WHERE phone = ANY($1::text[])`, values: [phones] });
    const found = new Map(rows.map((row) => [row.phone, toOptOut(row)]));
    return phones.map((phone) => found.get(phone) ?? null);
  }

  async isOptedOut(phone: string): Promise<boolean> {
    const known = this.mirror.lookup(phone);
    if (known !== undefined) return known;
    const generation = this.mirror.generation;
    const { rowCount } = await this.db.query({ ...IS_OPTED_OUT, values: [phone] });
    this.mirror.learn(phone, rowCount === 1, generation);
    return rowCount === 1;
  }

  async claimOptOutConfirmation(phone: string, withinMs: number, attempt?: string): Promise<boolean> {
    await this.cluster.registered(); // so that nobody takes this instance for a dead one
    const { rowCount } = await this.db.query(CLAIM_CONFIRMATION, [phone, Date.now() - withinMs, this.cluster.instanceId, attempt ?? null]);
    return rowCount === 1;
  }

  async releaseOptOutConfirmation(phone: string, attempt?: string): Promise<void> {
    if (attempt === undefined) await this.db.query(RELEASE_CONFIRMATION, [phone]);
    else await this.db.query(`${RELEASE_CONFIRMATION} AND confirmation_owner = $2 AND confirmation_attempt = $3`, [phone, this.cluster.instanceId, attempt]);
  }

  async importOptStatus(phones: string[], status: OptStatus, source: string, by?: string | null): Promise<ImportResult> {
    // In key order, as the SQLite store does: the indexes then fill page after page.
    const sorted = [...phones].sort();
    const result = await this.db.transaction(async (tx): Promise<ImportResult & { notified: number }> => {
      const at = Date.now();
      let changed = 0;
      for (let start = 0; start < sorted.length; start += IMPORT_CHUNK) {
        const { rows } = await tx.query<{ changed: number }>(IMPORT, [sorted.slice(start, start + IMPORT_CHUNK), status, source, at, by ?? null]);
        changed += rows[0].changed;
      }
      const notified = changed > 0 ? Number((await tx.query<{ change: string }>(`SELECT ${CHANGE}`)).rows[0].change) || 0 : 0;
      return { changed, unchanged: sorted.length - changed, notified };
    });
    if (result.notified) await this.mirror.seen(result.notified);
    return { changed: result.changed, unchanged: result.unchanged };
  }

  async exportOptStatus(): Promise<OptOutRecord[]> {
    const { rows } = await this.db.query<OptOutRow>(`${SELECT} ORDER BY phone COLLATE "C"`);
    return rows.map(toOptOut);
  }

  async optOutHistory(phone: string): Promise<Array<OptOutChange & { at: number }>> {
    const { rows } = await this.db.query<OptOutChange & { at: number }>(
      'SELECT phone, status, keyword, source, at, by_user AS "by" FROM opt_out_history WHERE phone = $1 ORDER BY id',
      [phone],
    );
    return rows;
  }

  async optOutPage(query: OptOutQuery): Promise<OptOutRecord[]> {
    const where: string[] = [];
    const { values: params, add: param } = queryParameters();
    const status = query.status ?? 'opted-out';
    if (status !== 'all') where.push(`status = ${param(status)}`);
    if (query.text) where.push(`phone LIKE ${param(likePattern(query.text))}`);
    if (query.after) where.push(`(updated_at, phone) < (${param(query.after.at)}, ${param(query.after.id)})`);
    const { rows } = await this.db.query<OptOutRow>(
      `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, phone DESC LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map(toOptOut);
  }

  /** From memory while no change was notified since it was read (a node's status after each message asks it). */
  async optedOutCount(): Promise<number> {
    const known = this.mirror.count();
    if (known !== undefined) return known;
    const generation = this.mirror.generation;
    const { rows } = await this.db.query<{ opted_out: number }>({ name: 'exotel-opt-out-count', text: 'SELECT opted_out FROM opt_out_count WHERE id = 1' });
    this.mirror.learnCount(rows[0].opted_out, generation);
    return rows[0].opted_out;
  }
}
