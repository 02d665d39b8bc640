// Config node: the Exotel account, its credentials, its API client and its rate limiter (see
// exotel-account/controller.ts). Other nodes read the account's fields on this node.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AccountController, type AccountConfig, type AccountCredentials, type ExotelAccount } from './exotel-account/controller';
import { messages } from './shared/i18n';
import { openStore, packageSettings, sharedStoreConfigured } from './shared/settings';
import { registerSandboxAdmin, publishSandboxMessage } from './sandbox-admin';

export { connectionsFor, DEFAULT_API_BASE_URL, DEFAULT_QUEUE_LIMIT, DEFAULT_RATE_LIMIT } from './exotel-account/controller';
export type { AccountCredentials } from './exotel-account/controller';

export interface AccountDef extends NodeDef, AccountConfig {
  mode: 'live' | 'sandbox';
}

export interface AccountNode extends Node<AccountCredentials>, ExotelAccount {}

/** The fields other nodes (and the sandbox phone) read on the config node. */
const SHARED: Array<keyof ExotelAccount> = [
  'accountSid', 'apiBaseUrl', 'defaultFrom', 'dltEntityId', 'defaultCountry', 'mode', 'limiter', 'client', 'configProblem',
  'hasWebhookToken', 'checkWebhookToken', 'callbackQuery', 'redact',
];

export default function (RED: NodeAPI): void {
  registerSandboxAdmin(RED);

  function ExotelAccountNode(this: AccountNode, def: AccountDef) {
    RED.nodes.createNode(this, def);
    const account = new AccountController(def, this.credentials ?? {}, {
      id: this.id,
      translate: messages(RED, 'exotel-account'),
      warn: (text) => this.warn(text),
      apiTimeoutMs: packageSettings(RED).apiTimeoutMs,
      openSandboxStore: () => openStore(RED),
      openSharedStore: sharedStoreConfigured(RED) ? () => openStore(RED) : undefined,
      publishSandboxMessage: (message) => publishSandboxMessage(RED, message),
    });
    for (const field of SHARED) (this as unknown as Record<string, unknown>)[field] = account[field];

    this.on('close', (done: () => void) => {
      this.client = null;
      account.close().then(done, done);
    });
  }

  RED.nodes.registerType('exotel-account', ExotelAccountNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      apiKey: { type: 'text' },
      apiToken: { type: 'password' },
      // text, not password: the inbound node's dialog shows the callback URL with the token in it
      webhookToken: { type: 'text' },
    },
  });
}
