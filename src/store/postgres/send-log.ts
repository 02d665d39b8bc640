// The send log: every SMS sent, what Exotel answered, and its delivery reports, each SmsSid and Status
// once whichever instance receives it (the report's primary key decides). A report not yet handed on
// is the recording instance's; once that one's lease ran out, another takes it over, one instance each.
import type { DeliveryReport, RecordedReport, ReportRecord, SendAccepted, SendBookkeeping, SendLog, SendLogEntry, SendLogStart } from '../store';
import { JOINED_SEND_LOG_COLUMNS, sendLogOfJoin, toDeliveryReport, toSendLogEntry, type DeliveryReportRow, type SendLogRow } from '../shared/rows';
import { CLAIMABLE, OWN_FIRST, type PostgresCluster } from './cluster';
import { Batch } from './batch';
import { storable, type PostgresDatabase, type Queryable } from './connection';

const START = `INSERT INTO send_log (custom_field, node_id, account, phone, body, template_id, message, state, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', $8, $8) ON CONFLICT (custom_field) DO NOTHING`;

// An attempt starts: the outbox entry marked sending (and, on the first attempt, the send logged) in one statement.
const MARK_SENDING = "UPDATE outbox SET state = 'sending', updated_at = $1 WHERE id = $2";
const START_ATTEMPT = `WITH marked AS (${MARK_SENDING.replace('$1', '$8').replace('$2', '$9')}) ${START}`;

const ACCEPTED = `UPDATE send_log SET sid = $1, state = 'sent', error = NULL, exotel_status = COALESCE(exotel_status, $2), units = COALESCE(units, $3), updated_at = $4
  WHERE custom_field = $5`;
// It went: the send log has its SmsSid in the same statement as the outbox entry goes.
const FINISH = `WITH removed AS (DELETE FROM outbox WHERE id = $6) ${ACCEPTED}`;

// The same for every attempt that starts (or send that ends) while one such statement is on its way: one round trip for all of them.
const START_ATTEMPTS = `WITH marked AS (UPDATE outbox SET state = 'sending', updated_at = $1 WHERE id = ANY($2::bigint[]))
  INSERT INTO send_log (custom_field, node_id, account, phone, body, template_id, message, state, created_at, updated_at)
  SELECT v.*, 'sending', $1, $1 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS v
  ON CONFLICT (custom_field) DO NOTHING`;
const FINISH_SENDS = `WITH removed AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]))
  UPDATE send_log s SET sid = v.sid, state = 'sent', error = NULL, exotel_status = COALESCE(s.exotel_status, v.status),
    units = COALESCE(s.units, v.units), updated_at = $2
  FROM unnest($3::text[], $4::text[], $5::text[], $6::integer[]) AS v(custom_field, sid, status, units)
  WHERE s.custom_field = v.custom_field`;

// taken_in: the key of the call that records it (it may find it again when its answer is lost)
const ADD_REPORT = `INSERT INTO delivery_report (sid, status, node_id, to_number, delivery, detailed_status, detailed_status_code, date_sent, units, custom_field, received_at, owner, taken_in)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (sid, status) DO NOTHING`;

// A final delivery (delivered, failed) is never set back to pending by a later report.
const APPLY_REPORT = `UPDATE send_log SET sid = COALESCE(sid, $1), exotel_status = $2,
    delivery = CASE WHEN delivery IN ('delivered', 'failed') AND $3 = 'pending' THEN delivery ELSE $3 END,
    detail = $4, code = $5, units = COALESCE($6, units), reported_at = $7, updated_at = $7
  WHERE id = $8 RETURNING *`;

// The send a report belongs to: by its CustomField, else by its SmsSid
const SEND_OF_REPORT = `LEFT JOIN send_log s ON (r.custom_field <> '' AND s.custom_field = r.custom_field) OR (r.custom_field = '' AND s.sid = r.sid)`;

// A node's unhandled reports this instance may hand on: those of dead instances (their lease ran out,
// or they stopped), and with $3 its own too (else those taken with the key $4 before); each row to one
// instance (the owner swapped in the claim).
const CLAIM_REPORTS = `WITH claimable AS (
    SELECT sid, status FROM delivery_report t WHERE t.node_id = $1 AND NOT t.handled AND ${CLAIMABLE('t')}
    ORDER BY ${OWN_FIRST('t')}, received_at, sid LIMIT 1000 FOR UPDATE SKIP LOCKED),
  claimed AS (UPDATE delivery_report SET owner = $2, taken_in = $4 FROM claimable
    WHERE delivery_report.sid = claimable.sid AND delivery_report.status = claimable.status RETURNING delivery_report.*)
  SELECT r.*, ${JOINED_SEND_LOG_COLUMNS} FROM claimed r
  ${SEND_OF_REPORT}
  ORDER BY r.received_at, r.sid`;

