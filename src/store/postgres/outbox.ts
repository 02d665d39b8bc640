// The outbox: sends waiting for the rate limit or a retry, the one being asked of Exotel right now
// ('sending': after a crash nobody knows whether it went), and the ones that failed for good. A send
// and its claim are written by one statement: either both or neither, whichever instance tries.
import type { Outbox, OutboxAddition, OutboxEntry, OutboxQuery, OutboxState, OutboxView } from '../store';
import { countsByState, toOutbox, type OutboxRow } from '../shared/rows';
import type { PostgresCluster } from './cluster';
import { Batch } from './batch';
import { type PostgresDatabase, queryParameters } from './connection';

const COLUMNS = 'outbox (node_id, phone, request, message, claim_key, confirmation, state, created_at, updated_at, owner, not_before, attempt)';
const VALUES = "$1, $2, $3, $4, $5, $6, 'queued', $7, $7, $8, $9, $10";
// The same attempt asked again (its answer was lost after the commit): the entry it queued, while
// this instance still owns it (taken over by another, that one sends it). The statement's snapshot
// does not see a row it inserts itself, so a first call answers one id.
const ADDED = 'added AS (INSERT INTO %s ON CONFLICT (attempt) DO NOTHING RETURNING id)';
const ANSWER = 'SELECT id FROM added UNION ALL SELECT id FROM outbox WHERE attempt = $10 AND owner = $8';
const ADD = `WITH ${ADDED.replace('%s', `${COLUMNS} VALUES (${VALUES})`)} ${ANSWER}`;

// The claim (one send a node makes for an inbound SMS) taken in the same statement as the send
const CLAIM = 'claim AS (INSERT INTO send_claim (node_id, claim_key, claimed_at) VALUES ($1, $5, $7) ON CONFLICT DO NOTHING RETURNING 1)';
const ADDED_AFTER_CLAIM = ADDED.replace('%s', `${COLUMNS} SELECT ${VALUES} FROM claim`);
const ADD_CLAIMED = `WITH ${CLAIM}, ${ADDED_AFTER_CLAIM} ${ANSWER}`;

// An opt-out confirmation: queued in the same statement as its claim is settled (from then on not
// this instance's to give back by dying: a dead instance's outbox entry is taken over instead)
const SETTLE = 'settled AS (UPDATE opt_out SET confirmation_owner = NULL WHERE phone = $2 AND confirmation_owner = $8 AND EXISTS (SELECT 1 FROM added))';
const ADD_CONFIRMATION = `WITH ${ADDED.replace('%s', `${COLUMNS} VALUES (${VALUES})`)}, ${SETTLE} ${ANSWER}`;
const ADD_CLAIMED_CONFIRMATION = `WITH ${CLAIM}, ${ADDED_AFTER_CLAIM}, ${SETTLE} ${ANSWER}`;

// Sends that arrive together (not confirmations; each with its attempt key), one statement for all:
// each answered as ADD / ADD_CLAIMED answers it alone. The claims go in in one order for every caller
// (node, key), so that two such statements never wait for each other in a cycle; a claim key twice in
// one go queues its first send only; the entries go in in the order they were asked (per number).
const ADD_MANY = `WITH input AS (
    SELECT t.*, row_number() OVER (PARTITION BY t.node_id, t.claim_key ORDER BY t.n) AS nth
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[]) WITH ORDINALITY
      AS t(node_id, phone, request, message, claim_key, not_before, attempt, n)),
  claim AS (INSERT INTO send_claim (node_id, claim_key, claimed_at)
    SELECT node_id, claim_key, $8 FROM input WHERE claim_key IS NOT NULL AND nth = 1 ORDER BY node_id, claim_key
    ON CONFLICT DO NOTHING RETURNING node_id, claim_key),
  added AS (INSERT INTO ${COLUMNS}
    SELECT i.node_id, i.phone, i.request, i.message, i.claim_key, false, 'queued', $8, $8, $9, i.not_before, i.attempt FROM input i
    WHERE i.claim_key IS NULL OR (i.nth = 1 AND EXISTS (SELECT 1 FROM claim c WHERE c.node_id = i.node_id AND c.claim_key = i.claim_key))
    ORDER BY i.n
    ON CONFLICT (attempt) DO NOTHING RETURNING id, attempt)
  SELECT i.n, coalesce((SELECT a.id FROM added a WHERE a.attempt = i.attempt), (SELECT o.id FROM outbox o WHERE o.attempt = i.attempt AND o.owner = $9)) AS id
  FROM input i ORDER BY i.n`;

type Addition = OutboxAddition & { attempt: string };

export class PostgresOutbox implements Outbox, OutboxView {
  /** the sends queued while such a statement is on its way: one statement for all of them */
  private readonly adds = new Batch<Addition, number | null>((entries) => this.addMany(entries));

  constructor(
    private readonly db: PostgresDatabase,
    private readonly cluster: PostgresCluster,
  ) {}

  async addToOutbox(entry: OutboxAddition): Promise<number | null> {
    await this.cluster.registered();
    if (!entry.confirmation && entry.attempt) return this.adds.add(entry as Addition);
    return this.addOne(entry);
  }

  private async addMany(entries: Addition[]): Promise<Array<number | null>> {
    if (entries.length === 1) return [await this.addOne(entries[0])];
    const column = <K extends keyof Addition>(key: K, as: (value: Addition[K]) => unknown = (value) => value ?? null) => entries.map((entry) => as(entry[key]));
    const { rows } = await this.db.query<{ id: number | null }>({
      name: 'exotel-outbox-add-many',
      text: ADD_MANY,
      values: [
        column('nodeId'),
        column('phone'),
        column('request', (request) => JSON.stringify(request)),
        column('message', (message) => JSON.stringify(message ?? null)),
        column('claimKey'),
        column('notBefore'),
        column('attempt'),
        Date.now(),
        this.cluster.instanceId,
      ],
    });
    return rows.map((row) => row.id);
  }

