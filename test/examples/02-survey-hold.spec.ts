// The survey example (examples/02) with the default conversation hold (2 s): a customer's next reply
// waits only as long as the flow is still busy with their previous one, never for a hold that no
// change of the conversation will end (a replay after a crash, an answer the survey asks again on).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { click, helper, hooks, loadExample, MockExotel, postReply, readExample, wait, type Mock } from '../support/example-from-src';
import { settings } from '../support/red';

const QUESTION = 'How was your experience? Reply 1 for Great, 2 for Good, 3 for Poor.';
const HOLD_MS = 2_000;

describe('example "02 - Survey.json": a reply waits only while the flow acts on the previous one', function () {
  this.timeout(20_000);
  let dir: string;
  let mock: Mock;
  const flow = readExample('02 - Survey.json');

  const load = () => loadExample(flow, mock);
  const reply = (body: string) => postReply('/exotel/survey', body);

  /** Waits for the SMS number `n` (1-based) and returns its text. */
  async function nthText(n: number, timeoutMs = 6_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (mock.sent.length < n) {
      if (Date.now() > end) throw new Error(`SMS ${n} never went out (sent: ${JSON.stringify(mock.sent.map((s) => s.Body))})`);
      await wait(5);
    }
    return mock.sent[n - 1].Body;
  }

  /** Posts `body` and returns how long the customer waits for the answer (SMS number `n`). */
  async function answered(body: string, n: number, expected: RegExp): Promise<number> {
    const started = Date.now();
    await reply(body);
    const text = await nthText(n);
    const ms = Date.now() - started;
    assert.match(text, expected);
    return ms;
  }

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-hold-'));
    mock = (await new MockExotel().start()) as Mock;
    // The default hold; a replay window long enough that an SMS the flow handled is replayed after a restart.
    settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db'), conversationHoldMs: HOLD_MS, replayWindowMs: 600_000, conversationTimerMs: 250 } });
    await load();
  });

  afterEach(async function () {
    await helper.unload();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an invalid answer, then a valid one: the valid one is answered at once', async function () {
    click('survey-send');
    assert.equal(await nthText(1), QUESTION);
    await reply('it was ok I guess');
    assert.equal(await nthText(2), QUESTION);
    const ms = await answered('1', 3, /great experience/);
    console.log(`      next reply after an invalid answer: answered in ${ms} ms`);
    assert.ok(ms < HOLD_MS / 2, `answered after ${ms} ms: the reply waited for the hold`);
  });

  it('two replies at once are still taken one after the other: the second finds the survey closed', async function () {
    click('survey-send');
    assert.equal(await nthText(1), QUESTION);
    await Promise.all([reply('1'), reply('3')]);
    await nthText(3);
    await wait(200);
    const texts = mock.sent.slice(1).map((s) => s.Body);
    assert.equal(texts.length, 2, JSON.stringify(texts));
    assert.ok(texts.some((t) => /no open survey/.test(t)), JSON.stringify(texts));
  });

  it('after a restart, a replayed SMS the flow had handled holds nothing: the next reply is answered at once', async function () {
    click('survey-send');
    assert.equal(await nthText(1), QUESTION);
    await reply('not sure');
    assert.equal(await nthText(2), QUESTION);
    // Node-RED stops before the SMS counts as handled: the next start hands it on again.
    const replayed: string[] = [];
    hooks.add('onReceive.holdSpec', (event: { msg: { sms?: { replayed?: boolean; body?: string } }; destination: { id: string } }) => {
      if (event.destination.id === 'survey-route' && event.msg.sms?.replayed) replayed.push(event.msg.sms.body ?? '');
    });
    try {
      await helper.unload();
      await load();
      const end = Date.now() + 5_000;
      while (replayed.length === 0 && Date.now() < end) await wait(5);
      assert.deepEqual(replayed, ['not sure'], 'the handled SMS is replayed to the route node');
      const ms = await answered('2', 3, /good experience/);
      console.log(`      next reply after a replay: answered in ${ms} ms`);
      assert.ok(ms < HOLD_MS / 2, `answered after ${ms} ms: the reply waited for the replay's hold`);
      assert.equal(mock.sent.length, 3, 'the replay sent nothing again');
    } finally {
      hooks.remove('*.holdSpec');
    }
  });
});