// Reports calls recorded whose answers were lost: still this instance's ($4), and still with the key
// of the call that recorded them (a claim, such as a send node's start, sets its own)
const RECORDED_REPORTS = `SELECT r.*, ${JOINED_SEND_LOG_COLUMNS} FROM delivery_report r
  JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (sid, status, attempt) ON r.sid = k.sid AND r.status = k.status AND r.taken_in = k.attempt
  ${SEND_OF_REPORT}
  WHERE r.owner = $4 AND NOT r.handled
  ORDER BY r.received_at, r.sid`;

interface AttemptStart {
  outboxId: number;
  log: SendLogStart | null;
}

interface SendFinish {
  outboxId: number;
  accepted: SendAccepted | null;
}

export class PostgresSendLog implements SendLog, SendBookkeeping {
  private readonly starts = new Batch<AttemptStart>((items) => this.startAttempts(items));
  private readonly finishes = new Batch<SendFinish>((items) => this.finishSends(items));

  constructor(
    private readonly db: PostgresDatabase,
    private readonly cluster: PostgresCluster,
  ) {}

  async logSendStart(start: SendLogStart): Promise<void> {
    await this.db.query(START, this.startValues(start, Date.now()));
  }

  private startValues(start: SendLogStart, now: number): unknown[] {
    return [
      start.customField,
      start.nodeId,
      start.account,
      start.phone,
      storable(start.body),
      start.templateId,
      storable(JSON.stringify(start.message ?? null)),
      now,
    ];
  }

  async logSendAccepted(customField: string, sid: string, exotelStatus: string, units: number | null): Promise<void> {
    await this.db.query(ACCEPTED, [sid, exotelStatus, units, Date.now(), customField]);
  }

  startSendAttempt(outboxId: number, log: SendLogStart | null): Promise<void> {
    return this.starts.add({ outboxId, log });
  }

  finishSend(outboxId: number, accepted: SendAccepted | null): Promise<void> {
    return this.finishes.add({ outboxId, accepted });
  }

  private async startAttempts(items: AttemptStart[]): Promise<void> {
    const now = Date.now();
    if (items.length === 1) {
      const [{ outboxId, log }] = items;
      if (!log) await this.db.query({ name: 'exotel-outbox-sending', text: MARK_SENDING, values: [now, outboxId] });
      else await this.db.query({ name: 'exotel-send-attempt', text: START_ATTEMPT, values: [...this.startValues(log, now), outboxId] });
      return;
    }
    const logs = items.flatMap((i) => (i.log ? [i.log] : []));
    const column = (f: (log: SendLogStart) => string | null) => logs.map(f);
    await this.db.query({
      name: 'exotel-send-attempts',
      text: START_ATTEMPTS,
      values: [
        now,
        items.map((i) => i.outboxId),
        column((l) => l.customField),
        column((l) => l.nodeId),
        column((l) => l.account),
        column((l) => l.phone),
        column((l) => storable(l.body)),
        column((l) => l.templateId),
        column((l) => storable(JSON.stringify(l.message ?? null))),
      ],
    });
  }

  private async finishSends(items: SendFinish[]): Promise<void> {
    const now = Date.now();
    if (items.length === 1) {
      const [{ outboxId, accepted }] = items;
      if (!accepted) await this.db.query({ name: 'exotel-outbox-remove', text: 'DELETE FROM outbox WHERE id = $1', values: [outboxId] });
      else await this.db.query({ name: 'exotel-send-finish', text: FINISH, values: [accepted.sid, accepted.exotelStatus, accepted.units, now, accepted.customField, outboxId] });
      return;
    }
    const accepted = items.flatMap((i) => (i.accepted ? [i.accepted] : []));
    await this.db.query({
      name: 'exotel-send-finishes',
      text: FINISH_SENDS,
      values: [
        items.map((i) => i.outboxId),
        now,
        accepted.map((a) => a.customField),
        accepted.map((a) => a.sid),
        accepted.map((a) => a.exotelStatus),
        accepted.map((a) => a.units),
      ],
    });
  }

