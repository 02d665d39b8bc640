// exotel-account's controller as the nodes that use it see it: each setting read as the user typed
// it (blanks, spaces, bad values and their warnings), the credentials kept out of texts, the webhook
// token's rules, the sandbox phone, the rate limit shared by several instances, and closing. Also
// the callback URL the SMS in node's dialog shows. No Node-RED.
import assert from 'node:assert/strict';
import type { ClientOptions, SendRequest, SendResult, SmsGateway } from '../../src/exotel/client';
import { SandboxGateway } from '../../src/exotel/sandbox';
import { RateLimiter } from '../../src/exotel/limiter';
import { callbackUrl } from '../../src/nodes/exotel-account/callback-url';
import { AccountController, DEFAULT_API_BASE_URL, type AccountConfig, type AccountCredentials, type AccountDeps } from '../../src/nodes/exotel-account/controller';
import { SharedRateLimiter } from '../../src/nodes/exotel-account/shared-limiter';
import { SqliteStore, type SandboxMessage, type StoreHandle } from '../../src/store';
import { FakeGateway, translate } from './fakes';

const KEYS: AccountCredentials = { apiKey: 'key-1234', apiToken: 'token-5678' };
const TOKEN = 'hook-token-long-enough';

/** A gateway that counts its closes. */
class ClosingGateway extends FakeGateway {
  closed = 0;
  override async close(): Promise<void> {
    this.closed++;
  }
}

/** A store handle that counts its releases (the store itself is never used). */
function handle(store: object = {}) {
  const h = { store, released: 0, release: async () => void h.released++ };
  return h as typeof h & StoreHandle;
}

/** Stores of their own in memory (not the runtime's shared one, which later specs would find used), closed after each test. */
const opened: SqliteStore[] = [];
function memory() {
  const store = new SqliteStore(':memory:');
  opened.push(store);
  return { store, release: async () => undefined };
}

