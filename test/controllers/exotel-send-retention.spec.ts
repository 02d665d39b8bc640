// exotel-send keeps a failed send for the retention period only, and a store that fails the purge
// is reported, not thrown.
import assert from 'node:assert/strict';
import { SqliteStore } from '../../src/store';
import { SendController } from '../../src/nodes/exotel-send/controller';
import { evaluate, FakeGateway, FakeLimiter, LogRecorder, StatusRecorder, translate } from './fakes';

const DAY = 86_400_000;

describe('exotel-send retention', () => {
  let store: SqliteStore;
  let log: LogRecorder;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    log = new LogRecorder();
  });
  afterEach(async () => store.close());

  const controller = () =>
    new SendController({
      nodeId: 'send-1', config: {}, store, evaluate, translate, status: new StatusRecorder(), log, failureWired: () => true,
      account: { client: new FakeGateway(), limiter: new FakeLimiter(), configProblem: null, defaultCountry: 'IN', defaultFrom: 'EXOTEL', dltEntityId: '', redact: (t: string) => t },
    });

  it('deletes failed sends older than the retention period and keeps the newer ones', async () => {
    const add = async (body: string) => {
      const id = (await store.addToOutbox({ nodeId: 'send-1', phone: '+919876543210', request: { body }, message: null, claimKey: null, confirmation: false }))!;
      await store.failOutboxEntry(id, 1, { code: 'rejected' });
      return id;
    };
    const old = await add('old');
    const recent = await add('recent');
    store.db.prepare('UPDATE outbox SET updated_at = ? WHERE id = ?').run(Date.now() - 181 * DAY, old);
    await controller().purgeOld(180 * DAY);
    assert.deepEqual((await store.outboxEntries('send-1', 'failed')).map((e) => e.id), [recent]);
  });

  it('a purge the store refuses is a warning', async () => {
    const c = controller();
    await store.close();
    await c.purgeOld(180 * DAY);
    assert.deepEqual(log.lines.map((l) => l.level), ['warn'], JSON.stringify(log.lines));
  });
});
