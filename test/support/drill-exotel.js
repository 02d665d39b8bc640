// The mock Exotel of the failure drills: MockExotel's answers, plus a per-request fault policy
// (`decide`), the time each request arrived, and whether the client was still there to read a slow
// answer. A request the mock answered 200 is an SMS Exotel accepted — also when the client had given
// up waiting (it timed out): Exotel received the request and sends the SMS all the same, which is
// exactly the case where a retry makes the customer get it twice.
'use strict';
const { MockExotel } = require('./mock-exotel');

class DrillExotel extends MockExotel {
  /**
   * @param {object} [options]
   * @param {(record, mock) => object|undefined} [options.decide] the answer to a request:
   *   {status, headers, body, delayMs, reset}; undefined (or nothing scripted) is a success.
   *   Scripted answers (`answer()`) come first.
   * @param {(record) => void} [options.onRequest] called as each request arrives (before the answer)
   */
  constructor({ decide, onRequest } = {}) {
    super();
    this.decide = decide;
    this.onRequest = onRequest;
    this.attemptsByTo = new Map();
  }

  /** Requests as {to, body, at, answered, ...}: what the compliance check reads. */
  get received() {
    return this.requests.map((r) => ({ to: r.form.To, body: r.form.Body, at: r.at, answered: r.answered, clientGone: r.clientGone, record: r }));
  }

  /** SMS Exotel accepted (answered 200), whether or not the client read the answer. */
  get accepted() {
    return this.requests.filter((r) => r.answered === 200);
  }

  /** To → number of accepted SMS. */
  acceptedByTo() {
    const counts = new Map();
    for (const r of this.accepted) counts.set(r.form.To, (counts.get(r.form.To) ?? 0) + 1);
    return counts;
  }

  /** Answered counts by kind: {200: n, 500: n, reset: n, ...} */
  answerCounts() {
    const counts = {};
    for (const r of this.requests) counts[r.answered ?? 'pending'] = (counts[r.answered ?? 'pending'] ?? 0) + 1;
    return counts;
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const form = Object.fromEntries(new URLSearchParams(raw));
      const attempt = (this.attemptsByTo.get(form.To) ?? 0) + 1;
      this.attemptsByTo.set(form.To, attempt);
      const record = { method: req.method, url: req.url, headers: req.headers, form, at: Date.now(), attempt, answered: null, answeredAt: null, clientGone: false };
      this.requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.clientGone = true;
      });
      this.onRequest?.(record);
      const step = this.script.shift() || (this.decide && this.decide(record, this)) || {};
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
        record.sid = body?.SMSMessage?.Sid;
        if (record.clientGone) return;
        res.writeHead(status, headers);
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (step.delayMs) setTimeout(reply, step.delayMs);
      else reply();
    });
  }
}

module.exports = { DrillExotel };
