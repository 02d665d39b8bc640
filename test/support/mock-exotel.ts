// A local stand-in for Exotel's SMS API: records every send request and answers as Exotel does,
// or with the faults a test scripts (status codes, Retry-After, delays, dropped connections).
import http from 'node:http';
import type net from 'node:net';

/** One scripted answer: a status (200 when absent), headers, a body, a delay, or a dropped connection. */
export interface MockStep {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  delayMs?: number;
  reset?: boolean;
}

/** One request the mock received, and how it was answered (null while pending). */
export interface MockRequest {
  method: string | undefined;
  url: string | undefined;
  headers: http.IncomingHttpHeaders;
  form: Record<string, string>;
  answered: number | 'reset' | null;
}

/** `R`: what the mock records of each request (the drills' mock records more). */
export class MockExotel<R extends MockRequest = MockRequest> {
  requests: R[] = [];
  /** queued scripted answers; when empty every send succeeds */
  script: MockStep[] = [];
  nextSid = 1;
  url = '';
  readonly server: http.Server;
  readonly sockets = new Set<net.Socket>();

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Scripts the next answers: {status, body, headers, delayMs, reset} each. */
  answer(...answers: MockStep[]): this {
    this.script.push(...answers);
    return this;
  }

  /** The SMS sent so far, as {to, from, body, ...form fields}. */
  get sent(): Record<string, string>[] {
    return this.requests.filter((r) => r.answered === 200).map((r) => r.form);
  }

  /** What Exotel answers: the scripted body, an SMSMessage for a 200, or a RestException. */
  bodyFor(status: number, step: MockStep, form: Record<string, string>, url: string | undefined): unknown {
    if (step.body !== undefined) return step.body;
    if (status !== 200) return { RestException: { Status: status, Code: status * 100, Message: `mock error ${status}` } };
    return {
      SMSMessage: {
        Sid: `mock-${this.nextSid++}`,
        AccountSid: (url ?? '').split('/')[3],
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

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const form = Object.fromEntries(new URLSearchParams(raw));
      const record: MockRequest = { method: req.method, url: req.url, headers: req.headers, form, answered: null };
      this.requests.push(record as R);
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
