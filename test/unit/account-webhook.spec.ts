// exotel-account version 2: a live account's webhook needs a token of at least 16 characters unless
// the user chose "no authentication"; a sandbox account needs neither a token nor a sender.
import assert from 'node:assert/strict';
import { migrate } from '../../src/nodes/contract';
import {
  contract, SANDBOX_SENDER, validateDefaultFrom, validateWebhookAuth, validateWebhookToken, WEBHOOK_TOKEN_LENGTH, WEBHOOK_TOKEN_MIN_LENGTH, webhookProblem,
} from '../../src/nodes/exotel-account/contract';
import { callbackUrl } from '../../src/nodes/exotel-account/callback-url';
import { AccountController } from '../../src/nodes/exotel-account/controller';

const TOKEN = 'a'.repeat(WEBHOOK_TOKEN_MIN_LENGTH);

describe('exotel-account version 2: the webhook token', () => {
  describe('migration', () => {
    it('a version-1 live account (which may have no token) is saved requiring the token: it refuses callbacks until one is generated', () => {
      const v1 = { version: 1, name: '', accountSid: 'AC1', apiBaseUrl: 'https://api.exotel.com', defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200, queueLimit: 10000 };
      const migrated = migrate(contract, v1);
      assert.equal(migrated.version, contract.version);
      assert.equal(migrated.webhookAuth, 'token');
      assert.equal(webhookProblem(migrated.mode, migrated.webhookAuth, undefined), 'noToken');
    });

    it('a version-2 account arrives at version 3 without a public URL (no delivery reports, as before); a typed one stays', () => {
      assert.deepEqual([migrate(contract, { version: 2, mode: 'live' }).publicUrl, migrate(contract, { version: 2, publicUrl: 'https://a.in' }).publicUrl], ['', 'https://a.in']);
    });

    it('an unversioned flow also arrives at version 2 requiring the token; a saved "none" stays', () => {
      assert.equal(migrate(contract, { mode: 'live' }).webhookAuth, 'token');
      assert.equal(migrate(contract, { version: 2, mode: 'live', webhookAuth: 'none' }).webhookAuth, 'none');
    });

    it('the token is a password credential (never sent to the editor); the generated length is above the minimum', () => {
      assert.deepEqual(contract.credentials?.webhookToken, { type: 'password' });
      assert.ok(WEBHOOK_TOKEN_LENGTH >= 32 && WEBHOOK_TOKEN_MIN_LENGTH >= 16 && WEBHOOK_TOKEN_MIN_LENGTH <= WEBHOOK_TOKEN_LENGTH);
    });
  });

  describe('checks shared by the editor and the runtime', () => {
    it('runtime: a live account needs a token of the minimum length unless authentication is "none"; a sandbox account needs none', () => {
      assert.equal(webhookProblem('live', 'token', undefined), 'noToken');
      assert.equal(webhookProblem('live', 'token', ''), 'noToken');
      assert.equal(webhookProblem('live', 'token', TOKEN.slice(1)), 'shortToken');
      assert.equal(webhookProblem('live', 'token', TOKEN), null);
      assert.equal(webhookProblem('live', 'none', undefined), null);
      assert.equal(webhookProblem('sandbox', 'token', undefined), null);
      assert.equal(webhookProblem('sandbox', 'token', 'short'), null);
    });

    it('editor: a typed token too short, or none on a live account, is marked with the reason; a saved one or one never read is fine', () => {
      assert.deepEqual(validateWebhookToken(TOKEN.slice(1), false, 'live', 'token'), { key: 'errors.webhookTokenShort', params: { min: WEBHOOK_TOKEN_MIN_LENGTH } });
      assert.deepEqual(validateWebhookToken('', false, 'live', 'token'), { key: 'errors.webhookToken' });
      assert.equal(validateWebhookToken(TOKEN, false, 'live', 'token'), true);
      assert.equal(validateWebhookToken(undefined, true, 'live', 'token'), true, 'the runtime keeps one');
      assert.equal(validateWebhookToken(undefined, false, 'live', 'token'), true, 'credentials not read yet');
      assert.equal(validateWebhookToken('', false, 'live', 'none'), true);
      assert.equal(validateWebhookToken('', false, 'sandbox', 'token'), true);
      assert.equal(validateWebhookAuth('token'), true);
      assert.equal(validateWebhookAuth('none'), true);
      assert.deepEqual(validateWebhookAuth('maybe'), { key: 'errors.webhookAuth' });
    });

    it('a live account needs a sender; a sandbox account does not', () => {
      assert.deepEqual(validateDefaultFrom('', 'live'), { key: 'errors.defaultFrom' });
      assert.deepEqual(validateDefaultFrom('  ', 'live'), { key: 'errors.defaultFrom' });
      assert.equal(validateDefaultFrom('EXSHOP', 'live'), true);
      assert.equal(validateDefaultFrom('', 'sandbox'), true);
    });
  });

  describe('the account at runtime', () => {
    const deps = { id: 'acc', translate: (key: string) => key, warn: () => undefined, openSandboxStore: () => { throw new Error('no sandbox here'); }, publishSandboxMessage: () => undefined };

    it('live without a token: every callback fails, whatever it carries', async () => {
      const account = new AccountController({ accountSid: 'AC1', mode: 'live', webhookAuth: 'token' }, { apiKey: 'k', apiToken: 't' }, deps);
      assert.equal(account.webhookProblem, 'noToken');
      assert.equal(account.checkWebhookToken(() => true), false);
      await account.close();
    });

    it('live with a short token: refused even when the callback carries it', async () => {
      const account = new AccountController({ accountSid: 'AC1', mode: 'live' }, { apiKey: 'k', apiToken: 't', webhookToken: 'short-token' }, deps);
      assert.equal(account.webhookProblem, 'shortToken');
      assert.equal(account.checkWebhookToken((expected) => expected === 'short-token'), false);
      await account.close();
    });

    it('live with "no authentication": every callback passes; anything else than "none" requires the token', async () => {
      const open = new AccountController({ accountSid: 'AC1', mode: 'live', webhookAuth: 'none' }, {}, deps);
      assert.equal(open.webhookProblem, null);
      assert.equal(open.checkWebhookToken(() => false), true);
      const odd = new AccountController({ accountSid: 'AC1', mode: 'live', webhookAuth: 'NONE' }, {}, deps);
      assert.equal(odd.webhookProblem, 'noToken');
      await Promise.all([open.close(), odd.close()]);
    });

    it('live with a good token: only the token passes', async () => {
      const account = new AccountController({ accountSid: 'AC1', mode: 'live' }, { webhookToken: TOKEN }, deps);
      assert.equal(account.checkWebhookToken((expected) => expected === TOKEN), true);
      assert.equal(account.checkWebhookToken(() => false), false);
      await account.close();
    });
  });

  describe('the callback URL served to the editor', () => {
    it('is the editor’s origin, the node root, the path and the token', () => {
      assert.deepEqual(callbackUrl({ origin: 'https://shop.example:1880', requestOrigin: 'http://127.0.0.1:1880', httpNodeRoot: '/api/', path: '/exotel/sms/', query: '?token=abc' }), { ok: true, url: 'https://shop.example:1880/api/exotel/sms?token=abc' });
    });

    it('falls back to the request’s origin for a missing or odd origin, refuses a bad path and switched-off HTTP nodes', () => {
      assert.deepEqual(callbackUrl({ origin: 'javascript:alert(1)', requestOrigin: 'http://nr:1880', httpNodeRoot: undefined, path: '/in', query: '' }), { ok: true, url: 'http://nr:1880/in' });
      assert.equal(callbackUrl({ requestOrigin: 'http://nr', httpNodeRoot: '/', path: 'in', query: '' }).ok, false);
      assert.deepEqual(callbackUrl({ requestOrigin: 'http://nr', httpNodeRoot: false, path: '/in', query: '' }).ok, false);
    });
  });

  it('a sandbox account with nothing filled in sends as SANDBOX', async () => {
    let opened = 0;
    const fakeStore = { store: { addSandboxMessage: async () => ({}) }, release: async () => undefined };
    const account = new AccountController({ mode: 'sandbox' }, {}, { ...{ id: 'acc', translate: (key: string) => key, warn: () => undefined, publishSandboxMessage: () => undefined }, openSandboxStore: () => (opened++, fakeStore as never) });
    assert.equal(account.defaultFrom, SANDBOX_SENDER);
    assert.equal(account.webhookProblem, null);
    assert.equal(account.configProblem, null);
    assert.ok(account.client, 'the sandbox gateway');
    assert.equal(opened, 1);
    await account.close();
  });
});
