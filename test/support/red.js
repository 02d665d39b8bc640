// Loading flows into node-red-node-test-helper with our nodes, and reaching RED.httpNode, which
// helper.request() does not (it reaches only RED.httpAdmin).
'use strict';
const helper = require('node-red-node-test-helper');
const path = require('node:path');

helper.init(require.resolve('node-red'));

const dist = path.join(__dirname, '..', '..', 'dist', 'nodes');
const pkg = require('../../package.json');

/** Every plugin and node module the package declares (plugins first, as Node-RED loads them), in package.json order. */
// Node-RED unwraps the compiled ES module's default export; the helper does not.
const nodeModules = [...Object.values(pkg['node-red'].plugins ?? {}), ...Object.values(pkg['node-red'].nodes)].map((file) => {
  const mod = require(path.join(__dirname, '..', '..', file));
  return mod.__esModule ? mod.default : mod;
});

let httpNode;
function captureHttpNode(RED) {
  httpNode = RED.httpNode;
}

/**
 * Loads a flow with all of our node types (plus extra modules such as core nodes) and credentials.
 * Returns the Express app behind RED.httpNode for supertest.
 */
async function load(flow, credentials = {}, extraModules = []) {
  await helper.load([...nodeModules, ...extraModules, captureHttpNode], flow, credentials);
  return httpNode;
}

function settings(values) {
  helper.settings(values);
}

/** Resolves with the next message that reaches a helper node. */
function nextMessage(node, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.once('input', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Collects every message that reaches a helper node. */
function collect(node) {
  const messages = [];
  node.on('input', (msg) => messages.push(msg));
  return messages;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate()` is true, polling. */
async function until(predicate, timeoutMs = 3000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await predicate()) return;
    await wait(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

module.exports = { helper, load, settings, nextMessage, collect, wait, until, dist };
