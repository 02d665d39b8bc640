// exotel-send's delivery reports: each on the third output with the message as it was sent, once,
// and the sends that were on the wire when Node-RED died, settled by their report (sent, late) or,
// when none comes within `reconcileAfterMs`, sent again. No Node-RED import.
import { deliveryInfo } from '../../exotel/report';
import type { OutboxEntry, ReportRecord, SendLogEntry, Store } from '../../store';
import { countSegments } from '../../sms/encoding';
import type { NodeLog, Send, Timers, Translate } from '../shared/ports';
import type { StoreWait } from '../shared/store-wait';
import type { SendMessage } from './controller';

/** The message an outbox entry or the send log keeps, handed on as it was sent. */
export function messageOf(kept: { message: unknown }): SendMessage {
  return (kept.message && typeof kept.message === 'object' ? kept.message : {}) as SendMessage;
}

/** A report's (SmsSid, Status): handed on once. */
function reportKey(record: ReportRecord): string {
  return `${record.report.sid}\u0000${record.report.status}`;
}

export interface ReportSettlerDeps {
  store: Pick<Store, 'sendLogEntry' | 'removeFromOutbox' | 'markReportHandled'>;
  log: NodeLog;
  translate: Translate;
  timers: Timers;
  reconcileAfterMs: number;
  storeWait: StoreWait;
  /** aborted when the node stops */
  signal: AbortSignal;
  /** node.send, once the node has started */
  output(): Send | undefined;
  /** a send settled late counts as sent */
  countSent(): void;
  /** sends an entry again: no report came of it */
  resend(entry: OutboxEntry, send: Send): Promise<void>;
}

/** A send that was on the wire when Node-RED died, waiting for its delivery report. */
interface AwaitingReport {
  entry: OutboxEntry;
  timer: NodeJS.Timeout;
}

export class ReportSettler {
  /** by CustomField */
  private readonly awaiting = new Map<string, AwaitingReport>();
  /** reports handed on from the store at the start: the same, arriving live meanwhile, is not handed on twice */
  private readonly replayed = new Set<string>();

  constructor(private readonly deps: ReportSettlerDeps) {}

  /** A send on the wire at the last stop waits for its report, at most `reconcileAfterMs`. */
  await(customField: string, entry: OutboxEntry): void {
    if (this.awaiting.has(customField)) return;
    const { timers, reconcileAfterMs, log, translate: m } = this.deps;
    const timer = timers.setTimeout(() => void this.noReport(customField).catch((err: Error) => log.error(err)), reconcileAfterMs);
    this.awaiting.set(customField, { entry, timer });
    log.log(m('log.awaitingReport', { phone: entry.phone, minutes: Math.round(reconcileAfterMs / 60_000) }));
  }

  /**
   * A report on the third output, with the message as it was sent; marked handled once handed on. A
   * send that waits for it is handed on as sent, late, first. `fromStore`: read at the start.
   */
  async handOn(record: ReportRecord, fromStore = false): Promise<void> {
    const key = reportKey(record);
    if (fromStore) this.replayed.add(key);
    else if (this.replayed.has(key)) return;
    const { store, log, translate: m } = this.deps;
    const waiting = this.awaiting.get(record.report.customField);
    if (waiting && record.entry?.sid) await this.settleLate(waiting.entry, record.entry);
    const msg = { ...messageOf(record.entry ?? { message: null }) };
    if (record.entry && msg.phone === undefined) msg.phone = record.entry.phone;
    msg.delivery = deliveryInfo(record.report);
    this.deps.output()?.([null, null, msg]);
    await store.markReportHandled(record.report.sid, record.report.status).catch((err: Error) => log.warn(m('warn.reports', { message: err.message })));
  }

  /** A send on the wire at the last stop went after all (its answer or its report says so): handed on as sent, late. */
  async settleLate(entry: OutboxEntry, logged: SendLogEntry): Promise<void> {
    const request = entry.request as { customField?: string; body: string; encoding?: string };
    this.forget(request.customField ?? '');
    await this.deps.storeWait.retry(() => this.deps.store.removeFromOutbox(entry.id), this.deps.signal).catch(() => undefined);
    const msg = messageOf(entry);
    msg.exotel = {
      sid: logged.sid,
      status: logged.exotelStatus ?? 'sent',
      detailedStatus: logged.detail ?? '',
      detailedStatusCode: logged.code,
      segments: logged.units ?? countSegments(request.body).segments,
      encoding: request.encoding,
      late: true,
    };
    this.deps.countSent();
    this.deps.output()?.([msg, null, null]);
  }

  /** Stops the waits: those sends stay in the outbox, and wait again at the next start. */
  stop(): void {
    for (const { timer } of this.awaiting.values()) this.deps.timers.clearTimeout(timer);
    this.awaiting.clear();
  }

  /** No report came: Exotel never took it (unless another instance heard its report), so it goes again. */
  private async noReport(customField: string): Promise<void> {
    const waiting = this.awaiting.get(customField);
    const send = this.deps.output();
    if (!waiting || this.deps.signal.aborted || !send) return;
    this.awaiting.delete(customField);
    const logged = await this.deps.store.sendLogEntry(customField);
    if (logged?.sid) return this.settleLate(waiting.entry, logged);
    this.deps.log.warn(this.deps.translate('warn.resend', { phone: waiting.entry.phone }));
    await this.deps.resend(waiting.entry, send);
  }

  private forget(customField: string): void {
    const waiting = this.awaiting.get(customField);
    if (!waiting) return;
    this.deps.timers.clearTimeout(waiting.timer);
    this.awaiting.delete(customField);
  }
}