  async logSendFailed(customField: string, error: unknown): Promise<void> {
    await this.db.query("UPDATE send_log SET state = 'failed', error = $1, updated_at = $2 WHERE custom_field = $3 AND state <> 'sent'", [
      JSON.stringify(error ?? null),
      Date.now(),
      customField,
    ]);
  }

  async sendLogEntry(customField: string): Promise<SendLogEntry | null> {
    const { rows } = await this.db.query<SendLogRow>('SELECT * FROM send_log WHERE custom_field = $1', [customField]);
    return rows.length ? toSendLogEntry(rows[0]) : null;
  }

  async recordDeliveryReport(report: DeliveryReport, attempt?: string): Promise<{ isNew: boolean; entry: SendLogEntry | null }> {
    // it is this instance's until handed on: it must hold a lease first, or another would take it as a dead one's
    await this.cluster.registered();
    return this.db.transaction(async (tx) => {
      const found = await this.find(tx, report);
      const added = await tx.query(ADD_REPORT, [
        report.sid,
        report.status,
        found?.node_id ?? null,
        report.to,
        report.delivery,
        report.detailedStatus,
        report.detailedStatusCode,
        report.dateSent,
        report.units,
        report.customField,
        report.receivedAt,
        this.cluster.instanceId,
        attempt ?? null,
      ]);
      const isNew = added.rowCount === 1;
      if (!isNew || !found) return { isNew, entry: found ? toSendLogEntry(found) : null };
      const { rows } = await tx.query<SendLogRow>(APPLY_REPORT, [
        report.sid,
        report.status,
        report.delivery,
        report.detailedStatus,
        report.detailedStatusCode,
        report.units,
        report.receivedAt,
        found.id,
      ]);
      return { isNew, entry: toSendLogEntry(rows[0]) };
    });
  }

  /** This instance's own unhandled reports of a node, and those dead instances left: now this one's. */
  unhandledReports(nodeId: string): Promise<ReportRecord[]> {
    return this.claimReports(nodeId, true, null);
  }

  /** Only what dead instances left (and what was taken with `key` before): taken over while this one runs. */
  takeOverReports(nodeId: string, key?: string): Promise<ReportRecord[]> {
    return this.claimReports(nodeId, false, key ?? null);
  }

  private async claimReports(nodeId: string, includeOwn: boolean, key: string | null): Promise<ReportRecord[]> {
    await this.cluster.registered();
    const { rows } = await this.db.query<DeliveryReportRow & Record<string, unknown>>(CLAIM_REPORTS, [nodeId, this.cluster.instanceId, includeOwn, key]);
    return rows.map((row) => ({ report: toDeliveryReport(row), entry: sendLogOfJoin(row) }));
  }

  async recordedReports(recorded: RecordedReport[]): Promise<ReportRecord[]> {
    if (recorded.length === 0) return [];
    const { rows } = await this.db.query<DeliveryReportRow & Record<string, unknown>>(RECORDED_REPORTS, [
      recorded.map((r) => r.sid),
      recorded.map((r) => r.status),
      recorded.map((r) => r.attempt),
      this.cluster.instanceId,
    ]);
    return rows.map((row) => ({ report: toDeliveryReport(row), entry: sendLogOfJoin(row) }));
  }

  async markReportHandled(sid: string, status: string): Promise<void> {
    await this.db.query('UPDATE delivery_report SET handled = true WHERE sid = $1 AND status = $2', [sid, status]);
  }

  async purgeSendLog(before: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM delivery_report WHERE received_at < $1', [before]);
      const { rowCount } = await tx.query('DELETE FROM send_log WHERE created_at < $1', [before]);
      return rowCount ?? 0;
    });
  }

  /** The send a report belongs to: by its SmsSid, else by its CustomField (a send whose answer was lost). */
  private async find(tx: Queryable, report: DeliveryReport): Promise<SendLogRow | undefined> {
    const bySid = await tx.query<SendLogRow>('SELECT * FROM send_log WHERE sid = $1 ORDER BY id DESC LIMIT 1', [report.sid]);
    if (bySid.rows.length || !report.customField) return bySid.rows[0];
    const byField = await tx.query<SendLogRow>('SELECT * FROM send_log WHERE custom_field = $1 FOR UPDATE', [report.customField]);
    return byField.rows[0];
  }
}
