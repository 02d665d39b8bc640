// The runtime side of the exotel-sms editor plugin (plugins/exotel-sms.html), whose SMS tab holds the
// operators' view (operators-endpoints.ts) and the sandbox phone. The phone on the admin API: threads
// of sandbox accounts, and replies handed in-process to the account's own exotel-inbound nodes
// (sandbox-endpoints.ts), through the same checks as Exotel's callbacks (token, allow-list, parsing,
// dedupe, record). No HTTP listener of its own. Off for live accounts.
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { sandboxSid } from '../exotel/sandbox';
import type { InboundSms } from '../exotel/webhook';
import { toE164 } from '../sms/phone';
import type { SandboxMessage, Store } from '../store';
import type { AccountNode } from '../nodes/exotel-account';
import type { InboundCall } from '../nodes/exotel-inbound/controller';
import { openStore } from '../nodes/runtime';
import { sandboxEndpointsOf } from './sandbox-endpoints';
import { registerOperatorsAdmin } from './operators-endpoints';

export const SANDBOX_TOPIC = 'exotel-sandbox';
const MAX_REPLY_LENGTH = 2_000;

const registered = new WeakSet<object>();

/** What a send node did not send: msg.error's code and message, and the node, for the red bubble. */
export interface NotSentCause {
  code: string;
  message: string;
  node: { id: string; name: string };
}

/** A message as the phone gets it: a failed send carries its cause as `error` (stored as JSON in `detail`). */
export function forPhone(message: SandboxMessage): SandboxMessage & { error?: NotSentCause } {
  if (message.direction !== 'out' || message.status !== 'failed' || !message.detail) return message;
  try {
    const cause = JSON.parse(message.detail) as Partial<NotSentCause>;
    const node = cause.node && typeof cause.node === 'object' ? cause.node : { id: '', name: '' };
    return { ...message, detail: null, error: { code: String(cause.code ?? ''), message: String(cause.message ?? ''), node: { id: String(node.id ?? ''), name: String(node.name ?? '') } } };
  } catch {
    return message;
  }
}

export function publishSandboxMessage(RED: NodeAPI, message: SandboxMessage): void {
  RED.comms.publish(`${SANDBOX_TOPIC}/${message.account}`, forPhone(message) as unknown as object, false);
}


/** The SMS in nodes that take this account's sandbox replies: only those that own their route. */
function inboundNodesOf(accountId: string): Array<{ id: string; path: string; name: string }> {
  return sandboxEndpointsOf(accountId).map((e) => ({ id: e.nodeId, path: e.path, name: e.name }));
}

/** An SMS that reached a sandbox account's webhook from outside the phone (curl, a test): it joins the thread. */
export async function addCallbackToThread(RED: NodeAPI, store: Pick<Store, 'addSandboxMessage'>, accountId: string, sms: InboundSms, path: string): Promise<void> {
  const message = await store.addSandboxMessage({
    account: accountId, phone: sms.from, direction: 'in', body: sms.body, sid: sms.sid, status: 'received', detail: path,
    segments: null, encoding: null, at: Date.now(),
  });
  publishSandboxMessage(RED, message);
}

function sandboxAccount(RED: NodeAPI, id: string): AccountNode | null {
  const node = RED.nodes.getNode(id) as AccountNode | null;
  return node && node.type === 'exotel-account' && node.mode === 'sandbox' ? node : null;
}

