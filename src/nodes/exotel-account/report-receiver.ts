// The account's delivery-report endpoint without Node-RED or Express: authenticates a report as the
// SMS in node authenticates an SMS, records it durably, answers 200 at once, and only then hands it
// to the send node that sent the SMS, once for each SmsSid and Status, whatever Exotel repeats.
// The sandbox's made-up reports take the same way, without HTTP.
import { BodyError, type RawBody } from '../../exotel/request-body';
import { parseReport, type DeliveryReport } from '../../exotel/report';
import type { ReportRecord, Store } from '../../store';
import type { ExotelAccount } from './controller';
import { refusal } from '../shared/callback-auth';
import type { NodeLog, Translate } from '../shared/ports';
import type { InboundCall, Reply } from '../exotel-inbound/controller';

export interface ReportReceiverDeps {
  account: Pick<ExotelAccount, 'checkWebhookToken' | 'defaultCountry' | 'redact'> & Partial<Pick<ExotelAccount, 'webhookProblem'>>;
  store: Pick<Store, 'recordDeliveryReport'>;
  /** hands a new report to the send node that sent the SMS (when it is running: otherwise it reads it when it starts) */
  handOn(nodeId: string, record: ReportRecord): void;
  translate: Translate;
  log: NodeLog;
  now?: () => Date;
}

export class ReportReceiver {
  constructor(private readonly deps: ReportReceiverDeps) {}

  /** A report posted by Exotel, answered through `respond` before it is handed on. */
  async receive(call: InboundCall, respond: (reply: Reply) => void): Promise<void> {
    const { account, log, translate: m } = this.deps;
    try {
      const refused = refusal(account, null, call);
      if (refused) return respond({ status: refused.status, error: refused.reason, challenge: refused.status === 401 });
      let raw: RawBody;
      try {
        raw = call.method === 'GET' ? { body: Buffer.alloc(0) } : await call.readBody();
      } catch (err) {
        if (err instanceof BodyError) return respond({ status: err.status, error: err.message });
        throw err;
      }
      const parsed = parseReport({ method: call.method, contentType: raw.contentType ?? call.contentType, query: call.query, rawBody: raw.body }, account.defaultCountry, this.deps.now?.());
      if (!parsed.ok) return respond({ status: parsed.status, error: parsed.reason });
      let record: { isNew: boolean; record: ReportRecord | null };
      try {
        record = await this.record(parsed.report);
      } catch (err) {
        // Not recorded: 503, so that Exotel tries again, rather than lose the report.
        log.warn(m('warn.recordReport', { sid: parsed.report.sid, message: account.redact((err as Error).message) }));
        return respond({ status: 503, error: 'the report could not be recorded; try again' });
      }
      respond({ status: 200 });
      if (record.record) this.deps.handOn(record.record.entry!.nodeId, record.record);
    } catch (err) {
      log.error(m('error.report', { message: account.redact((err as Error).message) }));
      respond({ status: 500, error: 'internal error' });
    }
  }

  /** A report made up in-process (the sandbox): recorded and handed on as Exotel's would be. */
  async simulate(report: DeliveryReport): Promise<void> {
    const { record } = await this.record(report);
    if (record) this.deps.handOn(record.entry!.nodeId, record);
  }

  /** Records a report; what to hand on: a new report of a send in the send log, else null. */
  private async record(report: DeliveryReport): Promise<{ isNew: boolean; record: ReportRecord | null }> {
    const { isNew, entry } = await this.deps.store.recordDeliveryReport(report);
    return { isNew, record: isNew && entry ? { report, entry } : null };
  }
}