describe('exotel-account controller: settings, credentials and closing', () => {
  let warnings: string[];
  let created: ClientOptions[];
  let gateways: ClosingGateway[];
  const accounts: AccountController[] = [];

  beforeEach(() => {
    warnings = [];
    created = [];
    gateways = [];
  });
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
    for (const store of opened.splice(0)) await store.close();
  });

  function account(config: AccountConfig, credentials: AccountCredentials = KEYS, deps: Partial<AccountDeps> = {}) {
    const a = new AccountController(config, credentials, {
      id: 'acc-node', translate, warn: (w) => warnings.push(w),
      openSandboxStore: () => assert.fail('a live account opens no sandbox store'),
      publishSandboxMessage: () => undefined,
      createClient: (options) => {
        created.push(options);
        const g = new ClosingGateway();
        gateways.push(g);
        return g;
      },
      ...deps,
    });
    accounts.push(a);
    return a;
  }

  describe('settings as typed', () => {
    it('trims every text; blanks take the defaults', () => {
      const a = account({ accountSid: ' acct1 ', apiBaseUrl: ' https://api.in.exotel.com ', defaultFrom: ' SHOPIN ', dltEntityId: ' 1201160000000001 ', defaultCountry: ' us ' });
      assert.deepEqual([a.accountSid, a.apiBaseUrl, a.defaultFrom, a.dltEntityId, a.defaultCountry], ['acct1', 'https://api.in.exotel.com', 'SHOPIN', '1201160000000001', 'US']);
      const blank = account({ accountSid: 'acct1', apiBaseUrl: '  ', defaultCountry: '  ' });
      assert.deepEqual([blank.apiBaseUrl, blank.defaultFrom, blank.dltEntityId, blank.defaultCountry], [DEFAULT_API_BASE_URL, '', '', 'IN']);
      assert.deepEqual(warnings, []);
    });

    it('an account SID left out: no client, and the problem says so', () => {
      const a = account({});
      assert.equal(a.accountSid, '');
      assert.equal(a.client, null);
      assert.equal(a.configProblem, 'the account SID is missing');
    });

    it('a key without its token (or a token without its key): no client', () => {
      assert.equal(account({ accountSid: 'acct1' }, { apiKey: 'key-1234' }).configProblem, 'the API key or token is missing');
      assert.equal(account({ accountSid: 'acct1' }, { apiToken: 'token-5678' }).configProblem, 'the API key or token is missing');
      assert.deepEqual(created, []);
    });

    it('an API base URL that is no http(s) URL: no client, and the reason', () => {
      const a = account({ accountSid: 'acct1', apiBaseUrl: 'ftp://api.exotel.com' });
      assert.equal(a.client, null);
      assert.equal(a.configProblem, 'the API base URL must start with https:// or http://');
    });

    it('the client gets the account, its credentials, the base URL, the time-out and connections for the rate limit', () => {
      const a = account({ accountSid: 'acct1', rateLimit: '6000' }, KEYS, { apiTimeoutMs: 9_000 });
      assert.equal(a.client, gateways[0]);
      assert.equal(a.configProblem, null);
      assert.deepEqual(created, [{ accountSid: 'acct1', apiKey: 'key-1234', apiToken: 'token-5678', apiBaseUrl: DEFAULT_API_BASE_URL, responseTimeoutMs: 9_000, connections: 25 }]);
    });

    it('a country libphonenumber does not know: a warning, and India', () => {
      const a = account({ accountSid: 'acct1', defaultCountry: 'xx' });
      assert.equal(a.defaultCountry, 'IN');
      assert.deepEqual(warnings, ['warn.defaultCountry {"country":"XX"}']);
    });

    it('rate and queue limits: blank, null or missing take the default; a whole number ≥ 1 is kept; anything else warns', () => {
      for (const blank of [undefined, null, '']) {
        const a = account({ accountSid: 'acct1', rateLimit: blank as never, queueLimit: blank as never });
        assert.equal(a.limiter.perMinute, 200);
        assert.equal((a.limiter as RateLimiter).maxQueue, 10_000);
      }
      assert.deepEqual(warnings, []);
      const one = account({ accountSid: 'acct1', rateLimit: 1, queueLimit: '1' });
      assert.deepEqual([one.limiter.perMinute, (one.limiter as RateLimiter).maxQueue], [1, 1]);
      assert.deepEqual(warnings, []);
      account({ accountSid: 'acct1', rateLimit: '2.5', queueLimit: 0 });
      account({ accountSid: 'acct1', rateLimit: -3 });
      assert.deepEqual(warnings, [
        'warn.rateLimit {"value":"2.5","fallback":200}',
        'warn.queueLimit {"value":"0","fallback":10000}',
        'warn.rateLimit {"value":"-3","fallback":200}',
      ]);
    });
  });

  describe('credentials', () => {
    it('hides secrets of three characters or more, not shorter ones (they would blank out ordinary words)', () => {
      const a = account({ accountSid: 'acct1' }, { apiKey: 'abc', apiToken: 'to' });
      assert.equal(a.redact('abc to stop'), '*** to stop');
    });

    it('redacts with no webhook token at all', () => {
      const a = account({ accountSid: 'acct1' }, { apiKey: 'key-1234', apiToken: 'token-5678' });
      assert.equal(a.redact('failed for key-1234'), 'failed for ***');
      assert.equal(a.hasWebhookToken(), false);
      assert.equal(a.callbackQuery(), '');
    });

    it('a webhook token: required on callbacks, and put into the callback URL encoded', () => {
      const a = account({ accountSid: 'acct1' }, { ...KEYS, webhookToken: 'tok/en+with&odd=chars' });
      assert.equal(a.hasWebhookToken(), true);
      assert.equal(a.callbackQuery(), '?token=tok%2Fen%2Bwith%26odd%3Dchars');
      assert.equal(a.checkWebhookToken((expected) => expected === 'tok/en+with&odd=chars'), true);
      assert.equal(a.checkWebhookToken(() => false), false);
    });
  });

  describe('webhook authentication', () => {
    it('live, "no authentication": every callback is taken; anything but "none" asks for the token', () => {
      const open = account({ accountSid: 'acct1', webhookAuth: 'none' });
      assert.equal(open.webhookAuth, 'none');
      assert.equal(open.webhookProblem, null);
      assert.equal(open.checkWebhookToken(() => false), true);
      const openWithToken = account({ accountSid: 'acct1', webhookAuth: 'none' }, { ...KEYS, webhookToken: TOKEN });
      assert.equal(openWithToken.checkWebhookToken(() => false), true, 'a token left in the credentials is not asked for');
      const typo = account({ accountSid: 'acct1', webhookAuth: 'nothing' }, { ...KEYS, webhookToken: TOKEN });
      assert.equal(typo.webhookAuth, 'token');
      assert.equal(typo.checkWebhookToken(() => false), false);
    });

    it('live without a token: every callback refused, whatever it carries', () => {
      const a = account({ accountSid: 'acct1' });
      assert.equal(a.webhookProblem, 'noToken');
      assert.equal(a.checkWebhookToken(() => true), false);
    });

    it('sandbox: "no authentication" is not kept (the token is asked for when there is one); without one, every callback is taken', () => {
      const sandbox = handle(memory().store);
      const a = account({ mode: 'sandbox', webhookAuth: 'none' }, { webhookToken: TOKEN }, { openSandboxStore: () => sandbox });
      assert.equal(a.webhookAuth, 'token');
      assert.equal(a.checkWebhookToken(() => false), false);
      const none = account({ mode: 'sandbox' }, {}, { openSandboxStore: () => handle(sandbox.store) });
      assert.equal(none.webhookProblem, null);
      assert.equal(none.checkWebhookToken(() => false), true);
    });
  });

  describe('sandbox mode', () => {
    it('sends as SANDBOX unless a sender is set; a live account has no default sender', () => {
      const store = memory();
      assert.equal(account({ mode: 'sandbox' }, {}, { openSandboxStore: () => handle(store.store) }).defaultFrom, 'SANDBOX');
      assert.equal(account({ mode: 'sandbox', defaultFrom: 'SHOPIN' }, {}, { openSandboxStore: () => handle(store.store) }).defaultFrom, 'SHOPIN');
      assert.equal(account({ accountSid: 'acct1' }).defaultFrom, '');
      void store.release();
    });

    it('keeps what it sends in the phone as sent, from the sender; what a node did not send as failed, with its cause and node', async () => {
      const store = memory();
      const published: SandboxMessage[] = [];
      const a = account({ mode: 'sandbox' }, {}, { openSandboxStore: () => handle(store.store), publishSandboxMessage: (m) => published.push(m) });
      await a.client!.send({ from: 'SHOPIN', to: '+919876543210', body: 'Your order shipped', encoding: 'plain' } as SendRequest);
      await (a.client as SandboxGateway).notSent({ to: '+919812345678', body: 'Sale!', code: 'opted_out', message: 'the number opted out', nodeId: 'send-1', nodeName: 'promo' });
      const shown = published.map((m) => ({ account: m.account, phone: m.phone, direction: m.direction, body: m.body, status: m.status, detail: m.detail, sandboxSid: /^sandbox-out-/.test(m.sid) }));
      assert.deepEqual(shown, [
        { account: 'acc-node', phone: '+919876543210', direction: 'out', body: 'Your order shipped', status: 'sent', detail: 'from SHOPIN', sandboxSid: true },
        { account: 'acc-node', phone: '+919812345678', direction: 'out', body: 'Sale!', status: 'failed', detail: JSON.stringify({ code: 'opted_out', message: 'the number opted out', node: { id: 'send-1', name: 'promo' } }), sandboxSid: true },
      ]);
      assert.deepEqual((await store.store.sandboxThreads('acc-node')).map((t) => t.phone).sort(), ['+919812345678', '+919876543210']);
      void store.release();
    });

    it('lets go of the sandbox store when closed', async () => {
      const sandbox = handle(memory().store);
      const a = account({ mode: 'sandbox' }, {}, { openSandboxStore: () => sandbox });
      await a.close();
      assert.equal(sandbox.released, 1);
      assert.equal(a.client, null);
    });
  });

  describe('several instances on one database', () => {
    /** A cluster store's rate window that records who asked. */
    function clusterStore() {
      const asked: Array<[string, number, number]> = [];
      const ended: Array<[number, boolean]> = [];
      const store = {
        leaseMs: 30_000,
        takeOverInbound: async () => [],
        takeOverOutbox: async () => [],
        takeRateSlot: async () => assert.fail('the limiter asks for slots in batches'),
        takeRateSlots: async (account: string, perMinute: number, windowMs: number) => {
          asked.push([account, perMinute, windowMs]);
          return { slots: [asked.length], waitMs: 0 };
        },
        endRateSlot: async (slot: number, sent: boolean) => void ended.push([slot, sent]),
      };
      return { store, asked, ended };
    }

    it('the rate limit is the account’s, counted in the database under its SID; the store is let go when closed', async () => {
      const cluster = clusterStore();
      const shared = handle(cluster.store);
      const a = account({ accountSid: 'acct1', rateLimit: 300 }, KEYS, { openSharedStore: () => shared });
      assert.ok(a.limiter instanceof SharedRateLimiter);
      const release = await a.limiter.acquire();
      release(true);
      assert.deepEqual(cluster.asked, [['acct1', 300, 60_000]]);
      assert.equal(shared.released, 0);
      await a.close();
      assert.equal(shared.released, 1);
    });

    it('an account without a SID counts under its node id', async () => {
      const cluster = clusterStore();
      const a = account({ mode: 'sandbox' }, {}, { openSharedStore: () => handle(cluster.store), openSandboxStore: () => handle(memory().store) });
      (await a.limiter.acquire())(true);
      assert.deepEqual(cluster.asked.map(([who]) => who), ['acc-node']);
    });

    it('a database that is not shared (SQLite): the limit stays in this process, and the store is let go at once', async () => {
      const single = handle(memory().store);
      const a = account({ accountSid: 'acct1' }, KEYS, { openSharedStore: () => single });
      assert.ok(a.limiter instanceof RateLimiter);
      assert.equal(single.released, 1);
      (await a.limiter.acquire())(true);
    });
  });

  describe('closing', () => {
    it('closes the client and sends nothing more', async () => {
      const a = account({ accountSid: 'acct1' });
      await a.close();
      assert.equal(gateways[0].closed, 1);
      assert.equal(a.client, null);
    });

    it('lets go of the sandbox store even when the client fails to close', async () => {
      const sandbox = handle(memory().store);
      const a = account({ mode: 'sandbox' }, {}, { openSandboxStore: () => sandbox });
      a.client = { send: async () => ({}) as SendResult, close: async () => Promise.reject(new Error('socket hang up')) } as SmsGateway;
      await assert.rejects(a.close(), /socket hang up/);
      assert.equal(sandbox.released, 1);
    });
  });
});

