// The send log: every SMS sent, what Exotel answered, and its delivery reports, each SmsSid and Status
// once whichever instance receives it (the report's primary key decides).
import type { DeliveryReport, ReportRecord, SendLog, SendLogEntry, SendLogStart } from '../store';
import { JOINED_SEND_LOG_COLUMNS, sendLogOfJoin, toDeliveryReport, toSendLogEntry, type DeliveryReportRow, type SendLogRow } from '../shared/rows';
import { storable, type PostgresDatabase, type Queryable } from './connection';

const START = `INSERT INTO send_log (custom_field, node_id, account, phone, body, template_id, message, state, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', $8, $8) ON CONFLICT (custom_field) DO NOTHING`;

const ADD_REPORT = `INSERT INTO delivery_report (sid, status, node_id, to_number, delivery, detailed_status, detailed_status_code, date_sent, units, custom_field, received_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (sid, status) DO NOTHING`;

// A final delivery (delivered, failed) is never set back to pending by a later report.
const APPLY_REPORT = `UPDATE send_log SET sid = COALESCE(sid, $1), exotel_status = $2,
    delivery = CASE WHEN delivery IN ('delivered', 'failed') AND $3 = 'pending' THEN delivery ELSE $3 END,
    detail = $4, code = $5, units = COALESCE($6, units), reported_at = $7, updated_at = $7
  WHERE id = $8 RETURNING *`;

const UNHANDLED = `SELECT r.*, ${JOINED_SEND_LOG_COLUMNS} FROM delivery_report r
  LEFT JOIN send_log s ON (r.custom_field <> '' AND s.custom_field = r.custom_field) OR (r.custom_field = '' AND s.sid = r.sid)
  WHERE r.node_id = $1 AND NOT r.handled ORDER BY r.received_at, r.sid`;

export class PostgresSendLog implements SendLog {
  constructor(private readonly db: PostgresDatabase) {}

  async logSendStart(start: SendLogStart): Promise<void> {
    await this.db.query(START, [
      start.customField,
      start.nodeId,
      start.account,
      start.phone,
      storable(start.body),
      start.templateId,
      storable(JSON.stringify(start.message ?? null)),
      Date.now(),
    ]);
  }

  async logSendAccepted(customField: string, sid: string, exotelStatus: string, units: number | null): Promise<void> {
    await this.db.query(
      `UPDATE send_log SET sid = $1, state = 'sent', error = NULL, exotel_status = COALESCE(exotel_status, $2), units = COALESCE(units, $3), updated_at = $4
       WHERE custom_field = $5`,
      [sid, exotelStatus, units, Date.now(), customField],
    );
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

  recordDeliveryReport(report: DeliveryReport): Promise<{ isNew: boolean; entry: SendLogEntry | null }> {
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

  async unhandledReports(nodeId: string): Promise<ReportRecord[]> {
    const { rows } = await this.db.query<DeliveryReportRow & Record<string, unknown>>(UNHANDLED, [nodeId]);
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
