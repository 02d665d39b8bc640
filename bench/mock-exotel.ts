// A fast local stand-in for Exotel's send API for the benchmarks, in a worker thread of the bench
// process (its own event loop: neither autocannon's work nor an in-process Node-RED holds up its
// answers). It answers every POST …/v1/Accounts/<sid>/Sms/send.json as Exotel does,
//   {"SMSMessage": {"Sid": …, "Status": "queued", "SmsUnits": 1, …}}
// and counts the requests per account SID (the path), keeping for each the `To` of every request
// and, on demand, when each arrived (ms, Date.now() in the worker), so that a benchmark can check that
// a flow sent exactly one SMS per callback and that the rate limit held at the receiving end.
//
// (test/support/mock-exotel is the tests' mock: in the test's own thread, with scripted faults.)
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

type Waiter = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export class BenchMockExotel {
  worker: Worker | null = null;
  url = '';
  private nextId = 1;
  private readonly pending = new Map<number, Waiter>();

  async start(): Promise<this> {
    // the worker runs this file: through tsx, as the benchmarks do
    const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--require', 'tsx/cjs'];
    const worker = new Worker(__filename, { execArgv });
    this.worker = worker;
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    worker.on('error', (err) => {
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    });
    const { port } = (await this.call('listen')) as { port: number };
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  private call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('the mock Exotel is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, ...args });
    });
  }

  /** Requests received per account SID: {sid: count}. */
  counts(): Promise<Record<string, number>> {
    return this.call('counts') as Promise<Record<string, number>>;
  }

  /** The `To` of every request of an account, in arrival order. */
  recipients(accountSid: string): Promise<string[]> {
    return this.call('recipients', { accountSid }) as Promise<string[]>;
  }

  /** Arrival times (ms since the epoch) of every request of an account. */
  arrivals(accountSid: string): Promise<number[]> {
    return this.call('arrivals', { accountSid }) as Promise<number[]>;
  }

  /** Keeps arrival times for an account from now on (off by default: they cost memory under load). */
  async timestamp(accountSid: string): Promise<void> {
    await this.call('timestamp', { accountSid });
  }

  async stop(): Promise<void> {
    if (!this.worker) return;
    await this.call('close').catch(() => undefined);
    await this.worker.terminate();
    this.worker = null;
  }
}

/** The worker: an HTTP server answering as Exotel's send API does. */
function serve(port: NonNullable<typeof parentPort>): void {
  const accounts = new Map<string, { count: number; to: string[]; at: number[] | null }>();
  const account = (sid: string) => {
    let entry = accounts.get(sid);
    if (!entry) accounts.set(sid, (entry = { count: 0, to: [], at: null }));
    return entry;
  };
  let nextSid = 1;
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      // /v1/Accounts/<sid>/Sms/send.json (any prefix before /v1)
      const match = /\/v1\/Accounts\/([^/]+)\/Sms\/send\.json$/.exec((req.url ?? '').split('?')[0]);
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

  const ops: Record<string, (m: { accountSid: string }) => unknown> = {
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port }))),
    counts: () => Object.fromEntries([...accounts].map(([sid, e]) => [sid, e.count])),
    recipients: ({ accountSid }) => accounts.get(accountSid)?.to ?? [],
    arrivals: ({ accountSid }) => accounts.get(accountSid)?.at ?? [],
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

  port.on('message', async (message: { id: number; op: string; accountSid: string }) => {
    try {
      const result = await ops[message.op](message);
      port.postMessage({ id: message.id, result });
    } catch (err) {
      port.postMessage({ id: message.id, error: String((err as Error)?.stack ?? err) });
    }
  });
}

if (!isMainThread && parentPort) serve(parentPort);