describe('the callback URL for Exotel', () => {
  const base = { requestOrigin: 'http://127.0.0.1:1880', httpNodeRoot: '/', path: '/exotel/sms', query: '?token=abc' };

  it('uses the address the editor was opened on, http or https, without its path', () => {
    assert.deepEqual(callbackUrl({ ...base, origin: 'http://shop.example:1880/red/' }), { ok: true, url: 'http://shop.example:1880/exotel/sms?token=abc' });
    assert.deepEqual(callbackUrl({ ...base, origin: 'https://shop.example' }), { ok: true, url: 'https://shop.example/exotel/sms?token=abc' });
  });

  it('falls back to the request’s origin for an origin that is no text, too long, not a URL or not http(s)', () => {
    for (const origin of [42, `https://${'a'.repeat(290)}.example`, 'not a url', 'ftp://shop.example']) {
      assert.deepEqual(callbackUrl({ ...base, origin }), { ok: true, url: 'http://127.0.0.1:1880/exotel/sms?token=abc' }, String(origin));
    }
    const longest = `https://${'a'.repeat(284)}.example`;
    assert.equal(longest.length, 300);
    assert.deepEqual(callbackUrl({ ...base, origin: longest }), { ok: true, url: `${longest}/exotel/sms?token=abc` });
  });

  it('puts the HTTP root in front of the path, however many slashes end it; none when it is not set', () => {
    assert.deepEqual(callbackUrl({ ...base, httpNodeRoot: '/api//' }), { ok: true, url: 'http://127.0.0.1:1880/api/exotel/sms?token=abc' });
    assert.deepEqual(callbackUrl({ ...base, httpNodeRoot: undefined }), { ok: true, url: 'http://127.0.0.1:1880/exotel/sms?token=abc' });
  });

  it('says why there is none: HTTP nodes switched off (409), a path that is not plain (400)', () => {
    assert.deepEqual(callbackUrl({ ...base, httpNodeRoot: false }), { ok: false, status: 409, error: 'HTTP endpoints are switched off (httpNodeRoot is false in settings.js)' });
    assert.deepEqual(callbackUrl({ ...base, path: 'exotel/sms' }), { ok: false, status: 400, error: 'the path must be a plain path starting with /, such as /exotel/sms' });
  });
});
