// exotel-inbound: the webhook Exotel calls for each SMS a customer sends. Authenticates, records
// the SMS durably, acknowledges with an empty 200, and only then hands it to the flow.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { hasWebhookToken, parseAllowList, type AllowList } from '../exotel/auth';
import { BodyError, readRawBody, type RawBody } from '../exotel/request-body';
import { parseInbound, type InboundSms } from '../exotel/webhook';
import type { InboundRecord } from '../store';
import { messages, openStore, packageSettings, ThrottledStatus, whenFlowsStarted } from './runtime';
import type { AccountNode } from './exotel-account';
import { migrate } from './contract';
import { contract, normalisePath, type InboundProps } from './exotel-inbound/contract';

export { normalisePath };

type InboundDef = NodeDef & InboundProps;

export interface InboundMessage extends NodeMessage {
  payload: string;
  phone: string;
  /** `replayed` is set on an SMS handed on again after a stop or crash */
  sms: InboundSms & { replayed?: boolean };
}

export const DEFAULT_REPLAY_WINDOW_MS = 10_000;

/** Paths in use in this runtime, so that a second node on one path is refused, not silently shadowed. */
const pathsInUse = new Map<string, string>();

/** Everything after the first "?" (a "?" inside a value, as in `Body=Open?`, stays in the value). */
function queryOf(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at === -1 ? '' : req.originalUrl.slice(at + 1);
}

function middlewareOf(RED: NodeAPI): RequestHandler | RequestHandler[] {
  const configured = (RED.settings as unknown as { httpNodeMiddleware?: RequestHandler | RequestHandler[] }).httpNodeMiddleware;
  if (typeof configured === 'function' || Array.isArray(configured)) return configured;
  return (_req: Request, _res: Response, next: NextFunction) => next();
}

function removeRoutes(RED: NodeAPI, routePath: string): void {
  // Express 4 keeps the routes on app._router, Express 5 (Node-RED 5) on app.router.
  const app = RED.httpNode as unknown as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } };
  const stack = (app._router ?? app.router)?.stack;
  if (!stack) return;
  for (let i = stack.length - 1; i >= 0; i--) {
    if ((stack[i] as { route?: { path?: string } }).route?.path === routePath) stack.splice(i, 1);
  }
}

