// exotel-account's controller, without Node-RED.
import assert from 'node:assert/strict';
import { AccountController, connectionsFor } from '../../src/nodes/exotel-account/controller';
import { acquireStore, type SandboxMessage } from '../../src/store';
import { FakeGateway, translate } from './fakes';

const noSandbox = () => {
  throw new Error('a live account opens no sandbox store');
};

describe('exotel-account controller', () => {
  it('builds the client from complete settings, and says what is missing otherwise', async () => {
    const warnings: string[] = [];
    const deps = { id: 'acc', translate, warn: (w: string) => warnings.push(w), openSandboxStore: noSandbox, publishSandboxMessage: () => undefined, createClient: () => new FakeGateway() };
    const ok = new AccountController({ accountSid: ' acct1 ', rateLimit: '600', defaultCountry: 'in' }, { apiKey: 'key-1234', apiToken: 'token-5678' }, deps);
    assert.ok(ok.client);
    assert.equal(ok.configProblem, null);
    assert.equal(ok.accountSid, 'acct1');
    assert.equal(ok.defaultCountry, 'IN');
    assert.equal(ok.limiter.perMinute, 600);
    await ok.close();
    assert.equal(ok.client, null, 'a closed account sends nothing');
    const noKey = new AccountController({ accountSid: 'acct1' }, {}, deps);
    assert.equal(noKey.client, null);
    assert.equal(noKey.configProblem, 'the API key or token is missing');
    const badLimit = new AccountController({ accountSid: 'acct1', rateLimit: 'lots' }, { apiKey: 'k', apiToken: 't' }, deps);
    assert.equal(badLimit.limiter.perMinute, 200);
    assert.deepEqual(warnings, ['warn.rateLimit {"value":"lots","fallback":200}']);
    await Promise.all([noKey.close(), badLimit.close()]);
  });

  it('keeps every credential, and the Basic authorisation made of them, out of a text', async () => {
    const account = new AccountController({ accountSid: 'acct1' }, { apiKey: 'key-1234', apiToken: 'token-5678', webhookToken: 'hook-9-long-enough' }, {
      id: 'acc', translate, warn: () => undefined, openSandboxStore: noSandbox, publishSandboxMessage: () => undefined, createClient: () => new FakeGateway(),
    });
    const basic = Buffer.from('key-1234:token-5678').toString('base64');
    assert.equal(account.redact(`key-1234 token-5678 hook-9-long-enough Basic ${basic}`), '*** *** *** Basic ***');
    assert.equal(account.callbackQuery(), '?token=hook-9-long-enough');
    assert.equal(account.checkWebhookToken((expected) => expected === 'hook-9-long-enough'), true);
    await account.close();
  });

  it('in sandbox mode sends to the sandbox phone, never to Exotel', async () => {
    const published: SandboxMessage[] = [];
    const handle = acquireStore(':memory:');
    const account = new AccountController({ mode: 'sandbox' }, {}, {
      id: 'acc', translate, warn: () => undefined, openSandboxStore: () => handle, publishSandboxMessage: (m) => published.push(m),
      createClient: () => assert.fail('no Exotel client in sandbox mode'),
    });
    await account.client!.send({ from: 'SHOP', to: '+919876543210', body: 'hello', encoding: 'plain' });
    assert.deepEqual(published.map((m) => [m.account, m.phone, m.body, m.direction]), [['acc', '+919876543210', 'hello', 'out']]);
    await account.close();
  });

  it('opens enough connections for the rate limit', () => {
    assert.equal(connectionsFor(200), 8);
    assert.equal(connectionsFor(60_000), 128);
  });
});
