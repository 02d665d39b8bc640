// conversation-state reads a number written without its country code with the node's Country
// (contract version 2); a node saved before the setting existed keeps reading it as Indian.
import assert from 'node:assert/strict';
import { SqliteStore } from '../../src/store';
import { ConversationController, type ConversationConfig, type ConversationMessage } from '../../src/nodes/conversation-state/controller';
import { PollerElection } from '../../src/nodes/conversation-state/timeout-poller';
import { contract, validateDefaultCountry } from '../../src/nodes/conversation-state/contract';
import { migrate } from '../../src/nodes/contract';
import { deferred, evaluate, LogRecorder, StatusRecorder, translate } from './fakes';

describe('conversation-state: the country of bare numbers', () => {
  let store: SqliteStore;
  const controllers: ConversationController[] = [];
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(async () => {
    controllers.splice(0).forEach((c) => c.close());
    await store.close();
  });

  /** Starts a conversation for msg.phone with a node saved as `saved`; resolves with the customer's key. */
  async function startFor(saved: Record<string, unknown>, phone: string): Promise<string> {
    const config = migrate(contract, { conversation: 'visit', action: 'start', step: 'asked', ...saved }) as unknown as ConversationConfig;
    const c = new ConversationController({
      nodeId: 'start-1', config, store, evaluate, translate, status: new StatusRecorder(), log: new LogRecorder(),
      send: () => undefined, holdMs: 1_000, timerMs: 1_000, election: new PollerElection(),
    });
    c.attach();
    controllers.push(c);
    const out = deferred<ConversationMessage>();
    c.handle({ phone }, (msg) => out.resolve((Array.isArray(msg) ? msg[0] : msg) as ConversationMessage), (err) => err && out.reject(err));
    return ((await out.promise).conversation as { key: string }).key;
  }

  it('a node set to AE reads 0501234567 as a number of the Emirates', async () => {
    assert.equal(await startFor({ version: 2, defaultCountry: 'AE' }, '0501234567'), '+971501234567');
  });

  it('a node saved before version 2 keeps reading bare numbers as Indian', async () => {
    assert.equal(migrate(contract, { version: 1, conversation: 'visit' }).defaultCountry, 'IN');
    assert.equal(await startFor({ version: 1 }, '9876543210'), '+919876543210');
  });

  it('a number with its country code is read as written, whatever the setting', async () => {
    assert.equal(await startFor({ version: 2, defaultCountry: 'AE' }, '+91 98765 43210'), '+919876543210');
  });

  it('the editor refuses a country that is not two letters', () => {
    assert.equal(validateDefaultCountry('IN'), true);
    assert.notEqual(validateDefaultCountry('India'), true);
    assert.notEqual(validateDefaultCountry(''), true);
  });
});
