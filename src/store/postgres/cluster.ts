// Several Node-RED instances on one database: each instance renews a lease (its row in `instance`);
// what a dead one owned (inbound SMS acknowledged but not finished, queued sends) is taken over by a
// live one once its lease has run out, each row by one instance (FOR UPDATE SKIP LOCKED). The
// account's rate limit is one sliding window for all of them (`rate_slot`, under an advisory lock).
// Times come from the database's clock, so that instances whose clocks differ still agree.
import { randomUUID } from 'node:crypto';
import type { InboundRecord, OutboxEntry } from '../store';
import type { PostgresDatabase } from './connection';

/** How long an instance that stopped renewing its lease still owns its work (at most 30 s, as promised). */
export const DEFAULT_LEASE_MS = 15_000;
/** A request whose instance died while Exotel was asked: it holds its slot this long, as Exotel may have counted it late. */
const IN_FLIGHT_HOLD_MS = 5 * 60_000;

export const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** the row's owner (column `owner`) holds no lease: it died, or stopped */
export const DEAD = (alias: string) => `NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = ${alias}.owner AND i.lease_until > ${NOW})`;

/**
 * A claim's rows (`$2`: this instance): its own (`$3`: all of them; else those an earlier claim took
 * with the same key, `$4`, whose answer was lost after it committed), and dead instances' ones. A
 * claim sets `taken_in` to its key. Its own rows come first, so that the limit never leaves out one
 * that was taken before.
 */
export const CLAIMABLE = (alias: string) =>
  `((${alias}.owner = $2 AND ($3::boolean OR ${alias}.taken_in = $4)) OR (${alias}.owner IS DISTINCT FROM $2 AND ${DEAD(alias)}))`;
export const OWN_FIRST = (alias: string) => `${alias}.owner IS NOT DISTINCT FROM $2 DESC`;

const CLAIM_INBOUND = `WITH claimable AS (
    SELECT sid FROM inbound t WHERE t.endpoint = $1 AND NOT t.handled AND ${CLAIMABLE('t')}
    ORDER BY ${OWN_FIRST('t')}, recorded_at, sid LIMIT 1000 FOR UPDATE SKIP LOCKED)
  UPDATE inbound SET owner = $2, taken_in = $4 FROM claimable WHERE inbound.sid = claimable.sid RETURNING inbound.*`;

const CLAIM_OUTBOX = `WITH claimable AS (
    SELECT id FROM outbox t WHERE t.node_id = $1 AND t.state IN ('queued', 'sending') AND ${CLAIMABLE('t')}
    ORDER BY ${OWN_FIRST('t')}, id LIMIT 1000 FOR UPDATE SKIP LOCKED)
  UPDATE outbox SET owner = $2, taken_in = $4 FROM claimable WHERE outbox.id = claimable.id RETURNING outbox.id`;

export type RateTurn = { slot: number } | { waitMs: number };
export interface RateSlots {
  slots: number[];
  /** when to ask again for the ones not granted */
  waitMs: number;
}