  private async addOne(entry: OutboxAddition): Promise<number | null> {
    const params = [
      entry.nodeId,
      entry.phone,
      JSON.stringify(entry.request),
      JSON.stringify(entry.message ?? null),
      entry.claimKey,
      entry.confirmation,
      Date.now(),
      this.cluster.instanceId,
      entry.notBefore ?? null,
      entry.attempt ?? null,
    ];
    const sql = entry.confirmation ? (entry.claimKey ? ADD_CLAIMED_CONFIRMATION : ADD_CONFIRMATION) : entry.claimKey ? ADD_CLAIMED : ADD;
    const name = `exotel-outbox-add${entry.confirmation ? '-confirmation' : ''}${entry.claimKey ? '-claimed' : ''}`;
    const { rows } = await this.db.query<{ id: number }>({ name, text: sql, values: params });
    return rows.length ? rows[0].id : null;
  }

  async markOutboxSending(id: number): Promise<void> {
    await this.db.query({ name: 'exotel-outbox-sending', text: "UPDATE outbox SET state = 'sending', updated_at = $1 WHERE id = $2", values: [Date.now(), id] });
  }

  async removeFromOutbox(id: number): Promise<void> {
    await this.db.query({ name: 'exotel-outbox-remove', text: 'DELETE FROM outbox WHERE id = $1', values: [id] });
  }

  async noteOutboxAttempt(id: number, attempts: number, error: unknown): Promise<void> {
    await this.db.query("UPDATE outbox SET state = 'queued', attempts = $1, error = $2, updated_at = $3 WHERE id = $4", [
      attempts,
      JSON.stringify(error ?? null),
      Date.now(),
      id,
    ]);
  }

  async failOutboxEntry(id: number, attempts: number, error: unknown): Promise<void> {
    await this.db.query("UPDATE outbox SET state = 'failed', attempts = $1, error = $2, updated_at = $3, request = (request::jsonb - 'sealed')::text WHERE id = $4", [
      attempts,
      JSON.stringify(error ?? null),
      Date.now(),
      id,
    ]);
  }

  async purgeFinishedSends(before: number): Promise<number> {
    const failed = await this.db.query("DELETE FROM outbox WHERE state = 'failed' AND updated_at < $1", [before]);
    const claims = await this.db.query('DELETE FROM send_claim WHERE claimed_at < $1', [before]);
    return (failed.rowCount ?? 0) + (claims.rowCount ?? 0);
  }

  async outboxEntries(nodeId: string, state: OutboxState): Promise<OutboxEntry[]> {
    const { rows } = await this.db.query<OutboxRow>('SELECT * FROM outbox WHERE node_id = $1 AND state = $2 ORDER BY id', [nodeId, state]);
    return rows.map(toOutbox);
  }

  /** A send node's entries a dead instance left queued or being sent: this instance's now, oldest first (and those taken with `key` before). */
  takeOverOutbox(nodeId: string, key?: string): Promise<OutboxEntry[]> {
    return this.cluster.claimOutbox(nodeId, key ?? null, async (ids) => {
      const { rows } = await this.db.query<OutboxRow>('SELECT * FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
      return rows.map(toOutbox);
    });
  }

  async outboxPage(query: OutboxQuery): Promise<OutboxEntry[]> {
    const where: string[] = [];
    const { values: params, add: param } = queryParameters();
    if (query.state) where.push(`state = ${param(query.state)}`);
    if (query.after) where.push(`(created_at, id) < (${param(query.after.at)}, ${param(Number(query.after.id))})`);
    const { rows } = await this.db.query<OutboxRow>(
      `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(query.limit)}`,
      params,
    );
    return rows.map(toOutbox);
  }

  async outboxEntry(id: number): Promise<OutboxEntry | null> {
    const { rows } = await this.db.query<OutboxRow>('SELECT * FROM outbox WHERE id = $1', [id]);
    return rows.length ? toOutbox(rows[0]) : null;
  }

  /**
   * Queued again as this instance's: its own send node sends it, and no other instance takes it over
   * while this one lives. Asked again with the same `attempt` (the answer was lost after the commit):
   * the entry that request queued, while it is still queued and this instance's.
   */
  async requeueOutboxEntry(id: number, attempt?: string): Promise<OutboxEntry | null> {
    await this.cluster.registered();
    const { rows } = await this.db.query<OutboxRow>(
      `UPDATE outbox SET state = 'queued', attempts = 0, error = NULL, updated_at = $1, owner = $2, taken_in = $4
       WHERE id = $3 AND (state = 'failed' OR (state = 'queued' AND owner = $2 AND taken_in = $4)) RETURNING *`,
      [Date.now(), this.cluster.instanceId, id, attempt ?? null],
    );
    return rows.length ? toOutbox(rows[0]) : null;
  }

  async discardOutboxEntry(id: number): Promise<boolean> {
    const { rowCount } = await this.db.query("DELETE FROM outbox WHERE id = $1 AND state = 'failed'", [id]);
    return rowCount === 1;
  }

  async outboxCounts(): Promise<Record<OutboxState, number>> {
    const { rows } = await this.db.query<{ state: OutboxState; count: string }>('SELECT state, count(*) AS count FROM outbox GROUP BY state');
    return countsByState(rows);
  }
}
