// Runs a shipped example flow, unchanged but for its sandbox account switched to live against
// a local mock of Exotel's API, and talks to it as Exotel does.
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import type { NodeInitializer } from 'node-red';
import request from 'supertest';
import { load, type Credentials, type FlowNode } from './red';

/** The live examples' webhook token: a live account refuses callbacks without one. */
export const EXAMPLE_WEBHOOK_TOKEN = 'example-webhook-token-0123';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
/** A core node module of Node-RED (@node-red/nodes/core/<file>). */
export const core = (file: string): NodeInitializer => require(require.resolve(`@node-red/nodes/core/${file}`)) as NodeInitializer;
const CORE_NODES = [
  'common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'common/25-catch.js', 'common/25-status.js',
  'common/24-complete.js', 'common/60-link.js', 'common/05-junction.js',
  'function/10-switch.js', 'function/15-change.js', 'function/80-template.js', 'function/89-delay.js',
  'function/89-trigger.js', 'function/10-function.js', 'function/16-range.js',
].map(core);

function readExample(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
}

function exampleFiles(): string[] {
  return fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
}

let sidCounter = 0;

/**
 * Loads examples/<name>: every exotel-account is switched from sandbox to live against `mockUrl`
 * (the one change), everything else is the file as shipped.
 */
export interface ReplyOptions {
  from?: string;
  sid?: string;
}

/** An example flow loaded in Node-RED. */
export interface LoadedExample {
  flow: FlowNode[];
  app: Express;
  reply(webhookPath: string, body: string, options?: ReplyOptions): Promise<string>;
  node(name: string): FlowNode;
}

async function loadExample(name: string, mockUrl: string): Promise<LoadedExample> {
  const flow = readExample(name);
  const credentials: Credentials = {};
  for (const node of flow) {
    if (node.type === 'exotel-account') {
      node.mode = 'live';
      node.apiBaseUrl = mockUrl;
      node.accountSid = node.accountSid || 'example_account';
      credentials[node.id] = { apiKey: 'example-key', apiToken: 'example-token', webhookToken: EXAMPLE_WEBHOOK_TOKEN };
    }
  }
  const app = await load(flow, credentials, CORE_NODES);
  return {
    flow,
    app,
    /** Posts an inbound SMS as Exotel does (form fields), with a fresh SmsSid unless given. */
    async reply(webhookPath, body, { from = '09876543210', sid } = {}) {
      const smsSid = sid || `sms-${process.pid}-${++sidCounter}`;
      const res = await request(app)
        .post(`${webhookPath}?token=${EXAMPLE_WEBHOOK_TOKEN}`)
        .type('form')
        .send({ SmsSid: smsSid, From: from, To: '08047123456', Body: body, DateCreated: '2025-01-15 10:30:00', AccountSid: 'example_account' });
      if (res.status !== 200) throw new Error(`the webhook answered ${res.status}: ${res.text}`);
      return smsSid;
    },
    node(name) {
      const found = flow.find((n) => n.name === name);
      if (!found) throw new Error(`no node named "${name}" in ${name}`);
      return found;
    },
  };
}

export { loadExample, readExample, exampleFiles, CORE_NODES };
