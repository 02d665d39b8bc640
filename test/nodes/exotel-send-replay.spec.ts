// A send that failed for good keeps its claim: the same inbound SMS handed on again (after a crash, the
// inbound node replays what the flow had not finished) sends nothing a second time. The flow has already
// been told the send failed, and a failed send may even have gone (a timeout).
import assert from 'node:assert/strict';
import { helper, load, settings, nextMessage, wait, getNode, type FlowNode } from '../support/red';
import { MockExotel } from '../support/mock-exotel';

describe('exotel-send: an inbound SMS handed on again after its send failed', function () {
  let mock: MockExotel;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } });
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
  });

  const flow = (): FlowNode[] => [
    { id: 'f1', type: 'tab' },
    { id: 'acc', type: 'exotel-account', accountSid: 'exampleshop1', apiBaseUrl: mock.url, defaultFrom: 'EXSHOP', dltEntityId: '1101000000001', defaultCountry: 'IN', mode: 'live', rateLimit: 200 },
    { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', dltTemplateId: '1107000000001', attempts: 2, wires: [['sent'], ['failed']] },
    { id: 'sent', z: 'f1', type: 'helper' },
    { id: 'failed', z: 'f1', type: 'helper' },
  ];
  const creds = { acc: { apiKey: 'key-abc123', apiToken: 'token-def456', webhookToken: 'hook-ghi789' } };
  const inbound = { payload: 'Your order is on its way', phone: '+919876543210', sms: { sid: 'inb-9' } };

  for (const [what, answers] of [
    ['refused (a 400)', [{ status: 400, body: { RestException: { Status: 400, Code: 34011, Message: 'Template not approved' } } }]],
    ['retried until its attempts were spent (500s)', [{ status: 500 }, { status: 500 }]],
  ] as const) {
    it(`does not send it again when the send was ${what}`, async function () {
      mock.answer(...answers);
      await load(flow(), creds);
      const failed = nextMessage(getNode('failed'), 5000);
      getNode('send').receive({ ...inbound, sms: { ...inbound.sms } });
      await failed;
      const tried = mock.requests.length;
      assert.equal(tried, answers.length);
      getNode('send').receive({ ...inbound, sms: { ...inbound.sms, replayed: true } });
      await wait(300);
      assert.equal(mock.requests.length, tried, 'the replayed SMS was sent again');
    });
  }
});
