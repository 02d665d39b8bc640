// Runs a shipped example flow in node-red-node-test-helper with the package's nodes loaded from
// src/ (not dist/): every exotel-account is switched from sandbox to live against a local mock of
// Exotel's API, everything else is the file as shipped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import { EXAMPLE_WEBHOOK_TOKEN } from './examples';

helper.init(require.resolve('node-red'));

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { MockExotel } = require('./mock-exotel');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const hooks = require('@node-red/util').hooks;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../package.json');

type NodeModule = (RED: Record<string, unknown>) => void;
export const ROOT = path.join(__dirname, '..', '..');
export const API_KEY = 'example-key';
export const API_TOKEN = 'example-token';

const ours: NodeModule[] = Object.keys(pkg['node-red'].nodes).map((type) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(ROOT, 'src', 'nodes', `${type}.ts`));
  return mod.default ?? mod;
});
const core: NodeModule[] = ['common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js'].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (file) => require(require.resolve(`@node-red/nodes/core/${file}`)),
);
let httpNode: unknown;
// The test helper's RED has no `hooks`; a real Node-RED's has (the runtime's own, as here).
const runtimeParts: NodeModule = (RED) => {
  httpNode = RED.httpNode;
  if (!RED.hooks) RED.hooks = hooks;
};

export interface MockSms {
  Body: string;
  To: string;
}
export interface Mock {
  url: string;
  sent: MockSms[];
  requests: Array<{ form: MockSms; answered: unknown }>;
  answer(...answers: object[]): Mock;
  start(): Promise<Mock>;
  stop(): Promise<void>;
}

export { helper };
export const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(check: () => boolean, what: string, timeoutMs = 6_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

export function readExample(file: string): Array<Record<string, unknown>> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Array<Record<string, unknown>>;
}

/** Loads the example against the mock. */
export async function loadExample(flow: Array<Record<string, unknown>>, mock: Mock): Promise<void> {
  const credentials: Record<string, unknown> = {};
  for (const node of flow) {
    if (node.type === 'exotel-account') {
      Object.assign(node, { mode: 'live', apiBaseUrl: mock.url, accountSid: node.accountSid || 'example_account' });
      credentials[node.id as string] = { apiKey: API_KEY, apiToken: API_TOKEN, webhookToken: EXAMPLE_WEBHOOK_TOKEN };
    }
  }
  await helper.load([runtimeParts, ...ours, ...core] as never, flow as never, credentials);
}

let sid = 0;
/** Posts an inbound SMS as Exotel does (form fields). */
export async function postReply(webhookPath: string, body: string, smsSid = `src-${process.pid}-${++sid}`): Promise<string> {
  const res = await request(httpNode as never)
    .post(`${webhookPath}?token=${EXAMPLE_WEBHOOK_TOKEN}`)
    .type('form')
    .send({ SmsSid: smsSid, From: '09876543210', To: '08047123456', Body: body, DateCreated: '2025-01-15 10:30:00', AccountSid: 'example_account' });
  assert.equal(res.status, 200, res.text);
  return smsSid;
}

/** Clicks an inject node. */
export function click(id: string): void {
  (helper.getNode(id) as unknown as { receive(msg: object): void }).receive({});
}