export function registerSandboxAdmin(RED: NodeAPI): void {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission('exotel-account.read');
  const write = RED.auth.needsPermission('exotel-account.write');

  // Each request borrows the runtime's store (a deployed sandbox account holds it open).
  const withAccount = (fn: (account: AccountNode, store: Store, req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    const account = sandboxAccount(RED, String(req.params.id));
    if (!account) {
      res.status(404).json({ error: 'no deployed sandbox account with this id: the sandbox is off for live accounts' });
      return;
    }
    const handle = openStore(RED);
    try {
      await fn(account, handle.store, req, res);
    } catch (err) {
      if (!res.headersSent) res.status(500).json({ error: account.redact((err as Error).message) });
    } finally {
      await handle.release();
    }
  };

  RED.httpAdmin.get('/exotel-sandbox/accounts', read, (_req: Request, res: Response) => {
    const accounts: unknown[] = [];
    (RED.nodes as unknown as { eachNode(cb: (n: { id: string; type: string }) => void): void }).eachNode((n) => {
      if (n.type !== 'exotel-account') return;
      const account = sandboxAccount(RED, n.id);
      if (account) accounts.push({ id: account.id, name: account.name || account.defaultFrom || account.id, from: account.defaultFrom, inbound: inboundNodesOf(account.id) });
    });
    res.json(accounts);
  });

  RED.httpAdmin.get('/exotel-sandbox/:id/threads', read, withAccount(async (account, store, _req, res) => {
    res.json((await store.sandboxThreads(account.id)).map((thread) => ({ ...thread, last: forPhone(thread.last) })));
  }));

  RED.httpAdmin.get('/exotel-sandbox/:id/messages', read, withAccount(async (account, store, req, res) => {
    const phone = toE164(req.query.phone, account.defaultCountry, 'possible');
    if (!phone) {
      res.status(400).json({ error: 'phone is not a phone number' });
      return;
    }
    res.json((await store.sandboxThread(account.id, phone)).map(forPhone));
  }));

  RED.httpAdmin.delete('/exotel-sandbox/:id/messages', write, withAccount(async (account, store, req, res) => {
    const phone = toE164(req.query.phone, account.defaultCountry, 'possible');
    if (!phone) {
      res.status(400).json({ error: 'phone is not a phone number' });
      return;
    }
    res.json({ deleted: await store.clearSandboxThread(account.id, phone) });
  }));

  // The customer replies: handed to the account's SMS in node as Exotel's callback would be, and kept in the thread.
  RED.httpAdmin.post('/exotel-sandbox/:id/reply', write, withAccount(async (account, store, req, res) => {
    const body = (req.body ?? {}) as { phone?: unknown; text?: unknown; path?: unknown };
    const phone = toE164(body.phone, account.defaultCountry, 'possible');
    if (!phone) {
      res.status(400).json({ error: 'phone is not a phone number' });
      return;
    }
    if (typeof body.text !== 'string' || body.text.length > MAX_REPLY_LENGTH) {
      res.status(400).json({ error: `text must be text of at most ${MAX_REPLY_LENGTH} characters` });
      return;
    }
    const endpoints = sandboxEndpointsOf(account.id);
    const endpoint = typeof body.path === 'string' && body.path ? endpoints.find((e) => e.path === body.path) : endpoints[0];
    if (!endpoint) {
      res.status(409).json({ error: 'no deployed exotel-inbound node uses this account: add one to receive replies' });
      return;
    }
    const sid = sandboxSid('in');
    // In the thread before the flow can answer it, so that the reply comes after it.
    const incoming = await store.addSandboxMessage({
      account: account.id, phone, direction: 'in', body: body.text, sid, status: 'sending', detail: endpoint.path,
      segments: null, encoding: null, at: Date.now(),
    });
    publishSandboxMessage(RED, incoming);
    const form = new URLSearchParams({
      SmsSid: sid,
      From: phone,
      To: account.defaultFrom,
      Body: body.text,
      DateCreated: new Date().toISOString(),
      AccountSid: account.accountSid,
    });
    const contentType = 'application/x-www-form-urlencoded';
    const call: InboundCall = {
      method: 'POST',
      ip: '127.0.0.1', // the phone is on this machine: an allow-list without it refuses the reply, as it would a local curl
      query: account.callbackQuery().replace(/^\?/, ''),
      contentType,
      readBody: async () => ({ body: Buffer.from(form.toString()), contentType }),
    };
    const answer = await endpoint.receive(account.id, call);
    const reason = answer.error ?? '';
    const accepted = answer.status === 200;
    const message = (await store.updateSandboxMessage(
      incoming.id,
      accepted ? 'received' : 'rejected',
      accepted ? endpoint.path : `${endpoint.path} answered ${answer.status}${reason ? `: ${reason}` : ''}`,
    )) ?? incoming;
    publishSandboxMessage(RED, message);
    res.status(accepted ? 200 : 502).json({ message, webhookStatus: answer.status, ...(reason ? { error: reason } : {}) });
  }));
}

/** The plugin: Node-RED loads it from package.json "node-red".plugins, before the nodes. */
export default function (RED: NodeAPI): void {
  (RED as unknown as { plugins: { registerPlugin(id: string, definition: object): void } }).plugins.registerPlugin('exotel-sms', {});
  registerSandboxAdmin(RED);
  registerOperatorsAdmin(RED);
}
