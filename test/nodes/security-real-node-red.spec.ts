// Against a real Node-RED (a child process running this package's dist/): the callback URL holds the
// webhook token, so its admin route needs exotel-account.write under adminAuth, and the token never
// reaches the editor's credentials; the SMS tab's admin API lets a reader look and only a writer change
// or export, and records who opted a number out by hand; the IP allow-list behind a proxy follows `trust proxy` in
// settings.httpServerOptions (Node-RED sets those options on the app behind RED.httpNode).
import assert from 'node:assert/strict';
import { NodeRedChild } from '../support/node-red-launcher';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require('bcryptjs') as { hashSync(text: string, rounds: number): string };

const TOKEN = 'Pq7Lm2Xc9Vb4Nz1Ks8Hd3Fg6Jt5Wr0Ya';
const PASSWORD = 'correct horse battery';
const FORM = 'application/x-www-form-urlencoded';

const flows = [
  { id: 'tab', type: 'tab', label: 'webhook' },
  { id: 'acc', type: 'exotel-account', version: 2, name: 'shop', accountSid: 'shop1', apiBaseUrl: 'http://127.0.0.1:9', defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200, queueLimit: 10000, webhookAuth: 'token' },
  { id: 'in', z: 'tab', type: 'exotel-inbound', version: 1, name: '', account: 'acc', path: '/exotel/sms', allowList: '203.0.113.0/24', x: 100, y: 100, wires: [[]] },
];
const credentials = { acc: { apiKey: 'key-1', apiToken: 'token-1', webhookToken: TOKEN } };

async function post(child: NodeRedChild, forwardedFor: string, sid: string): Promise<number> {
  const res = await fetch(`${child.baseUrl}/exotel/sms?token=${TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': FORM, 'x-forwarded-for': forwardedFor },
    body: new URLSearchParams({ SmsSid: sid, From: '09876543210', To: '08047123456', Body: 'HELLO', AccountSid: 'shop1' }).toString(),
  });
  await res.arrayBuffer();
  return res.status;
}

async function login(child: NodeRedChild, username: string, scope: string): Promise<string> {
  const res = await fetch(`${child.adminUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }).toString(),
  });
  assert.equal(res.status, 200, `login of ${username}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('security against a real Node-RED (adminAuth, trust proxy)', function () {
  this.timeout(90_000);
  let proxied: NodeRedChild;
  let direct: NodeRedChild;

  before(async () => {
    const hash = bcrypt.hashSync(PASSWORD, 8);
    proxied = await NodeRedChild.create({
      flows, credentials, label: 'trust-proxy',
      settings: {
        adminAuth: { type: 'credentials', users: [{ username: 'admin', password: hash, permissions: '*' }, { username: 'viewer', password: hash, permissions: 'read' }] },
        // one proxy in front, on this machine: X-Forwarded-For's last address is the client's
        httpServerOptions: { 'trust proxy': 'loopback' },
      },
    });
    direct = await NodeRedChild.create({ flows, credentials, label: 'no-proxy' });
    await Promise.all([proxied.start(), direct.start()]);
  });

  after(async () => {
    for (const child of [proxied, direct]) {
      if (!child) continue;
      await child.stop();
      child.remove();
    }
  });

  describe('the IP allow-list behind a proxy', () => {
    it('with trust proxy, X-Forwarded-For decides: an allowed forwarded address passes, another gets 403', async () => {
      assert.equal(await post(proxied, '203.0.113.9', 'p-1'), 200);
      assert.equal(await post(proxied, '198.51.100.7', 'p-2'), 403);
    });

    it('without trust proxy, the forwarded header is ignored: the request has the connection’s address (not on the list)', async () => {
      assert.equal(await post(direct, '203.0.113.9', 'd-1'), 403);
    });
  });

  describe('the callback URL route', () => {
    const route = '/exotel-account/acc/callback-url?path=%2Fexotel%2Fsms&origin=https%3A%2F%2Fshop.example';

    it('is refused without a login, and to a user who may only read (Node-RED answers 401 to both)', async () => {
      assert.equal((await proxied.admin(route)).status, 401);
      const viewer = await login(proxied, 'viewer', 'read');
      assert.equal((await proxied.admin('/flows', { authorization: `Bearer ${viewer}` })).status, 200, 'the viewer is logged in and may read');
      const refused = await proxied.admin(route, { authorization: `Bearer ${viewer}` });
      assert.equal(refused.status, 401);
      assert.ok(!refused.text.includes(TOKEN));
    });

    it('gives the full URL, token included, to a user who may change the account', async () => {
      const admin = await login(proxied, 'admin', '*');
      const res = await proxied.admin(route, { authorization: `Bearer ${admin}` });
      assert.equal(res.status, 200, res.text);
      assert.equal(JSON.parse(res.text).url, `https://shop.example/exotel/sms?token=${TOKEN}`);
    });

    it('the editor’s credentials route does not send the token (a password credential), only that there is one', async () => {
      const admin = await login(proxied, 'admin', '*');
      const res = await proxied.admin('/credentials/exotel-account/acc', { authorization: `Bearer ${admin}` });
      assert.equal(res.status, 200, res.text);
      const sent = JSON.parse(res.text);
      assert.equal(sent.has_webhookToken, true);
      assert.ok(!res.text.includes(TOKEN), res.text);
    });
  });

  describe("the SMS tab's admin API", () => {
    const as = (token: string | null, method: string, pathname: string, body?: unknown) =>
      fetch(`${proxied.adminUrl}${pathname}`, {
        method,
        headers: { accept: 'application/json', 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    it('is refused without a login; a user who may only read sees the lists, but changes and exports nothing', async () => {
      assert.equal((await as(null, 'GET', '/exotel-sms/log')).status, 401);
      const viewer = await login(proxied, 'viewer', 'read');
      assert.equal((await as(viewer, 'GET', '/exotel-sms/log')).status, 200);
      assert.equal((await as(viewer, 'GET', '/exotel-sms/opt-outs')).status, 200);
      assert.equal((await as(viewer, 'POST', '/exotel-sms/opt-outs', { phone: '+919876543210', status: 'opted-out' })).status, 401);
      assert.equal((await as(viewer, 'GET', '/exotel-sms/numbers/%2B919876543210')).status, 401, "a customer's data needs write");
      assert.equal((await as(viewer, 'DELETE', '/exotel-sms/numbers/%2B919876543210')).status, 401);
      const history = await (await as(viewer, 'GET', '/exotel-sms/opt-outs/history?phone=%2B919876543210')).json() as { record: unknown };
      assert.equal(history.record, null, 'nothing was opted out');
    });

    it("records a number opted out by hand as manual, with the editor user's name", async () => {
      const admin = await login(proxied, 'admin', '*');
      const res = await as(admin, 'POST', '/exotel-sms/opt-outs', { phone: '098765 43210', status: 'opted-out' });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json().then((r: { phone: string; source: string }) => [r.phone, r.source]), ['+919876543210', 'manual']);
      const { history } = await (await as(admin, 'GET', '/exotel-sms/opt-outs/history?phone=%2B919876543210')).json() as { history: Array<{ source: string; by: string }> };
      assert.deepEqual(history.map((h) => [h.source, h.by]), [['manual', 'admin']]);
    });
  });
});
