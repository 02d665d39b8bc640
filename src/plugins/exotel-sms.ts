// The runtime side of the exotel-sms editor plugin (plugins/exotel-sms.html): the "SMS sandbox"
// phone on the admin API: threads of sandbox accounts, and replies that reach the account's
// exotel-inbound nodes over HTTP, through the same route Exotel calls (same parsing, token, dedupe
// and store). Off for live accounts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { request } from 'undici';
import { sandboxSid } from '../exotel/sandbox';
import { toE164 } from '../sms/phone';
import type { SandboxMessage, Store } from '../store';
import type { AccountNode } from '../nodes/exotel-account';
import { normalisePath } from '../nodes/exotel-inbound/contract';
import { openStore } from '../nodes/runtime';

export const SANDBOX_TOPIC = 'exotel-sandbox';
const MAX_REPLY_LENGTH = 2_000;

const registered = new WeakSet<object>();

export function publishSandboxMessage(RED: NodeAPI, message: SandboxMessage): void {
  RED.comms.publish(`${SANDBOX_TOPIC}/${message.account}`, message as unknown as object, false);
}

interface InboundConfig {
  id: string;
  type: string;
  account?: string;
  path?: string;
  name?: string;
  d?: boolean;
}

/** The deployed exotel-inbound nodes of an account. */
function inboundNodesOf(RED: NodeAPI, accountId: string): Array<{ id: string; path: string; name: string }> {
  const found: Array<{ id: string; path: string; name: string }> = [];
  (RED.nodes as unknown as { eachNode(cb: (n: InboundConfig) => void): void }).eachNode((n) => {
    const path = n.type === 'exotel-inbound' ? normalisePath(n.path) : '';
    if (path && n.account === accountId && !n.d && RED.nodes.getNode(n.id)) found.push({ id: n.id, path, name: n.name ?? '' });
  });
  return found;
}

function sandboxAccount(RED: NodeAPI, id: string): AccountNode | null {
  const node = RED.nodes.getNode(id) as AccountNode | null;
  return node && node.type === 'exotel-account' && node.mode === 'sandbox' ? node : null;
}

/** A loopback HTTP server in front of RED.httpNode, so that sandbox replies arrive over real HTTP. */
let bridge: { app: unknown; server: http.Server; port: Promise<number> } | null = null;
function bridgePort(RED: NodeAPI): Promise<number> {
  if (!bridge || bridge.app !== RED.httpNode) {
    bridge?.server.close();
    const server = http.createServer(RED.httpNode as unknown as http.RequestListener);
    server.unref();
    const port = new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
    bridge = { app: RED.httpNode, server, port };
  }
  return bridge.port;
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
    (RED.nodes as unknown as { eachNode(cb: (n: InboundConfig) => void): void }).eachNode((n) => {
      if (n.type !== 'exotel-account') return;
      const account = sandboxAccount(RED, n.id);
      if (account) accounts.push({ id: account.id, name: account.name || account.defaultFrom || account.id, from: account.defaultFrom, inbound: inboundNodesOf(RED, account.id) });
    });
    res.json(accounts);
  });

  RED.httpAdmin.get('/exotel-sandbox/:id/threads', read, withAccount(async (account, store, _req, res) => {
    res.json(await store.sandboxThreads(account.id));
  }));

  RED.httpAdmin.get('/exotel-sandbox/:id/messages', read, withAccount(async (account, store, req, res) => {
    const phone = toE164(req.query.phone, account.defaultCountry, 'possible');
    if (!phone) {
      res.status(400).json({ error: 'phone is not a phone number' });
      return;
    }
    res.json(await store.sandboxThread(account.id, phone));
  }));

  RED.httpAdmin.delete('/exotel-sandbox/:id/messages', write, withAccount(async (account, store, req, res) => {
    const phone = toE164(req.query.phone, account.defaultCountry, 'possible');
    if (!phone) {
      res.status(400).json({ error: 'phone is not a phone number' });
      return;
    }
    res.json({ deleted: await store.clearSandboxThread(account.id, phone) });
  }));

  // The customer replies: POST it to the account's webhook as Exotel would, and keep it in the thread.
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
    const endpoints = inboundNodesOf(RED, account.id);
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
    const port = await bridgePort(RED);
    const answer = await request(`http://127.0.0.1:${port}${endpoint.path}${account.callbackQuery()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const answerText = await answer.body.text();
    let reason = '';
    try {
      reason = answerText ? String((JSON.parse(answerText) as { error?: string }).error ?? '') : '';
    } catch {
      reason = answerText.slice(0, 200);
    }
    const accepted = answer.statusCode === 200;
    const message = (await store.updateSandboxMessage(
      incoming.id,
      accepted ? 'received' : 'rejected',
      accepted ? endpoint.path : `${endpoint.path} answered ${answer.statusCode}${reason ? `: ${reason}` : ''}`,
    )) ?? incoming;
    publishSandboxMessage(RED, message);
    res.status(accepted ? 200 : 502).json({ message, webhookStatus: answer.statusCode, ...(reason ? { error: reason } : {}) });
  }));
}

/** The plugin: Node-RED loads it from package.json "node-red".plugins, before the nodes. */
export default function (RED: NodeAPI): void {
  (RED as unknown as { plugins: { registerPlugin(id: string, definition: object): void } }).plugins.registerPlugin('exotel-sms', {});
  registerSandboxAdmin(RED);
}
