// The admin API of the SMS tab's operators' view (src/plugins/operators/view.ts does the work): on
// Node-RED's admin app, behind its permissions `exotel-sms.read` (looking) and `exotel-sms.write`
// (changing, exporting a customer's data). Each request borrows the runtime's store; the retention
// purge of the inbound log and of the refused callbacks runs when the flows start and every six hours.
import type { NodeAPI } from 'node-red';
import type { Request, RequestHandler, Response } from 'express';
import { isUnavailable } from '../store';
import type { AccountNode } from '../nodes/exotel-account';
import { openStore, retentionMs } from '../nodes/shared/settings';
import { MAX_IMPORT_CHARS, OperatorsView, purgeOldLogs, ViewError, type ViewAccount } from './operators/view';
import { sendNodeOf } from './send-nodes';

const registered = new WeakSet<object>();
const retention = new WeakMap<object, { red: NodeAPI }>();
const PURGE_EVERY_MS = 6 * 3_600_000;

/** The deployed exotel-account nodes. */
export function deployedAccounts(RED: NodeAPI): ViewAccount[] {
  const accounts: ViewAccount[] = [];
  (RED.nodes as unknown as { eachNode(cb: (n: { id: string; type: string }) => void): void }).eachNode((n) => {
    if (n.type !== 'exotel-account') return;
    const account = RED.nodes.getNode(n.id) as AccountNode | null;
    if (!account) return;
    accounts.push({
      id: account.id, name: account.name || account.defaultFrom || account.id, accountSid: account.accountSid ?? '',
      mode: account.mode, defaultCountry: account.defaultCountry || 'IN',
    });
  });
  return accounts;
}

/** Who is signed in to the editor (adminAuth on), for the opt-out history; null without adminAuth. */
function userOf(req: Request): string | null {
  const user = (req as Request & { user?: { username?: unknown } }).user;
  return user && typeof user.username === 'string' && user.username ? user.username : null;
}

