// Every shipped example: its shape (what the issues promise a user who imports it) and that it
// loads and starts with no error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { helper, settings, getNode, until, wait } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { exampleFiles, readExample, loadExample } from '../support/examples';

const SPECS = path.join(__dirname);
/** The types of this package that have a status (the account config node has none). */
const OUR_TYPES = ['exotel-inbound', 'keyword-switch', 'conversation-state', 'exotel-send', 'opt-out-store'];

describe('every example flow', function () {
  const files = exampleFiles();

  it('ships the six documented examples', function () {
    assert.deepEqual(files, [
      '01 - Opt-in and opt-out.json',
      '02 - Survey.json',
      '03 - Appointment confirmation.json',
      '04 - OTP verification by reply.json',
      '05 - Order status conversation.json',
      '06 - All scenarios on one number.json',
    ]);
  });

  for (const file of files) {
    describe(file, function () {
      const flow = readExample(file);

      it('has a comment node, sandbox accounts only, and inject nodes for +919876543210', function () {
        assert.ok(flow.some((n) => n.type === 'comment' && n.info), 'a comment that explains the flow');
        const accounts = flow.filter((n) => n.type === 'exotel-account');
        assert.ok(accounts.length >= 1);
        for (const account of accounts) assert.equal(account.mode, 'sandbox');
        for (const inject of flow.filter((n) => n.type === 'inject')) {
          assert.ok(inject.props.some((p: { p: string; v: string; vt: string }) => p.p === 'phone' && p.v === '+919876543210' && p.vt === 'str'), inject.name);
        }
      });

      it('wires only to nodes that exist and carries no credentials', function () {
        const ids = new Set(flow.map((n) => n.id));
        for (const node of flow) for (const out of node.wires || []) for (const target of out) assert.ok(ids.has(target), `${node.id} → ${target}`);
        for (const node of flow) if (node.type === 'exotel-send' || node.type === 'exotel-inbound') assert.ok(ids.has(node.account), node.id);
        assert.ok(!flow.some((n) => n.credentials), 'no credentials in an example');
      });

      it('has a spec that loads it and drives it end to end', function () {
        const number = file.slice(0, 2);
        const specs = fs.readdirSync(SPECS).filter((f) => f.startsWith(number + '-') && f.endsWith('.spec.ts'));
        const driving = specs.filter((f) => {
          const text = fs.readFileSync(path.join(SPECS, f), 'utf8');
          // it names this very example, sends it replies or clicks its inject nodes, and has tests
          return text.includes(`'${file}'`) && /\b(reply|post|click|receive)\(/.test(text) && (text.match(/\bit\(/g) ?? []).length >= 2;
        });
        assert.notDeepEqual(driving, [], `a test/examples/${number}-*.spec.ts that names \"${file}\" and drives it`);
      });

      it('loads and starts with no error', async function () {
        const mock = await new MockExotel().start();
        try {
          settings({ exotelSms: { storePath: ':memory:' } });
          await loadExample(file, mock.url);
          // Start-up problems are logged after the flow has loaded (the store opens, the account checks
          // itself, each node shows its first status): wait until every node of ours has shown one.
          const ours = flow.filter((n) => OUR_TYPES.includes(n.type));
          await until(() => ours.every((n) => getNode(n.id).status.called), 5000, 'a first status from every node of ours');
          await wait(200);
          // errors and warnings logged by a node of the flow (the helper's own set-up noise has no node id)
          const errors = helper.log().args.filter((a) => a[0].level <= 30 && a[0].id).map((a) => `${a[0].type} ${a[0].name || a[0].id}: ${a[0].msg}`);
          assert.deepEqual(errors, []);
        } finally {
          await helper.unload();
          await mock.stop();
        }
      });
    });
  }
});
