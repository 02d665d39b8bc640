// A fast local stand-in for Exotel's send API for the benchmarks, in a worker thread of the bench
// process (its own event loop: neither autocannon's work nor an in-process Node-RED holds up its
// answers). It answers every POST …/v1/Accounts/<sid>/Sms/send.json as Exotel does,
//   {"SMSMessage": {"Sid": …, "Status": "queued", "SmsUnits": 1, …}}
// and counts the requests per account SID (the path), keeping for each the `To` of every request
// and, on demand, when each arrived (ms, Date.now() in the worker), so that a benchmark can check that
// a flow sent exactly one SMS per callback and that the rate limit held at the receiving end.
'use strict';

const { Worker, isMainThread, parentPort } = require('node:worker_threads');

if (isMainThread) {
  class BenchMockExotel {
    constructor() {
      this.worker = null;
      this.url = null;
      this.nextId = 1;
      this.pending = new Map();
    }

    async start() {
      this.worker = new Worker(__filename);
      this.worker.on('message', (message) => {
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        this.pending.delete(message.id);
        if (message.error) waiter.reject(new Error(message.error));
        else waiter.resolve(message.result);
      });
      this.worker.on('error', (err) => {
        for (const waiter of this.pending.values()) waiter.reject(err);
        this.pending.clear();
      });
      const { port } = await this.call('listen');
      this.url = `http://127.0.0.1:${port}`;
      return this;
    }

    call(op, args = {}) {
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.worker.postMessage({ id, op, ...args });
      });
    }

    /** Requests received per account SID: {sid: count}. */
    counts() {
      return this.call('counts');
    }

    /** The `To` of every request of an account, in arrival order. */
    recipients(accountSid) {
      return this.call('recipients', { accountSid });
    }

    /** Arrival times (ms since the epoch) of every request of an account. */
    arrivals(accountSid) {
      return this.call('arrivals', { accountSid });
    }

    /** Forgets an account's requests. */
    reset(accountSid) {
      return this.call('reset', { accountSid });
    }

    /** Keeps arrival times for an account from now on (off by default: they cost memory under load). */
    timestamp(accountSid) {
      return this.call('timestamp', { accountSid });
    }

    async stop() {
      if (!this.worker) return;
      await this.call('close').catch(() => undefined);
      await this.worker.terminate();
      this.worker = null;
    }
  }

  module.exports = { BenchMockExotel };
} else {
  const http = require('node:http');

  const accounts = new Map(); // sid → { count, to: string[], at: number[] | null }
  const account = (sid) => {
    let entry = accounts.get(sid);
    if (!entry) accounts.set(sid, (entry = { count: 0, to: [], at: null }));
    return entry;
  };
  let nextSid = 1;
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      // /v1/Accounts/<sid>/Sms/send.json (any prefix before /v1)
      const match = /\/v1\/Accounts\/([^/]+)\/Sms\/send\.json$/.exec(req.url.split('?')[0]);
      if (req.method !== 'POST' || !match) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ RestException: { Status: 404, Code: 20404, Message: 'not found' } }));
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const sid = decodeURIComponent(match[1]);
      const entry = account(sid);
      entry.count++;
      entry.to.push(form.get('To') ?? '');
      if (entry.at) entry.at.push(at);
      const body = JSON.stringify({
        SMSMessage: {
          Sid: `bench${(nextSid++).toString(16).padStart(12, '0')}`,
          AccountSid: sid,
          From: form.get('From'),
          To: form.get('To'),
          Status: 'queued',
          DetailedStatus: 'PENDING_TO_OPERATOR',
          DetailedStatusCode: 21010,
          SmsUnits: 1,
        },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const ops = {
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port }))),
    counts: () => Object.fromEntries([...accounts].map(([sid, e]) => [sid, e.count])),
    recipients: ({ accountSid }) => accounts.get(accountSid)?.to ?? [],
    arrivals: ({ accountSid }) => accounts.get(accountSid)?.at ?? [],
    reset: ({ accountSid }) => {
      accounts.delete(accountSid);
      return true;
    },
    timestamp: ({ accountSid }) => {
      account(accountSid).at ??= [];
      return true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve(true));
      }),
  };

  parentPort.on('message', async (message) => {
    try {
      const result = await ops[message.op](message);
      parentPort.postMessage({ id: message.id, result });
    } catch (err) {
      parentPort.postMessage({ id: message.id, error: String(err?.stack ?? err) });
    }
  });
}
