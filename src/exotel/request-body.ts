// Reads a callback's body with a size limit, so that a huge body is refused (413), not buffered.
import type { IncomingMessage } from 'node:http';

export const MAX_CALLBACK_BYTES = 64 * 1024;

export class BodyError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export interface RawBody {
  body: Buffer;
  /** set when a body parser before us already turned the body into an object: it is given back as JSON */
  contentType?: string;
}

export function readRawBody(req: IncomingMessage & { body?: unknown; _body?: boolean }, limit = MAX_CALLBACK_BYTES): Promise<RawBody> {
  const tooLarge = () => new BodyError(413, `the body is larger than ${limit / 1024} KB`);
  // What the sender declared counts whoever read the body: in a default Node-RED (admin and node
  // roots both /) Node-RED's own parser reads it first, with a 5 MB limit.
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    if (!req.readableEnded) req.resume();
    return Promise.reject(tooLarge());
  }
  // A body parser in httpNodeMiddleware may have read it already.
  if (req._body || req.readableEnded) {
    const body = req.body;
    let raw: RawBody;
    if (body === undefined || body === null) raw = { body: Buffer.alloc(0) };
    else if (Buffer.isBuffer(body)) raw = { body };
    else if (typeof body === 'string') raw = { body: Buffer.from(body) };
    else raw = { body: Buffer.from(JSON.stringify(body)), contentType: 'application/json' };
    // chunked, without a Content-Length: the parsed size decides
    return raw.body.length > limit ? Promise.reject(tooLarge()) : Promise.resolve(raw);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve({ body: Buffer.concat(chunks, size) });
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(new BodyError(400, `the body could not be read (${err.message})`));
      }
    });
  });
}
