// A local stand-in for Exotel's SMS API: records every send request and answers as Exotel does,
// or with the faults a test scripts (status codes, Retry-After, delays, dropped connections).
'use strict';
const http = require('node:http');

class MockExotel {
  constructor() {
    this.requests = [];
    /** queued scripted answers; when empty every send succeeds */
    this.script = [];
    this.nextSid = 1;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.sockets = new Set();
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Scripts the next answers: {status, body, headers, delayMs, reset} each. */
  answer(...answers) {
    this.script.push(...answers);
    return this;
  }

  /** The SMS sent so far, as {to, from, body, ...form fields}. */
  get sent() {
    return this.requests.filter((r) => r.answered === 200).map((r) => r.form);
  }

  /** What Exotel answers: the scripted body, an SMSMessage for a 200, or a RestException. */
  bodyFor(status, step, form, url) {
    if (step.body !== undefined) return step.body;
    if (status !== 200) return { RestException: { Status: status, Code: status * 100, Message: `mock error ${status}` } };
    return {
      SMSMessage: {
        Sid: `mock-${this.nextSid++}`,
        AccountSid: url.split('/')[3],
        From: form.From,
        To: form.To,
        Body: form.Body,
        Status: 'queued',
        DetailedStatus: 'PENDING_TO_OPERATOR',
        DetailedStatusCode: 21010,
        SmsUnits: 1,
      },
    };
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const form = Object.fromEntries(new URLSearchParams(raw));
      const record = { method: req.method, url: req.url, headers: req.headers, form, answered: null };
      this.requests.push(record);
      const step = this.script.shift() || {};
      const reply = () => {
        if (step.reset) {
          record.answered = 'reset';
          req.socket.destroy();
          return;
        }
        const status = step.status || 200;
        record.answered = status;
        const headers = { 'content-type': 'application/json', ...(step.headers || {}) };
        const body = this.bodyFor(status, step, form, req.url);
        res.writeHead(status, headers);
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (step.delayMs) setTimeout(reply, step.delayMs);
      else reply();
    });
  }
}

module.exports = { MockExotel };