/** A body sent as text (the CSV import): read up to `max` characters; Node-RED parses only JSON and forms. */
async function textBody(req: Request, max: number): Promise<string> {
  if (typeof req.body === 'string') return req.body;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max * 4) throw new ViewError(413, `the CSV is larger than ${max / 1024 / 1024} MB: split it`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function attachment(res: Response, type: string, name: string, content: string): void {
  res.set('Content-Type', `${type}; charset=utf-8`);
  res.set('Content-Disposition', `attachment; filename="${name}"`);
  res.set('Cache-Control', 'no-store');
  res.send(content);
}

export function registerOperatorsAdmin(RED: NodeAPI): void {
  scheduleRetention(RED);
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission('exotel-sms.read') as RequestHandler;
  const write = RED.auth.needsPermission('exotel-sms.write') as RequestHandler;

  const route = (fn: (view: OperatorsView, req: Request, res: Response) => Promise<unknown>) => async (req: Request, res: Response) => {
    let handle: ReturnType<typeof openStore> | undefined;
    try {
      handle = openStore(RED);
      const view = new OperatorsView({
        store: handle.store,
        accounts: () => deployedAccounts(RED),
        sendNode: (id) => {
          const node = RED.nodes.getNode(id) as { name?: string; type?: string } | null;
          return node && node.type === 'exotel-send' ? { name: node.name ?? '' } : null;
        },
        resend: (entry) => sendNodeOf(entry.nodeId)?.resend(entry),
      });
      const result = await fn(view, req, res);
      if (!res.headersSent) res.json(result ?? { ok: true });
    } catch (err) {
      if (res.headersSent) return;
      if (err instanceof ViewError) res.status(err.status).json({ error: err.message });
      else if (isUnavailable(err)) res.status(503).json({ error: (err as Error).message });
      else {
        RED.log.warn(`exotel-sms: the SMS tab's request ${req.method} ${req.path} failed: ${(err as Error).message}`);
        res.status(500).json({ error: (err as Error).message });
      }
    } finally {
      await handle?.release();
    }
  };
  const admin = RED.httpAdmin;

  admin.get('/exotel-sms/log', read, route((view, req) => view.log(req.query)));

  admin.get('/exotel-sms/opt-outs', read, route((view, req) => view.optOuts(req.query)));
  admin.get('/exotel-sms/opt-outs/history', read, route((view, req) => view.optOutHistory(req.query.phone)));
  admin.post('/exotel-sms/opt-outs', write, route((view, req) => view.setOptStatus((req.body ?? {}) as Record<string, unknown>, userOf(req))));
  // the compliance officer's file: every number with a record, its status, keyword, source and time
  admin.get('/exotel-sms/opt-outs.csv', read, route(async (view, _req, res) => {
    const day = new Date().toISOString().slice(0, 10);
    attachment(res, 'text/csv', `opt-outs-${day}.csv`, await view.optOutCsv());
  }));
  admin.post('/exotel-sms/opt-outs/import', write, route(async (view, req) => view.importOptOuts(await textBody(req, MAX_IMPORT_CHARS), req.query.status, userOf(req))));

  admin.get('/exotel-sms/conversations', read, route((view, req) => view.conversations(req.query)));
  admin.post('/exotel-sms/conversations/end', write, route((view, req) => view.endConversation((req.body ?? {}) as Record<string, unknown>)));

  admin.get('/exotel-sms/outbox', read, route((view, req) => view.outbox(req.query)));
  admin.post('/exotel-sms/outbox/:id/retry', write, route((view, req) => view.retry(req.params.id)));
  admin.delete('/exotel-sms/outbox/:id', write, route((view, req) => view.discard(req.params.id)));

  admin.get('/exotel-sms/glance', read, route((view, req) => view.glance(req.query)));

  // A customer's data request: everything held about the number (a download), then its erasure,
  // which keeps the opt-out record and its history. Both need write: the export is personal data.
  admin.get('/exotel-sms/numbers/:phone', write, route(async (view, req, res) => {
    const data = await view.numberData(req.params.phone);
    attachment(res, 'application/json', `exotel-sms-${data.phone.replace(/[^0-9]/g, '')}.json`, JSON.stringify(data, null, 2));
  }));
  admin.delete('/exotel-sms/numbers/:phone', write, route((view, req) => view.eraseNumber(req.params.phone)));
}

/**
 * The inbound log and the refused callbacks are kept `exotelSms.retentionDays` (default 180), then
 * deleted (each send node deletes the send log's SMS); opt-outs and their history are kept. Runs when the flows start (only when an
 * Exotel account is deployed: nothing else opens the store) and every six hours.
 */
function scheduleRetention(RED: NodeAPI): void {
  // One schedule a runtime (its event bus), purging with the runtime's latest API (tests load it again and again).
  const known = retention.get(RED.events);
  if (known) {
    known.red = RED;
    return;
  }
  const current = { red: RED };
  retention.set(RED.events, current);
  RED.events.on('flows:started', () => void purgeInboundLog(current.red));
  setInterval(() => void purgeInboundLog(current.red), PURGE_EVERY_MS).unref();
}

async function purgeInboundLog(RED: NodeAPI): Promise<void> {
  if (!deployedAccounts(RED).length) return;
  let handle: ReturnType<typeof openStore> | undefined;
  try {
    handle = openStore(RED);
    const { inbound, refused } = await purgeOldLogs(handle.store, Date.now() - retentionMs(RED));
    if (inbound + refused > 0) {
      RED.log.info(`exotel-sms: deleted ${inbound} received SMS and ${refused} refused callbacks older than the retention period (exotelSms.retentionDays)`);
    }
  } catch (err) {
    RED.log.warn(`exotel-sms: the SMS logs could not be purged: ${(err as Error).message}`);
  } finally {
    await handle?.release();
  }
}
