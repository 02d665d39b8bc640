import assert from 'node:assert/strict';
import type { SandboxMessage } from '../../src/store';
import { helper, load, settings, until, wait, getNode, collect } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { CORE_NODES, loadExample, readExample, type LoadedExample } from '../support/examples';
import { present } from '../support/present';

const FILE = '01 - Opt-in and opt-out.json';
const CUSTOMER = '+919876543210';
const ASK = 'Reply YES to receive order updates. Reply STOP to unsubscribe.';
const SUBSCRIBED = 'You are now subscribed to order updates from ExampleStore.';

describe(`example "${FILE}"`, function () {
  let mock: MockExotel;
  let example: LoadedExample;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } });
    example = await loadExample(FILE, mock.url);
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
  });

  /** The texts Exotel was asked to send, in order. */
  const texts = () => mock.sent.map((s) => s.Body);
  async function expectSent(count: number) {
    await until(() => mock.sent.length >= count, 3000, `${count} SMS`);
    await wait(50);
    assert.equal(mock.sent.length, count, `sent: ${JSON.stringify(texts())}`);
  }
  const click = (name: string) => getNode(example.node(name).id).receive({});

  it('ships with a sandbox account, a comment, and the documented inject nodes', function () {
    const flow = readExample(FILE);
    assert.equal(present(flow.find((n) => n.type === 'exotel-account')).mode, 'sandbox');
    assert.ok(flow.some((n) => n.type === 'comment'));
    assert.equal(present(flow.find((n) => n.type === 'exotel-inbound')).path, '/exotel/opt-in');
    for (const name of ['Ask for opt-in', 'Send order update']) {
      const inject = present(flow.find((n) => n.type === 'inject' && n.name === name), name);
      assert.deepEqual(inject.props, [{ p: 'phone', v: CUSTOMER, vt: 'str' }]);
    }
  });

  it('runs the whole opt-in / opt-out conversation', async function () {
    click('Ask for opt-in');
    await expectSent(1);
    assert.deepEqual(mock.sent[0], { From: 'EXSTOR', To: CUSTOMER, Body: ASK, EncodingType: 'plain' });

    await example.reply('/exotel/opt-in', 'YES');
    await expectSent(2);
    assert.equal(texts()[1], SUBSCRIBED);

    await example.reply('/exotel/opt-in', 'yes!');
    await expectSent(3);
    assert.equal(texts()[2], SUBSCRIBED);

    await example.reply('/exotel/opt-in', 'HELP');
    await expectSent(4);
    assert.match(texts()[3], /reply YES or START to subscribe, STOP to unsubscribe/);

    await example.reply('/exotel/opt-in', 'what is this?');
    await expectSent(5);
    assert.match(texts()[4], /did not understand.*YES.*STOP.*HELP/);

    click('Send order update');
    await expectSent(6);
    assert.match(texts()[5], /order #1234 has shipped/);

    await example.reply('/exotel/opt-in', 'STOP');
    await expectSent(7);
    assert.match(texts()[6], /unsubscribed.*Reply START to subscribe again/);

    // STOP again: already out, and the one confirmation has gone: nothing more is sent
    await example.reply('/exotel/opt-in', 'stop');
    await wait(200);
    assert.equal(mock.sent.length, 7);

    // the order update is blocked for the opted-out number, and the API never sees it
    const requestsBefore = mock.requests.length;
    click('Send order update');
    await wait(200);
    assert.equal(mock.requests.length, requestsBefore);
    assert.equal(mock.sent.length, 7);

    // HELP after STOP is answered (information the customer asked for); anything else is not
    await example.reply('/exotel/opt-in', 'HELP');
    await expectSent(8);
    assert.match(texts()[7], /reply YES or START to subscribe, STOP to unsubscribe/);
    await example.reply('/exotel/opt-in', 'what is this?');
    await wait(200);
    assert.equal(mock.sent.length, 8);

    // START subscribes again, and updates flow again
    await example.reply('/exotel/opt-in', 'START');
    await expectSent(9);
    assert.equal(texts()[8], SUBSCRIBED);
    click('Send order update');
    await expectSent(10);
    assert.ok(mock.sent.every((s) => s.To === CUSTOMER));
  });

  it('opts out on NO too, and a repeated callback of the same STOP sends one confirmation', async function () {
    const sid = await example.reply('/exotel/opt-in', 'No.');
    await expectSent(1);
    assert.match(texts()[0], /unsubscribed/);
    await example.reply('/exotel/opt-in', 'No.', { sid });
    await wait(200);
    assert.equal(mock.sent.length, 1);
  });
});

describe(`example "${FILE}" as shipped, in sandbox mode`, function () {
  afterEach(() => helper.unload());

  it('holds the conversation in the sandbox phone with no Exotel account at all', async function () {
    settings({ exotelSms: { storePath: ':memory:' } });
    const flow = readExample(FILE);
    await load(flow, {}, CORE_NODES);
    const account = present(flow.find((n) => n.type === 'exotel-account')).id;
    const byName = (name: string) => getNode(present(flow.find((n) => n.name === name), name).id);
    const thread = async () => (await helper.request().get(`/exotel-sandbox/${account}/messages`).query({ phone: CUSTOMER })).body.map((m: SandboxMessage) => `${m.direction}: ${m.body}`);
    const reply = (text: string) => helper.request().post(`/exotel-sandbox/${account}/reply`).send({ phone: CUSTOMER, text }).expect(200);

    byName('Ask for opt-in').receive({});
    await until(async () => (await thread()).length === 1);
    await reply('YES');
    await until(async () => (await thread()).length === 3);
    await reply('STOP');
    await until(async () => (await thread()).length === 5);
    byName('Send order update').receive({});
    await until(async () => (await thread()).length === 6);
    assert.deepEqual(await thread(), [
      `out: ${ASK}`,
      'in: YES',
      `out: ${SUBSCRIBED}`,
      'in: STOP',
      'out: You have been unsubscribed from ExampleStore order updates and will get no more messages. Reply START to subscribe again.',
      'out: Your ExampleStore order #1234 has shipped and arrives on Jan 22.',
    ]);
    // the order update after STOP was not sent: the phone shows it as failed, because of the opt-out
    const last = (await helper.request().get(`/exotel-sandbox/${account}/messages`).query({ phone: CUSTOMER })).body.at(-1) as SandboxMessage & { error?: { code: string } };
    assert.deepEqual([last.status, last.error?.code], ['failed', 'opted_out']);
  });

  it('hands the order update\'s delivery report to the Delivery reports debug node, with the message as it was sent', async function () {
    settings({ exotelSms: { storePath: ':memory:' } });
    const flow = readExample(FILE);
    await load(flow, {}, CORE_NODES);
    const byName = (name: string) => getNode(present(flow.find((n) => n.name === name), name).id);
    const reports = collect(byName('Delivery reports'));
    byName('Send order update').receive({});
    byName('Order update').receive({ phone: '+919000000001' }); // what Send order update sends, to the sandbox's DND number
    await until(() => reports.length === 2, 5000, 'two delivery reports');
    const byPhone = Object.fromEntries(reports.map((m) => [m.phone, m]));
    assert.deepEqual([byPhone[CUSTOMER].delivery.status, byPhone[CUSTOMER].delivery.reason], ['delivered', "Delivered to the customer's phone."]);
    assert.deepEqual([byPhone['+919000000001'].delivery.status, byPhone['+919000000001'].delivery.exotelStatus], ['failed', 'failed_dnd']);
    assert.match(byPhone['+919000000001'].delivery.reason, /Do Not Disturb/);
  });
});