export default function (RED: NodeAPI): void {
  function ExotelInboundNode(this: Node, def: InboundDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const m = messages(RED, 'exotel-inbound');
    const account = RED.nodes.getNode(def.account) as AccountNode | null;
    const routePath = normalisePath(def.path);

    if (!account) {
      status.now('red', 'ring', m('status.noAccount'));
      node.error(m('error.noAccount'));
      return;
    }
    if (!routePath) {
      status.now('red', 'ring', m('status.badPath'));
      node.error(m('error.badPath', { path: String(def.path ?? '').slice(0, 60) }));
      return;
    }
    const owner = pathsInUse.get(routePath);
    if (owner && owner !== node.id) {
      status.now('red', 'ring', m('status.pathInUse', { path: routePath }));
      node.error(m('error.pathInUse', { owner, path: routePath }));
      return;
    }
    let allowList: AllowList | null;
    try {
      allowList = parseAllowList(def.allowList);
    } catch (err) {
      status.now('red', 'ring', m('status.badAllowList'));
      node.error(m('error.allowList', { message: (err as Error).message }));
      return;
    }

    pathsInUse.set(routePath, node.id);
    const handle = openStore(RED);
    const store = handle.store;
    const counts = { received: 0, duplicate: 0, rejected: 0 };
    let closed = false;

    const showCounts = () => {
      const text = m('status.counts', counts);
      status.set(counts.rejected > 0 && counts.received === 0 ? 'yellow' : 'green', 'dot', text);
    };
    status.now('grey', 'ring', m('status.listening', { path: routePath }));

    // An SMS counts as handled once the flow has had `replayWindowMs` to act on it (an opt-out, a
    // conversation step, a send in the outbox). Should Node-RED die or stop sooner, it is handed on again
    // at the next start; the package's nodes do nothing twice for one SmsSid, so a replay is safe.
    const replayWindowMs = packageSettings(RED).replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    let emitted: Array<{ sid: string; at: number }> = [];
    const markSettled = async () => {
      const before = Date.now() - replayWindowMs;
      const settled = emitted.filter((e) => e.at <= before);
      if (settled.length === 0) return;
      emitted = emitted.filter((e) => e.at > before);
      await store.markInboundHandled(settled.map((e) => e.sid)).catch((err: Error) => node.warn(m('warn.markHandled', { count: settled.length, message: err.message })));
    };
    const settleTimer = setInterval(() => void markSettled(), Math.max(50, Math.min(replayWindowMs, 5_000)));

    const emit = (sms: InboundSms, replayed = false) => {
      const msg: InboundMessage = { payload: sms.body, phone: sms.from, sms: replayed ? { ...sms, replayed: true } : { ...sms } };
      node.send(msg);
      emitted.push({ sid: sms.sid, at: Date.now() });
    };

    const reject = (res: Response, code: number, reason: string) => {
      counts.rejected++;
      showCounts();
      if (code === 401) res.set('WWW-Authenticate', 'Basic realm="exotel-inbound"');
      // JSON, never text/plain: Exotel's legacy applet sends a text/plain answer to the customer as an SMS.
      res.status(code).json({ error: reason });
    };

    const authorise = (req: Request, res: Response): boolean => {
      if (allowList && !allowList.allows(req.ip ?? req.socket.remoteAddress)) {
        reject(res, 403, 'this address is not on the IP allow-list');
        return false;
      }
      const query = new URLSearchParams(queryOf(req));
      const tokens = query.getAll('token');
      const ok = account.checkWebhookToken((expected) =>
        hasWebhookToken(expected, tokens.length === 1 ? tokens[0] : undefined, req.headers.authorization),
      );
      if (!ok) {
        reject(res, 401, 'the webhook token is missing or wrong');
        return false;
      }
      return true;
    };

    const acknowledge = (res: Response) => {
      res.status(200).set('Content-Type', 'text/plain; charset=utf-8').end();
    };

    const onHead = (req: Request, res: Response) => {
      if (authorise(req, res)) acknowledge(res);
    };

    const onCallback = async (req: Request, res: Response) => {
      try {
        if (!authorise(req, res)) return;
        let raw: RawBody;
        try {
          raw = req.method === 'GET' ? { body: Buffer.alloc(0) } : await readRawBody(req);
        } catch (err) {
          if (err instanceof BodyError) return reject(res, err.status, err.message);
          throw err;
        }
        const parsed = parseInbound(
          {
            method: req.method,
            contentType: raw.contentType ?? req.headers['content-type'],
            query: queryOf(req),
            rawBody: raw.body,
          },
          account.defaultCountry,
        );
        if (!parsed.ok) return reject(res, parsed.status, parsed.reason);
        const sms = parsed.sms;
        if (sms.accountSid && account.accountSid && sms.accountSid !== account.accountSid) {
          return reject(res, 403, 'the AccountSid is not this account’s');
        }
        if (!sms.accountSid) sms.accountSid = account.accountSid;
        const record: InboundRecord = { ...sms, endpoint: routePath };
        let isNew: boolean;
        try {
          isNew = await store.recordInbound(record);
        } catch (err) {
          // Not recorded: answer 503 so that Exotel tries again, rather than lose the SMS.
          node.error(m('error.record', { sid: sms.sid, message: (err as Error).message }));
          res.status(503).json({ error: 'the message could not be recorded; try again' });
          return;
        }
        acknowledge(res);
        if (!isNew) {
          counts.duplicate++;
          showCounts();
          return;
        }
        counts.received++;
        showCounts();
        if (!closed) emit(sms);
      } catch (err) {
        node.error(m('error.callback', { message: account.redact((err as Error).message) }));
        if (!res.headersSent) res.status(500).json({ error: 'internal error' });
      }
    };

    const middleware = middlewareOf(RED);
    RED.httpNode.head(routePath, middleware, onHead);
    RED.httpNode.get(routePath, middleware, onCallback);
    RED.httpNode.post(routePath, middleware, onCallback);

    // SMS recorded before a restart but never handed to the flow (the process died in between).
    const replay = async () => {
      if (closed) return;
      try {
        const pending = await store.unhandledInbound(routePath);
        if (pending.length > 0) node.log(m('log.replay', { count: pending.length }));
        for (const record of pending) {
          const { endpoint: _endpoint, ...sms } = record;
          emit(sms, true);
        }
      } catch (err) {
        node.error(m('error.readLog', { message: (err as Error).message }));
      }
    };
    whenFlowsStarted(RED, node, () => void replay());

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      removeRoutes(RED, routePath);
      if (pathsInUse.get(routePath) === node.id) pathsInUse.delete(routePath);
      status.stop();
      clearInterval(settleTimer);
      markSettled()
        .then(() => handle.release())
        .then(done, done);
    });
  }

  RED.nodes.registerType('exotel-inbound', ExotelInboundNode as unknown as (this: Node, def: NodeDef) => void);
}
