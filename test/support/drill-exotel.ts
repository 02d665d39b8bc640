// The mock Exotel of the failure drills: MockExotel's answers, plus a per-request fault policy
// (`decide`), the time each request arrived, and whether the client was still there to read a slow
// answer. A request the mock answered 200 is an SMS Exotel accepted — also when the client had given
// up waiting (it timed out): Exotel received the request and sends the SMS all the same, which is
// exactly the case where a retry makes the customer get it twice.
import type http from 'node:http';
import { MockExotel, type MockRequest, type MockStep } from './mock-exotel';

/** A request as the drills' mock records it: when it arrived and was answered, and how. */
export interface DrillRequest extends MockRequest {
  at: number;
  /** 1 for the first request to its number, 2 for the next… */
  attempt: number;
  answeredAt: number | null;
  /** the client had given up (closed the connection) before the answer */
  clientGone: boolean;
  step?: MockStep;
  sid?: string;
}

/** A request as the compliance check reads it. */
export interface Received {
  to: string;
  body: string;
  at: number;
  answered: MockRequest['answered'];
  clientGone: boolean;
  record: DrillRequest;
}

export type Decide = (record: DrillRequest, mock: DrillExotel) => MockStep | undefined;

/**
 * Delivery reports, as Exotel posts them: for every SMS it accepted (answered 200, whether or not the
 * client read the answer) with a StatusCallback, a form POST of SmsSid, To, Status sent and the
 * CustomField, tried again every `retryMs` until answered 200 (Node-RED may be down), for `giveUpMs`.
 */
export interface DrillReports {
  /** where a StatusCallback URL is reached from here (the public URL is a proxy's) */
  target(statusCallback: string): string;
  delayMs?: number;
  retryMs?: number;
  giveUpMs?: number;
}

class DrillExotel extends MockExotel<DrillRequest> {
  /**
   * @param {object} [options]
   * @param {(record, mock) => object|undefined} [options.decide] the answer to a request:
   *   {status, headers, body, delayMs, reset}; undefined (or nothing scripted) is a success.
   *   Scripted answers (`answer()`) come first.
   * @param {(record) => void} [options.onRequest] called as each request arrives (before the answer)
   */
  decide: Decide | undefined;
  onRequest: ((record: DrillRequest) => void) | undefined;
  attemptsByTo = new Map<string, number>();

  reports: DrillReports | undefined;
  /** reports not yet answered 200 */
  reportsPending = 0;
  /** reports answered 200, by SmsSid */
  readonly reported = new Map<string, number>();
  private stopped = false;

  constructor({ decide, onRequest, reports }: { decide?: Decide; onRequest?: (record: DrillRequest) => void; reports?: DrillReports } = {}) {
    super();
    this.decide = decide;
    this.onRequest = onRequest;
    this.reports = reports;
  }

  override async stop(): Promise<void> {
    this.stopped = true;
    await super.stop();
  }

  /** Posts the delivery report of an accepted SMS until it is answered 200. */
  private async report(record: DrillRequest): Promise<void> {
    const reports = this.reports;
    const callback = record.form.StatusCallback;
    if (!reports || !callback || !record.sid) return;
    this.reportsPending++;
    const body = new URLSearchParams({ SmsSid: record.sid, To: record.form.To, Status: 'sent', DetailedStatus: 'DELIVERED_TO_HANDSET', DetailedStatusCode: '20005', SmsUnits: '1', CustomField: record.form.CustomField ?? '' }).toString();
    const end = Date.now() + (reports.giveUpMs ?? 120_000);
    await new Promise((resolve) => setTimeout(resolve, reports.delayMs ?? 200));
    try {
      while (!this.stopped && Date.now() < end) {
        const status = await fetch(reports.target(callback), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(
          (res) => res.status,
          () => null,
        );
        if (status === 200) {
          this.reported.set(record.sid, (this.reported.get(record.sid) ?? 0) + 1);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, reports.retryMs ?? 500));
      }
    } finally {
      this.reportsPending--;
    }
  }

  /** Requests as {to, body, at, answered, ...}: what the compliance check reads. */
  get received(): Received[] {
    return this.requests.map((r) => ({ to: r.form.To, body: r.form.Body, at: r.at, answered: r.answered, clientGone: r.clientGone, record: r }));
  }

  /** SMS Exotel accepted (answered 200), whether or not the client read the answer. */
  get accepted(): DrillRequest[] {
    return this.requests.filter((r) => r.answered === 200);
  }

  /** To → number of accepted SMS. */
  acceptedByTo(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.accepted) counts.set(r.form.To, (counts.get(r.form.To) ?? 0) + 1);
    return counts;
  }

  /** Answered counts by kind: {200: n, 500: n, reset: n, ...} */
  answerCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) counts[r.answered ?? 'pending'] = (counts[r.answered ?? 'pending'] ?? 0) + 1;
    return counts;
  }

  override handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const form = Object.fromEntries(new URLSearchParams(raw));
      const attempt = (this.attemptsByTo.get(form.To) ?? 0) + 1;
      this.attemptsByTo.set(form.To, attempt);
      const record: DrillRequest = { method: req.method, url: req.url, headers: req.headers, form, at: Date.now(), attempt, answered: null, answeredAt: null, clientGone: false };
      this.requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.clientGone = true;
      });
      this.onRequest?.(record);
      const step: MockStep = this.script.shift() || (this.decide && this.decide(record, this)) || {};
      record.step = step;
      const reply = () => {
        record.answeredAt = Date.now();
        if (step.reset) {
          record.answered = 'reset';
          req.socket.destroy();
          return;
        }
        const status = step.status || 200;
        record.answered = status;
        if (res.destroyed || req.socket.destroyed) record.clientGone = true;
        const headers = { 'content-type': 'application/json', ...(step.headers || {}) };
        const body = this.bodyFor(status, step, form, req.url);
        record.sid = (body as { SMSMessage?: { Sid?: string } } | undefined)?.SMSMessage?.Sid;
        if (status === 200) void this.report(record);
        if (record.clientGone) return;
        res.writeHead(status, headers);
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (step.delayMs) setTimeout(reply, step.delayMs);
      else reply();
    });
  }
}

export { DrillExotel };
