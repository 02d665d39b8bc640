// The send log: every SMS sent, what Exotel answered, and its delivery reports, each SmsSid and Status
// once (a report Exotel repeats is recorded once and handed to the flow once).
import type Database from 'better-sqlite3';
import type { DeliveryReport, RecordedReport, ReportRecord, SendLog, SendLogEntry, SendLogStart } from '../store';
import { JOINED_SEND_LOG_COLUMNS, sendLogOfJoin, toDeliveryReport, toSendLogEntry, type DeliveryReportRow, type SendLogRow } from '../shared/rows';

export class SqliteSendLog implements SendLog {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      start: db.prepare(
        `INSERT INTO send_log (custom_field, node_id, account, phone, body, template_id, message, state, created_at, updated_at)
         VALUES (@customField, @nodeId, @account, @phone, @body, @templateId, @message, 'sending', @at, @at)
         ON CONFLICT (custom_field) DO NOTHING`,
      ),
      accepted: db.prepare(
        `UPDATE send_log SET sid = @sid, state = 'sent', error = NULL, exotel_status = COALESCE(exotel_status, @status),
           units = COALESCE(units, @units), updated_at = @at WHERE custom_field = @customField`,
      ),
      failed: db.prepare("UPDATE send_log SET state = 'failed', error = ?, updated_at = ? WHERE custom_field = ? AND state <> 'sent'"),
      byCustomField: db.prepare('SELECT * FROM send_log WHERE custom_field = ?'),
      bySid: db.prepare('SELECT * FROM send_log WHERE sid = ? ORDER BY id DESC LIMIT 1'),
      addReport: db.prepare(
        `INSERT INTO delivery_report (sid, status, node_id, to_number, delivery, detailed_status, detailed_status_code, date_sent, units, custom_field, received_at, taken_in)
         VALUES (@sid, @status, @nodeId, @to, @delivery, @detailedStatus, @detailedStatusCode, @dateSent, @units, @customField, @receivedAt, @attempt)
         ON CONFLICT (sid, status) DO NOTHING`,
      ),
      // A final delivery (delivered, failed) is never set back to pending by a later report.
      report: db.prepare(
        `UPDATE send_log SET sid = COALESCE(sid, @sid), exotel_status = @status,
           delivery = CASE WHEN delivery IN ('delivered', 'failed') AND @delivery = 'pending' THEN delivery ELSE @delivery END,
           detail = @detailedStatus, code = @detailedStatusCode, units = COALESCE(@units, units), reported_at = @receivedAt, updated_at = @receivedAt
         WHERE id = @id`,
      ),
      unhandled: db.prepare(
        `SELECT r.*, ${JOINED_SEND_LOG_COLUMNS} FROM delivery_report r
         LEFT JOIN send_log s ON (r.custom_field <> '' AND s.custom_field = r.custom_field) OR (r.custom_field = '' AND s.sid = r.sid)
         WHERE r.node_id = ? AND r.handled = 0 ORDER BY r.received_at, r.sid`,
      ),
      recorded: db.prepare(
        `SELECT r.*, ${JOINED_SEND_LOG_COLUMNS} FROM delivery_report r
         LEFT JOIN send_log s ON (r.custom_field <> '' AND s.custom_field = r.custom_field) OR (r.custom_field = '' AND s.sid = r.sid)
         WHERE r.sid = ? AND r.status = ? AND r.taken_in = ? AND r.handled = 0`,
      ),
      handled: db.prepare('UPDATE delivery_report SET handled = 1 WHERE sid = ? AND status = ?'),
      purgeReports: db.prepare('DELETE FROM delivery_report WHERE received_at < ?'),
      purgeSends: db.prepare('DELETE FROM send_log WHERE created_at < ?'),
    };
  }

  async logSendStart(start: SendLogStart): Promise<void> {
    this.statements.start.run({ ...start, templateId: start.templateId, message: JSON.stringify(start.message ?? null), at: Date.now() });
  }

  async logSendAccepted(customField: string, sid: string, exotelStatus: string, units: number | null): Promise<void> {
    this.statements.accepted.run({ customField, sid, status: exotelStatus, units, at: Date.now() });
  }

  async logSendFailed(customField: string, error: unknown): Promise<void> {
    this.statements.failed.run(JSON.stringify(error ?? null), Date.now(), customField);
  }

  async sendLogEntry(customField: string): Promise<SendLogEntry | null> {
    const row = this.statements.byCustomField.get(customField) as SendLogRow | undefined;
    return row ? toSendLogEntry(row) : null;
  }

  async recordDeliveryReport(report: DeliveryReport, attempt?: string): Promise<{ isNew: boolean; entry: SendLogEntry | null }> {
    return this.db.transaction(() => {
      const found = this.find(report);
      const isNew = this.statements.addReport.run({ ...report, nodeId: found?.node_id ?? null, attempt: attempt ?? null }).changes === 1;
      if (!isNew || !found) return { isNew, entry: found ? toSendLogEntry(found) : null };
      this.statements.report.run({ ...report, id: found.id });
      return { isNew, entry: toSendLogEntry(this.statements.byCustomField.get(found.custom_field) as SendLogRow) };
    })();
  }

  async unhandledReports(nodeId: string): Promise<ReportRecord[]> {
    return (this.statements.unhandled.all(nodeId) as Array<DeliveryReportRow & Record<string, unknown>>).map((row) => ({ report: toDeliveryReport(row), entry: sendLogOfJoin(row) }));
  }

  async recordedReports(recorded: RecordedReport[]): Promise<ReportRecord[]> {
    const rows = recorded.flatMap((r) => this.statements.recorded.all(r.sid, r.status, r.attempt) as Array<DeliveryReportRow & Record<string, unknown>>);
    rows.sort((a, b) => a.received_at - b.received_at || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    return rows.map((row) => ({ report: toDeliveryReport(row), entry: sendLogOfJoin(row) }));
  }

  async markReportHandled(sid: string, status: string): Promise<void> {
    this.statements.handled.run(sid, status);
  }

  async purgeSendLog(before: number): Promise<number> {
    return this.db.transaction(() => {
      this.statements.purgeReports.run(before);
      return this.statements.purgeSends.run(before).changes;
    })();
  }

  /** The send a report belongs to: by its SmsSid, else by its CustomField (a send whose answer was lost). */
  private find(report: DeliveryReport): SendLogRow | undefined {
    const bySid = this.statements.bySid.get(report.sid) as SendLogRow | undefined;
    if (bySid || !report.customField) return bySid;
    return this.statements.byCustomField.get(report.customField) as SendLogRow | undefined;
  }
}