export class PostgresCluster {
  readonly instanceId = randomUUID();
  private registering: Promise<void> | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly db: PostgresDatabase, readonly leaseMs = DEFAULT_LEASE_MS) {
    this.heartbeat = setInterval(() => void this.renew().catch(() => undefined), Math.max(100, Math.floor(leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** Resolves once this instance holds a lease: before it owns anything, so nobody mistakes its work for a dead one's. */
  registered(): Promise<void> {
    if (!this.registering) {
      const attempt = this.renew().catch((err: unknown) => {
        if (this.registering === attempt) this.registering = undefined;
        throw err;
      });
      this.registering = attempt;
    }
    return this.registering;
  }

  private renewing: Promise<unknown> = Promise.resolve();

  /** when (performance.now()) the last renewal that succeeded was sent: the lease lasts at least `leaseMs` from then */
  renewedAt = -Infinity;

  private renew(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const sentAt = performance.now();
    const renewal = this.db.query(
      `INSERT INTO instance (id, lease_until, started_at) VALUES ($1, ${NOW} + $2, ${NOW})
       ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until`,
      [this.instanceId, this.leaseMs],
    );
    this.renewing = renewal.catch(() => undefined);
    return renewal.then(() => {
      this.renewedAt = Math.max(this.renewedAt, sentAt);
    });
  }

  /**
   * Unhandled inbound SMS of an endpoint this instance may hand on: those of dead instances (their
   * lease ran out, or they stopped), and with `includeOwn` its own too (else those taken with `key`
   * before); each goes to one instance.
   */
  async claimInbound(endpoint: string, includeOwn: boolean, key: string | null, toRecord: (row: never) => InboundRecord): Promise<InboundRecord[]> {
    await this.registered();
    const { rows } = await this.db.query<{ recorded_at: number; sid: string }>(CLAIM_INBOUND, [endpoint, this.instanceId, includeOwn, key]);
    rows.sort((a, b) => a.recorded_at - b.recorded_at || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    return rows.map((row) => toRecord(row as never));
  }

  /** A send node's outbox entries (queued, or being sent) that a dead instance owned, or taken with `key` before: now this one's, oldest first. */
  async claimOutbox(nodeId: string, key: string | null, read: (ids: number[]) => Promise<OutboxEntry[]>): Promise<OutboxEntry[]> {
    await this.registered();
    const { rows } = await this.db.query<{ id: number }>(CLAIM_OUTBOX, [nodeId, this.instanceId, false, key]);
    return rows.length ? read(rows.map((row) => row.id)) : [];
  }

  /**
   * A request of the account may start now (`slot`), or not before `waitMs`: at most `perMinute`
   * requests in any window, counted from when each may start until `windowMs` after it ended.
   */
  async takeRateSlot(account: string, perMinute: number, windowMs: number): Promise<RateTurn> {
    const { slots, waitMs } = await this.takeRateSlots(account, perMinute, windowMs, 1);
    return slots.length ? { slot: slots[0] } : { waitMs };
  }

  /**
   * Up to `wanted` requests of the account may start now, in one transaction (the waiting sends of an
   * instance take their slots together, not one round of the database each); `waitMs`: when to ask
   * for the rest. `attempt`: the caller's key for this call, the same again when the answer to the
   * call before was lost: the slots that call took (it may have committed) were granted to nobody,
   * and are given back before the window is counted, so that it counts them once, not until they
   * expire.
   */
  async takeRateSlots(account: string, perMinute: number, windowMs: number, wanted: number, attempt?: string): Promise<RateSlots> {
    await this.registered();
    // one statement (rate_take, under the account's lock: connection.ts's LOCK_RATE)
    const { rows } = await this.db.query<{ wait_ms: number; slots: string[] }>({
      name: 'exotel-rate-take',
      text: 'SELECT wait_ms, slots FROM rate_take($1, $2, $3, $4, $5, $6, $7)',
      values: [account, windowMs, IN_FLIGHT_HOLD_MS, attempt ?? null, this.instanceId, perMinute, wanted],
    });
    return { slots: rows[0].slots.map(Number), waitMs: rows[0].wait_ms };
  }

  private endings: { sent: number[]; freed: number[]; written: Promise<void>; done: () => void; failed: (err: unknown) => void } | undefined;

  /**
   * The request ended: it holds its slot a window longer if it left (`sent`), or gives it back at once.
   * The slots that end in one turn of the event loop end in one statement (a slot ends a moment late
   * at worst: it is held longer, never shorter, so the limit still holds).
   */
  endRateSlot(slot: number, sent: boolean): Promise<void> {
    if (!this.endings) {
      let done!: () => void;
      let failed!: (err: unknown) => void;
      const written = new Promise<void>((resolve, reject) => {
        done = resolve;
        failed = reject;
      });
      const endings = { sent: [] as number[], freed: [] as number[], written, done, failed };
      this.endings = endings;
      setImmediate(() => {
        this.endings = undefined;
        this.db
          .query({
            name: 'exotel-rate-slots-end',
            text: `WITH freed AS (DELETE FROM rate_slot WHERE id = ANY($2::bigint[]))
              UPDATE rate_slot SET ended_at = ${NOW} WHERE id = ANY($1::bigint[])`,
            values: [endings.sent, endings.freed],
          })
          .then(() => endings.done(), endings.failed);
      });
    }
    (sent ? this.endings.sent : this.endings.freed).push(slot);
    return this.endings.written;
  }

  /** A clean stop: the lease ends now, so that another instance takes over what is left at once. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.closed = true;
    await this.renewing; // a renewal under way must not put the lease back after it was ended
    await this.endings?.written.catch(() => undefined); // the slots that ended in this turn end in the database too
    if (this.registering) await this.db.query('DELETE FROM instance WHERE id = $1', [this.instanceId]).catch(() => undefined);
  }
}
