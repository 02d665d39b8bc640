// The node contracts: versions, migrations of saved flows, and the checks the editor and the runtime share.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { defaultValues, migrate, versionOf, type NodeContract, type SavedNode } from '../../src/nodes/contract';
import { nodes } from '../../src/nodes/contracts';
import * as account from '../../src/nodes/exotel-account/contract';
import * as inbound from '../../src/nodes/exotel-inbound/contract';
import * as keywordSwitch from '../../src/nodes/keyword-switch/contract';
import * as conversation from '../../src/nodes/conversation-state/contract';
import * as send from '../../src/nodes/exotel-send/contract';
import * as optOut from '../../src/nodes/opt-out-store/contract';
import { parseAllowList } from '../../src/exotel/auth';
import { compileRules } from '../../src/sms/keywords';
import snapshots from './contract-snapshots.json';

type AnyContract = NodeContract<SavedNode, unknown>;
const contracts = Object.entries(nodes).map(([type, mod]) => [type, mod.contract as unknown as AnyContract] as const);
const saved = snapshots as Record<string, Record<string, Record<string, unknown>>>;

describe('node contracts', () => {
  describe('versions', () => {
    for (const [type, contract] of contracts) {
      it(`${type}: the saved properties are those of version ${contract.version} (a change needs a new version and a migration)`, () => {
        assert.equal(contract.type, type);
        assert.equal(contract.migrations.length, contract.version, 'one migration per version');
        assert.equal(contract.defaults.version.value, contract.version, 'new nodes are saved at the current version');
        assert.ok(saved[type]?.[contract.version], `test/unit/contract-snapshots.json has no version ${contract.version} of ${type}: add the defaults of the new version`);
        assert.deepEqual(defaultValues(contract), saved[type][contract.version], 'the defaults changed: raise the version, add a migration and a snapshot');
      });

      it(`${type}: a config saved at any earlier version migrates to the current properties`, () => {
        const keys = Object.keys(contract.defaults).sort();
        for (const [version, values] of Object.entries(saved[type])) {
          const migrated = migrate(contract, values);
          assert.deepEqual(Object.keys(migrated).sort(), keys, `from version ${version}`);
          assert.equal(migrated.version, contract.version);
        }
      });

      it(`${type}: an unversioned config with nothing set gets every property, and migrating again changes nothing`, () => {
        const migrated = migrate(contract, { id: 'n1', type, z: 'tab' });
        assert.equal(migrated.version, contract.version);
        assert.equal(migrated.id, 'n1', 'what Node-RED adds (id, z, wires) is kept');
        assert.deepEqual(migrate(contract, migrated), migrated);
      });
    }

    it('reads a missing, blank or broken version as 0, and leaves a config from a newer release alone', () => {
      assert.equal(versionOf({}), 0);
      assert.equal(versionOf({ version: '' }), 0);
      assert.equal(versionOf({ version: 'x' }), 0);
      assert.equal(versionOf({ version: 1 }), 1);
      const future = { version: 99, action: 'someday' };
      assert.deepEqual(migrate(optOut.contract, future), future);
    });

    it('migrates without changing the config it was given', () => {
      const old = { action: undefined, steps: ['a'] };
      migrate(conversation.contract, old);
      assert.deepEqual(old, { action: undefined, steps: ['a'] });
    });
  });

  describe('the example flows', () => {
    const dir = path.join(__dirname, '..', '..', 'examples');
    for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.json'))) {
      it(`${file}: every node is saved at the current version, with every property`, () => {
        const flow = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Array<Record<string, unknown>>;
        const ours = flow.filter((node) => node.type as string in nodes);
        assert.ok(ours.length > 0);
        for (const node of ours) {
          const contract = nodes[node.type as keyof typeof nodes].contract as unknown as AnyContract;
          assert.equal(node.version, contract.version, `${node.id}`);
          assert.deepEqual(migrate(contract, node), node, `${node.id} lacks nothing a migration would add`);
        }
      });
    }
  });

  describe('migrations from unversioned flows (version 0)', () => {
    it('opt-out-store: a node saved without an action keeps only checking, as it did; new nodes opt out', () => {
      assert.equal(migrate(optOut.contract, { phone: 'phone' }).action, 'check');
      assert.equal(migrate(optOut.contract, { action: 'optin' }).action, 'optin');
      assert.equal(optOut.contract.defaults.action.value, 'optout');
    });

    it('conversation-state: a node saved without an action keeps routing, as it did; new nodes start', () => {
      const migrated = migrate(conversation.contract, { conversation: 'survey', steps: ['q1'] });
      assert.equal(migrated.action, 'route');
      assert.deepEqual(migrated.steps, ['q1']);
      assert.equal(migrated.maxAge, 24);
      assert.equal(conversation.contract.defaults.action.value, 'start');
    });

    it('keyword-switch: checkall and typos written as booleans or text become what the editor saves', () => {
      const migrated = migrate(keywordSwitch.contract, { checkall: true, typos: 'true', rules: [{ t: 'any' }] });
      assert.equal(migrated.checkall, 'true');
      assert.equal(migrated.typos, true);
      assert.deepEqual(migrated.rules, [{ t: 'any' }]);
      assert.equal(migrate(keywordSwitch.contract, { checkall: false }).checkall, 'false');
      assert.equal(migrate(keywordSwitch.contract, {}).typos, false);
    });

    it('exotel-account, exotel-inbound, exotel-send: missing properties get the values the runtime used', () => {
      const acc = migrate(account.contract, { accountSid: 'AC1' });
      assert.equal(acc.apiBaseUrl, 'https://api.exotel.com');
      assert.equal(acc.mode, 'live');
      assert.equal(acc.rateLimit, 200);
      assert.equal(migrate(inbound.contract, { account: 'a' }).path, '/exotel/sms');
      const sent = migrate(send.contract, { account: 'a', attempts: 2 });
      assert.equal(sent.attempts, 2, 'a value that was saved stays');
      assert.equal(sent.to, 'phone');
      assert.equal(sent.optOutConfirmation, false);
    });
  });

  describe('checks shared by editor and runtime', () => {
    it('webhook path: one normalisation, refusing what Express would read as a pattern', () => {
      assert.equal(inbound.normalisePath(' /exotel/sms/ '), '/exotel/sms');
      assert.equal(inbound.normalisePath('exotel/sms'), '', 'no "/" is added: the editor refuses it too');
      assert.equal(inbound.normalisePath('/a//b'), '');
      assert.equal(inbound.normalisePath('/sms/:id'), '');
      assert.equal(inbound.normalisePath('/'), '');
      assert.equal(inbound.validatePath('/exotel/sms'), true);
      assert.deepEqual(inbound.validatePath('exotel/sms'), { key: 'errors.pathSlash' });
      assert.deepEqual(inbound.validatePath('/sms/*'), { key: 'errors.pathChars' });
      assert.deepEqual(inbound.validatePath('/a//b'), { key: 'errors.pathChars' });
      assert.deepEqual(inbound.validatePath('///'), { key: 'errors.pathRoot' });
      // What the editor accepts, the runtime can route, and the other way round.
      for (const path of ['/a', '/a/', '/a-b.c~d_e/f', 'a', '/a//b', '/a?', '/', ' /x ']) {
        assert.equal(inbound.validatePath(path) === true, inbound.normalisePath(path) !== '', path);
      }
    });

    it('IP allow-list: the entry the editor flags is the one the runtime refuses', () => {
      const cases = ['52.74.0.0/16, 10.1.2.3 2001:db8::/32', '10.0.0.0/33', 'example.com', '10.0.0.0/', '1.2.3.4/8/9', '::ffff:1.2.3.4', '', '1.2.3'];
      for (const text of cases) {
        const verdict = inbound.validateAllowList(text);
        let runtime: string | true = true;
        try {
          parseAllowList(text);
        } catch (err) {
          runtime = (err as Error).message;
        }
        if (verdict === true) assert.equal(runtime, true, text);
        else assert.equal(runtime, `"${verdict.params?.entry}" is not an IP address or CIDR range`, text);
      }
      assert.deepEqual(inbound.validateAllowList('10.1.2.3, 300.1.1.1'), { key: 'errors.allowList', params: { entry: '300.1.1.1' } });
    });

    it('keyword rules: the editor lists every rule the runtime would refuse, with its number', () => {
      const rules = [{ t: 'keywords', v: 'STOP' }, { t: 'keywords', v: ' , ' }, { t: 'range', v: '5-1' }, { t: 'regex', v: '(' }, { t: 'what' }];
      const verdict = keywordSwitch.validateRules(rules);
      assert.notEqual(verdict, true);
      assert.deepEqual((verdict as Array<{ key: string }>).map((p) => p.key), ['errors.keywordsEmpty', 'errors.rangeBackwards', 'errors.regex', 'errors.kind']);
      assert.deepEqual((verdict as Array<{ params: unknown }>)[1].params, { n: 3, range: '5-1', fixed: '1-5' });
      assert.throws(() => compileRules(rules), /^Error: Rule 2: the keyword list is empty/);
      assert.equal(keywordSwitch.validateRules([{ t: 'keywords', v: 'STOP, हाँ' }, { t: 'range', v: '१-५' }, { t: 'any' }]), true);
      assert.deepEqual(keywordSwitch.validateRules([]), [{ key: 'errors.noRules', params: { n: 0 } }]);
      assert.deepEqual((keywordSwitch.validateRules([{ t: 'keywords', v: '🙏' }]) as Array<{ key: string; params: unknown }>)[0], { key: 'errors.keywordNoLetters', params: { n: 1, keyword: '🙏' } });
      assert.deepEqual(keywordSwitch.RULE_KINDS, ['keywords', 'range', 'regex', 'any', 'empty']);
    });

    it('exotel-send: SMS types, priorities and attempts as Exotel and the retry take them', () => {
      assert.equal(send.validateSmsType(''), true);
      assert.equal(send.validateSmsType('promotional'), true);
      assert.deepEqual(send.validateSmsType('marketing'), { key: 'errors.smsType' });
      assert.equal(send.validatePriority('high'), true);
      assert.deepEqual(send.validatePriority('urgent'), { key: 'errors.priority' });
      assert.equal(send.validateAttempts(10), true);
      assert.deepEqual(send.validateAttempts(11), { key: 'errors.attempts' });
      assert.deepEqual(send.validateAttempts(0), { key: 'errors.attempts' });
      assert.equal(send.validateToNumber('+91 98765 43210', 'str'), true);
      assert.deepEqual(send.validateToNumber('Ravi', 'str'), { key: 'errors.toNumber' });
      assert.equal(send.validateToNumber('phone', 'msg'), true);
      assert.deepEqual(send.validateStatusCallback('ftp://x'), { key: 'errors.statusCallback' });
      assert.equal(send.validateStatusCallback(''), true);
    });

    it('exotel-account: regions, mode and the account SID a live account needs', () => {
      assert.equal(account.regionOf('https://api.in.exotel.com/'), account.API_REGIONS.mumbai);
      assert.equal(account.regionOf('https://example.com'), 'custom');
      assert.equal(account.validateAccountSid('', 'sandbox'), true);
      assert.deepEqual(account.validateAccountSid('', 'live'), { key: 'errors.accountSid' });
      assert.deepEqual(account.validateAccountSid('a/b', 'live'), { key: 'errors.accountSidChars' });
      assert.deepEqual(account.validateMode('test'), { key: 'errors.mode' });
      assert.deepEqual(account.validateRateLimit('0'), { key: 'errors.rateLimit' });
      assert.equal(account.validateQueueLimit('10000'), true);
      assert.deepEqual(account.validateDefaultCountry('IND'), { key: 'errors.defaultCountry' });
    });

    it('conversation-state and opt-out-store: the fields each action uses', () => {
      assert.equal(conversation.outputsFor('route', 3), 5);
      assert.equal(conversation.outputsFor('verify', 0), 3);
      assert.equal(conversation.uses('steps', 'route'), true);
      assert.equal(conversation.uses('code', 'update'), false);
      assert.deepEqual(conversation.validateSteps(['a', ' a ']), { key: 'errors.stepTwice', params: { step: 'a' } });
      assert.deepEqual(conversation.validateCodeLength(11), { key: 'errors.codeLength' });
      assert.equal(conversation.validateCodeLength(4), true);
      assert.deepEqual(conversation.validateData('[1]', 'json'), { key: 'errors.dataObject' });
      assert.equal(conversation.validateData('payload', 'msg'), 'typed');
      assert.deepEqual(conversation.validateSaveAs('a b'), { key: 'errors.saveAs' });
      assert.equal(optOut.validatePhone('', 'msg', 'export'), true);
      assert.deepEqual(optOut.validatePhone('Ravi', 'str', 'optout'), { key: 'errors.phoneNumber' });
      assert.deepEqual(optOut.validateImportAs('maybe', 'import'), { key: 'errors.importAs' });
      assert.equal(optOut.validateDefaultCountry('', 'export'), true);
    });
  });
});
