// PostgreSQL unreachable for a while (cut by a TCP proxy in front of it): the webhook answers 503
// with a JSON reason (Exotel tries again), the nodes show "database unavailable" in red, sends wait,
// and everything goes on by itself once the database answers again; nothing acknowledged is lost.
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store';
import { InboundController, type InboundCall, type InboundMessage, type Reply } from '../../src/nodes/exotel-inbound/controller';
import { SendController, type SendMessage } from '../../src/nodes/exotel-send/controller';
import { createTestDatabase, Proxy, type TestDatabase } from '../store/pg-database';
import { deferred, evaluate, FakeGateway, FakeLimiter, LogRecorder, StatusRecorder, translate, until } from '../controllers/fakes';

const ROUTE = '/exotel/sms';
const ASHA = '+919876543210';

function post(query: string, body: string): InboundCall {
  return {
    method: 'POST',
    ip: '10.0.0.1',
    query,
    contentType: 'application/x-www-form-urlencoded',
    readBody: async () => ({ body: Buffer.from(body), contentType: 'application/x-www-form-urlencoded' }),
  };
}
const sms = (sid: string) => `SmsSid=${sid}&From=09876543210&To=08012345678&Body=hello&AccountSid=acct1`;

async function within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('cluster: the database goes away and comes back', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let proxy: Proxy;
  let store: PostgresStore;

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    proxy = await new Proxy().start();
    store = new PostgresStore({ type: 'postgres', connectionString: db.url(proxy.port), connectionTimeoutMillis: 1_000 });
    await store.ready();
  });
  afterEach(async () => {
    await proxy.restore().catch(() => undefined);
    await store.close();
    await proxy.cut();
  });

  it('webhook: 503 with a JSON reason and a red status while it is away, 200 and green again by itself after', async () => {
    const status = new StatusRecorder();
    const emitted: InboundMessage[] = [];
    const c = new InboundController({
      routePath: ROUTE, allowList: null,
      account: { accountSid: 'acct1', defaultCountry: 'IN', checkWebhookToken: (given) => given('s3cret'), redact: (t) => t },
      store, translate, status, log: new LogRecorder(), emit: (msg) => emitted.push(msg),
      probe: () => store.schemaVersion(), probeMs: 200,
    });
    try {
      const reply = (call: InboundCall) => new Promise<Reply>((resolve) => void c.callback(call, resolve));
      assert.equal((await reply(post('token=s3cret', sms('SM1')))).status, 200);
      await proxy.cut();
      const refused = await reply(post('token=s3cret', sms('SM2')));
      assert.deepEqual(refused, { status: 503, error: 'the database is unavailable; try again' });
      assert.deepEqual(status.last, { fill: 'red', text: 'status.storeUnavailable' });
      assert.deepEqual(emitted.map((m) => m.sms.sid), ['SM1'], 'nothing handed on that was not recorded');
      await proxy.restore();
      // No webhook needed: the probe finds the database again and the red status goes.
      await within(10_000, async () => assert.notEqual(status.last.fill, 'red'));
      // Exotel's retry of SM2 is now recorded and handed on, once.
      assert.equal((await reply(post('token=s3cret', sms('SM2')))).status, 200);
      assert.equal((await reply(post('token=s3cret', sms('SM2')))).status, 200);
      assert.deepEqual(emitted.filter((m) => !m.sms.replayed).map((m) => m.sms.sid), ['SM1', 'SM2'], 'SM2 once');
      // SM1 was not settled when the database went away (its flow may have failed half-way): handed on again, marked so
      assert.deepEqual(emitted.filter((m) => m.sms.replayed).map((m) => m.sms.sid), ['SM1']);
    } finally {
      await c.close();
    }
  });

  it('send: waits (red status) while it is away and goes out once when it is back', async () => {
    const status = new StatusRecorder();
    const gateway = new FakeGateway();
    const c = new SendController({
      nodeId: 'send-1', config: {},
      account: { client: gateway, limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'EXOTEL', dltEntityId: '', redact: (t: string) => t } as never,
      store, evaluate, translate, status, log: new LogRecorder(), failureWired: () => true,
    });
    try {
      await proxy.cut();
      const outcome = deferred<{ sent: SendMessage | null; failed: SendMessage | null; err?: Error }>();
      let out: { sent: SendMessage | null; failed: SendMessage | null } = { sent: null, failed: null };
      void c.handle({ phone: ASHA, payload: 'your order shipped' }, (pair) => {
        const [sent, failed] = pair as [SendMessage | null, SendMessage | null];
        out = { sent, failed };
      }, (err) => outcome.resolve({ ...out, err }));
      await until(() => status.shown.some((s) => s.fill === 'red' && s.text === 'status.storeUnavailable'), 200_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(gateway.sent.length, 0, 'nothing is sent while the opt-out status cannot be read');
      await proxy.restore();
      const done = await outcome.promise;
      assert.equal(done.err, undefined);
      assert.ok(done.sent, 'it went out once the database answered');
      assert.equal(gateway.sent.length, 1);
      assert.notEqual(status.last.fill, 'red');
    } finally {
      c.stop();
    }
  });
});
