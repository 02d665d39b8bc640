// Config node: the Exotel account, its credentials, its API client and its rate limiter (see
// exotel-account/controller.ts). Other nodes read the account's fields on this node.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { AccountController, type AccountConfig, type AccountCredentials, type ExotelAccount } from './exotel-account/controller';
import { messages } from './shared/i18n';
import { openStore, packageSettings, sharedStoreConfigured } from './shared/settings';
import { publishSandboxMessage } from '../plugins/exotel-sms';
import { migrate } from './contract';
import { contract, reportPath } from './exotel-account/contract';
import { answer, callOf, middlewareOf, removeRoutes } from './shared/http';
import { handOnReport } from './shared/report-listeners';
import { callbackUrl } from './exotel-account/callback-url';

export { connectionsFor, DEFAULT_API_BASE_URL, DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT } from './exotel-account/controller';
export type { AccountCredentials } from './exotel-account/controller';

export interface AccountDef extends NodeDef, AccountConfig {
  mode: 'live' | 'sandbox';
}

export interface AccountNode extends Node<AccountCredentials>, ExotelAccount {}

/** The fields other nodes (and the sandbox phone) read on the config node. */
const SHARED: Array<keyof ExotelAccount> = [
  'accountSid', 'apiBaseUrl', 'defaultFrom', 'dltEntityId', 'dltTemplates', 'defaultCountry', 'mode', 'limiter', 'client', 'configProblem',
  'webhookAuth', 'webhookProblem', 'hasWebhookToken', 'checkWebhookToken', 'callbackQuery', 'redact', 'reportsEnabled', 'statusCallbackUrl',
];

export default function (RED: NodeAPI): void {
  function ExotelAccountNode(this: AccountNode, def: AccountDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const account = new AccountController(def, this.credentials ?? {}, {
      id: this.id,
      translate: messages(RED, 'exotel-account'),
      warn: (text) => this.warn(text),
      apiTimeoutMs: packageSettings(RED).apiTimeoutMs,
      openSandboxStore: () => openStore(RED),
      openSharedStore: sharedStoreConfigured(RED) ? () => openStore(RED) : undefined,
      publishSandboxMessage: (message) => publishSandboxMessage(RED, message),
      httpNodeRoot: (RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot,
      openReportStore: () => openStore(RED),
      handOnReport,
      log: this,
    });
    for (const field of SHARED) (this as unknown as Record<string, unknown>)[field] = account[field];

    // Exotel's delivery reports, on a path of the package's own under httpNodeRoot (a live account with a public URL).
    const receiver = account.statusCallbackUrl ? account.reports : null;
    const route = reportPath(this.id);
    if (receiver) RED.httpNode.post(route, middlewareOf(RED.settings), (req: Request, res: Response) => void receiver.receive(callOf(req), (reply) => answer(res, reply)));

    this.on('close', (done: () => void) => {
      if (receiver) removeRoutes(RED.httpNode, route);
      this.client = null;
      account.close().then(done, done);
    });
  }

  // The full callback URL, token included, for the SMS in node's dialog: only to users who may
  // change the account (the token is a password credential, never sent to the editor otherwise).
  RED.httpAdmin.get('/exotel-account/:id/callback-url', RED.auth.needsPermission('exotel-account.write'), (req: Request, res: Response) => {
    const account = RED.nodes.getNode(String(req.params.id)) as AccountNode | null;
    if (!account || account.type !== 'exotel-account') {
      res.status(404).json({ error: 'no deployed Exotel account with this id: deploy it first' });
      return;
    }
    const answer = callbackUrl({
      origin: req.query.origin,
      requestOrigin: `${req.protocol}://${req.get('host') ?? 'localhost'}`,
      httpNodeRoot: (RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot,
      path: req.query.path,
      query: account.callbackQuery(),
    });
    if (!answer.ok) {
      res.status(answer.status).json({ error: answer.error });
      return;
    }
    res.set('Cache-Control', 'no-store').json({ url: answer.url, mode: account.mode, webhookAuth: account.webhookAuth, problem: account.webhookProblem });
  });

  RED.nodes.registerType('exotel-account', ExotelAccountNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: contract.credentials,
  });
}
