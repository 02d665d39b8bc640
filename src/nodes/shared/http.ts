// Routes on Node-RED's HTTP server (RED.httpNode), typed by what is used of it: no Node-RED import.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readRawBody } from '../../exotel/request-body';
import type { InboundCall, Reply } from '../exotel-inbound/controller';

/** settings.js `httpNodeMiddleware`, or a pass-through. */
export function middlewareOf(settings: object): RequestHandler | RequestHandler[] {
  const configured = (settings as { httpNodeMiddleware?: RequestHandler | RequestHandler[] }).httpNodeMiddleware;
  if (typeof configured === 'function' || Array.isArray(configured)) return configured;
  return (_req: Request, _res: Response, next: NextFunction) => next();
}

/** Removes every route on `routePath`, so that a redeploy leaves no stale endpoint. */
export function removeRoutes(httpNode: object, routePath: string): void {
  // Express 4 keeps the routes on app._router, Express 5 (Node-RED 5) on app.router.
  const app = httpNode as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } };
  const stack = (app._router ?? app.router)?.stack;
  if (!stack) return;
  for (let i = stack.length - 1; i >= 0; i--) {
    if ((stack[i] as { route?: { path?: string } }).route?.path === routePath) stack.splice(i, 1);
  }
}

/** Everything after the first "?" (a "?" inside a value, as in `Body=Open?`, stays in the value). */
export function queryOf(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at === -1 ? '' : req.originalUrl.slice(at + 1);
}

/** A callback as the inbound controller reads it. */
export function callOf(req: Request): InboundCall {
  return {
    method: req.method,
    ip: req.ip ?? req.socket.remoteAddress,
    query: queryOf(req),
    authorization: req.headers.authorization,
    contentType: req.headers['content-type'],
    readBody: () => readRawBody(req),
  };
}

/** The controller's reply on the wire. */
export function answer(res: Response, reply: Reply): void {
  if (res.headersSent) return;
  if (reply.status === 200) return void res.status(200).set('Content-Type', 'text/plain; charset=utf-8').end();
  if (reply.challenge) res.set('WWW-Authenticate', 'Basic realm="exotel-inbound"');
  // JSON, never text/plain: Exotel's legacy applet sends a text/plain answer to the customer as an SMS.
  res.status(reply.status).json({ error: reply.error });
}
