// The account's delivery-report endpoint without Node-RED or Express: authenticates a report as the
// SMS in node authenticates an SMS, records it durably, answers 200 at once, and only then hands it
// to the send node that sent the SMS, once for each SmsSid and Status, whatever Exotel repeats.
// The sandbox's made-up reports take the same way, without HTTP.
import { randomUUID } from 'node:crypto';
import { BodyError, type RawBody } from '../../exotel/request-body';
import { parseReport, type DeliveryReport } from '../../exotel/report';
import { isUnavailable, type RecordedReport, type ReportRecord, type Store } from '../../store';
import type { ExotelAccount } from './controller';
import { refusal } from '../shared/callback-auth';
import { systemTimers, type NodeLog, type Timers, type Translate } from '../shared/ports';
import type { InboundCall, Reply } from '../exotel-inbound/controller';

export interface ReportReceiverDeps {
  account: Pick<ExotelAccount, 'checkWebhookToken' | 'defaultCountry' | 'redact'> & Partial<Pick<ExotelAccount, 'webhookProblem'>>;
  store: Pick<Store, 'recordDeliveryReport' | 'recordedReports'>;
  /** hands a new report to the send node that sent the SMS (when it is running: otherwise it reads it when it starts) */
  handOn(nodeId: string, record: ReportRecord): void;
  translate: Translate;
  log: NodeLog;
  now?: () => Date;
  timers?: Timers;
  /** how long after an answer the database lost the receiver looks for what that call recorded */
  lostAnswerMs?: number;
}

/** A report's record whose answer was lost is looked for again after this long, until the database answers. */
export const LOST_ANSWER_MS = 2_000;

export class ReportReceiver {
  /**
   * The calls whose answer the database lost (the connection dropped), by their key: each may have
   * recorded its report, and Exotel's retry then finds it recorded and hands nothing on. Once the
   * database answers again, what they recorded and nobody handed on yet is handed on here.
   */
  private readonly unanswered = new Map<string, RecordedReport>();
  private looking = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly timers: Timers;

  constructor(private readonly deps: ReportReceiverDeps) {
    this.timers = deps.timers ?? systemTimers;
  }

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
      const attempt = randomUUID();
      try {
        record = await this.record(parsed.report, attempt);
      } catch (err) {
        // Not recorded: 503, so that Exotel tries again, rather than lose the report. Or recorded, and
        // the answer lost: Exotel's retry finds it recorded, so this receiver hands it on itself.
        if (isUnavailable(err)) this.lost({ sid: parsed.report.sid, status: parsed.report.status, attempt });
        log.warn(m('warn.recordReport', { sid: parsed.report.sid, message: account.redact((err as Error).message) }));
        return respond({ status: 503, error: 'the report could not be recorded; try again' });
      }
      respond({ status: 200 });
      if (record.record) this.deps.handOn(record.record.entry!.nodeId, record.record);
      void this.lookForLost(); // the database answers again
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

  /** Stops looking for what calls whose answer was lost recorded (a send node's next start reads it). */
  close(): void {
    this.closed = true;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Records a report; what to hand on: a new report of a send in the send log, else null. */
  private async record(report: DeliveryReport, attempt?: string): Promise<{ isNew: boolean; record: ReportRecord | null }> {
    const { isNew, entry } = await this.deps.store.recordDeliveryReport(report, attempt);
    return { isNew, record: isNew && entry ? { report, entry } : null };
  }

  private lost(recorded: RecordedReport): void {
    this.unanswered.set(recorded.attempt, recorded);
    this.lookLater();
  }

  private lookLater(): void {
    if (this.timer || this.closed) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.lookForLost();
    }, this.deps.lostAnswerMs ?? LOST_ANSWER_MS);
    this.timer.unref?.();
  }

  /** Hands on what the calls whose answer was lost recorded and nobody handed on; one look at a time, so each once. */
  private async lookForLost(): Promise<void> {
    if (this.unanswered.size === 0 || this.looking || this.closed) return;
    this.looking = true;
    const asked = [...this.unanswered.values()];
    let found: ReportRecord[];
    try {
      found = await this.deps.store.recordedReports(asked);
    } catch (err) {
      if (isUnavailable(err)) this.lookLater();
      else {
        for (const recorded of asked) this.unanswered.delete(recorded.attempt);
        this.deps.log.warn(this.deps.translate('warn.recordReport', { sid: asked.map((r) => r.sid).join(', '), message: this.deps.account.redact((err as Error).message) }));
      }
      return;
    } finally {
      this.looking = false;
    }
    for (const recorded of asked) this.unanswered.delete(recorded.attempt);
    if (this.closed) return;
    for (const record of found) if (record.entry) this.deps.handOn(record.entry.nodeId, record);
  }
}
