// Loading flows into node-red-node-test-helper with our nodes, and reaching RED.httpNode, which
// helper.request() does not (it reaches only RED.httpAdmin). The node modules are the TypeScript
// sources (src/nodes/<type>.ts, loaded through tsx), not the compiled dist/.
import path from 'node:path';
import type { Express } from 'express';
import helper from 'node-red-node-test-helper';
import type { Node, NodeAPI, NodeInitializer } from 'node-red';
import type { SinonSpy } from 'sinon';
import pkg from '../../package.json';

export { wait, until } from './wait';

helper.init(require.resolve('node-red'));

/** One node of a test flow: what a flows.json holds (its other properties depend on its type). */
export interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [property: string]: any;
}

/** Credentials by node id. */
export type Credentials = Record<string, Record<string, unknown>>;

/** A message as the specs read it: what our nodes add to it (msg.sms, msg.exotel, msg.error…) is read freely. */
export interface Msg {
  _msgid?: string;
  [property: string]: any;
}

const ROOT = path.join(__dirname, '..', '..');

/** dist/nodes/X.js (package.json "node-red".nodes) → src/nodes/X.ts */
export const sourceOf = (file: string): string =>
  path.join(ROOT, file.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));

/** Every plugin and node module the package declares (plugins first, as Node-RED loads them), in package.json order, from src/. */
// Node-RED unwraps the compiled ES module's default export; the helper does not.
const declared = pkg['node-red'] as { nodes: Record<string, string>; plugins?: Record<string, string> };
const nodeModules: NodeInitializer[] = [...Object.values(declared.plugins ?? {}), ...Object.values(declared.nodes)].map((file) => {
  const mod = require(sourceOf(file)) as { default?: NodeInitializer } | NodeInitializer;
  return typeof mod === 'function' ? mod : (mod.default as NodeInitializer);
});

let httpNode: Express;
function captureHttpNode(RED: NodeAPI): void {
  httpNode = RED.httpNode as Express;
}

/**
 * Loads a flow with all of our node types (plus extra modules such as core nodes) and credentials.
 * Returns the Express app behind RED.httpNode for supertest.
 */
export async function load(flow: FlowNode[], credentials: Credentials = {}, extraModules: NodeInitializer[] = []): Promise<Express> {
  await helper.load([...nodeModules, ...extraModules, captureHttpNode], flow as helper.TestFlows, credentials as helper.TestCredentials<{}>);
  return httpNode;
}

export function settings(values: Record<string, unknown>): void {
  helper.settings(values);
}

/** One call of a node method the helper spies on, as its 'call:<method>' event carries it. */
export interface SpyCall {
  // the arguments the node passed: a status object, a log text, a message
  args: any[];
  thisValue: unknown;
}

/**
 * A node of a loaded flow as node-red-node-test-helper hands it out: its status(), log and send
 * methods are sinon spies, and each call is also emitted as a 'call:<method>' event.
 */
export type TestNode = Node & {
  on(event: `call:${string}`, listener: (call: SpyCall) => void): TestNode;
  status: Node['status'] & SinonSpy;
};

/** A node of the loaded flow, by id. */
export function getNode(id: string): TestNode {
  return helper.getNode(id) as TestNode;
}

/** Resolves with the next message that reaches a helper node. */
export function nextMessage(node: Node, timeoutMs = 2000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.once('input', (msg: Msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Collects every message that reaches a helper node. */
export function collect(node: Node): Msg[] {
  const messages: Msg[] = [];
  node.on('input', (msg: Msg) => messages.push(msg));
  return messages;
}

export { helper };
