// Runs a shipped example flow, unchanged but for its sandbox account switched to live against
// a local mock of Exotel's API, and talks to it as Exotel does.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const request = require('supertest');
const { load } = require('./red');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const core = (file) => require(require.resolve(`@node-red/nodes/core/${file}`));
const CORE_NODES = [
  'common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'common/25-catch.js', 'common/25-status.js',
  'common/24-complete.js', 'common/60-link.js', 'common/05-junction.js',
  'function/10-switch.js', 'function/15-change.js', 'function/80-template.js', 'function/89-delay.js',
  'function/89-trigger.js', 'function/10-function.js', 'function/16-range.js',
].map(core);

function readExample(name) {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
}

function exampleFiles() {
  return fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
}

let sidCounter = 0;

/**
 * Loads examples/<name>: every exotel-account is switched from sandbox to live against `mockUrl`
 * (the one change), everything else is the file as shipped.
 */
async function loadExample(name, mockUrl) {
  const flow = readExample(name);
  const credentials = {};
  for (const node of flow) {
    if (node.type === 'exotel-account') {
      node.mode = 'live';
      node.apiBaseUrl = mockUrl;
      node.accountSid = node.accountSid || 'example_account';
      credentials[node.id] = { apiKey: 'example-key', apiToken: 'example-token' };
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
        .post(webhookPath)
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

module.exports = { loadExample, readExample, exampleFiles, CORE_NODES };
