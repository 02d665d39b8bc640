import assert from 'node:assert/strict';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode } from '../support/red';
import { MockExotel } from '../support/mock-exotel';
import { core } from '../support/examples';

const catchNode = core('common/25-catch.js');

describe('exotel-send', function () {
  let mock: MockExotel;
  beforeEach(async function () {
    mock = await new MockExotel().start();
    settings({ exotelSms: { storePath: ':memory:', retryBaseDelayMs: 5 } });
  });
  afterEach(async function () {
    await helper.unload();
    await mock.stop();
  });

  function flow(send = {}, account = {}): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'acc', type: 'exotel-account', accountSid: 'exampleshop1', apiBaseUrl: mock.url, defaultFrom: 'EXSHOP', dltEntityId: '1101000000001', defaultCountry: 'IN', mode: 'live', rateLimit: 200, ...account },
      { id: 'send', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', dltTemplateId: '1107000000001', wires: [['sent'], ['failed']], ...send },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'failed', z: 'f1', type: 'helper' },
    ];
  }
  const creds = { acc: { apiKey: 'key-abc123', apiToken: 'token-def456', webhookToken: 'hook-ghi789' } };

  it('sends msg.payload to msg.phone from the account’s sender and sets msg.exotel', async function () {
    await load(flow(), creds);
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ payload: 'Your order has shipped.', phone: '09876543210' });
    const msg = await sent;
    assert.deepEqual(msg.exotel, { sid: 'mock-1', status: 'queued', detailedStatus: 'PENDING_TO_OPERATOR', detailedStatusCode: 21010, segments: 1, encoding: 'plain' });
    assert.equal(mock.requests.length, 1);
    const req = mock.requests[0];
    assert.equal(req.url, '/v1/Accounts/exampleshop1/Sms/send.json');
    assert.equal(req.headers.authorization, 'Basic ' + Buffer.from('key-abc123:token-def456').toString('base64'));
    assert.deepEqual(req.form, { From: 'EXSHOP', To: '+919876543210', Body: 'Your order has shipped.', EncodingType: 'plain', DltEntityId: '1101000000001', DltTemplateId: '1107000000001' });
  });

  it('renders {{placeholders}} against msg and sends Unicode text as unicode', async function () {
    await load(flow({ text: 'Your appointment on {{conversation.data.date}} is confirmed & paid ₹{{amount}}', textType: 'str', from: 'CLINIC', dltTemplateId: '1107000000042', smsType: 'transactional', priority: 'high' }), creds);
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ phone: '+919876543210', conversation: { data: { date: 'Jan 20 at 3 PM' } }, amount: 500 });
    const msg = await sent;
    assert.equal(msg.exotel.encoding, 'unicode');
    assert.deepEqual(mock.requests[0].form, {
      From: 'CLINIC', To: '+919876543210', Body: 'Your appointment on Jan 20 at 3 PM is confirmed & paid ₹500', EncodingType: 'unicode',
      DltEntityId: '1101000000001', DltTemplateId: '1107000000042', SmsType: 'transactional', Priority: 'high',
    });
  });

  it('takes the DLT template id from msg.dltTemplateId when the node has none', async function () {
    await load(flow({ dltTemplateId: '' }), creds);
    const sent = nextMessage(getNode('sent'));
    getNode('send').receive({ payload: 'hi', phone: '9876543210', dltTemplateId: '1107000000099' });
    await sent;
    assert.equal(mock.requests[0].form.DltTemplateId, '1107000000099');
  });

  it('fails without calling Exotel when the account has a DLT entity and the message no template', async function () {
    await load(flow({ dltTemplateId: '' }), creds);
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    assert.equal((await failed).error.code, 'no_dlt_template');
    assert.equal(mock.requests.length, 0);
  });

  it('fails an invalid number without calling Exotel', async function () {
    await load(flow(), creds);
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '12345' });
    const msg = await failed;
    assert.equal(msg.error.code, 'invalid_number');
    assert.equal(msg.error.retryable, false);
    assert.match(msg.error.message, /"12345" is not a valid phone number/);
    assert.equal(mock.requests.length, 0);
  });

  it('fails empty text and a missing sender with their own codes', async function () {
    await load(flow({}, { defaultFrom: '' }), creds);
    const failures = collect(getNode('failed'));
    getNode('send').receive({ payload: '  ', phone: '9876543210' });
    getNode('send').receive({ payload: 'hello', phone: '9876543210' });
    await until(() => failures.length === 2);
    assert.deepEqual(failures.map((m) => m.error.code).sort(), ['empty_text', 'no_sender']);
    assert.equal(mock.requests.length, 0);
  });

  it('passes on Exotel’s RestException and does not retry a 400', async function () {
    mock.answer({ status: 400, body: { RestException: { Status: 400, Code: 34011, Message: 'Template not approved' } } });
    await load(flow(), creds);
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    const msg = await failed;
    assert.deepEqual(msg.error, { code: 34011, message: 'Exotel: Template not approved', retryable: false, httpStatus: 400 });
    assert.equal(mock.requests.length, 1);
  });

  it('retries a 503 and a dropped connection, then sends', async function () {
    mock.answer({ status: 503 }, { reset: true });
    await load(flow(), creds);
    const sent = nextMessage(getNode('sent'), 5000);
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    const msg = await sent;
    assert.equal(msg.exotel.sid, 'mock-1');
    assert.deepEqual(mock.requests.map((r) => r.answered), [503, 'reset', 200]);
  });

  it('gives up after the node’s attempts and says why', async function () {
    mock.answer({ status: 500 }, { status: 500 });
    await load(flow({ attempts: 2 }), creds);
    const failed = nextMessage(getNode('failed'), 5000);
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    const msg = await failed;
    assert.equal(msg.error.httpStatus, 500);
    assert.equal(msg.error.retryable, true);
    assert.match(msg.error.message, /after 2 attempts/);
    assert.equal(mock.requests.length, 2);
  });

  it('paces every send node of an account together to its rate limit', async function () {
    const f = flow({}, { rateLimit: 2 });
    f.push({ id: 'send2', z: 'f1', type: 'exotel-send', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', dltTemplateId: '1107000000001', wires: [['sent'], ['failed']] });
    await load(f, creds);
    getNode('send').receive({ payload: 'a', phone: '9876543210' });
    getNode('send2').receive({ payload: 'b', phone: '9876543211' });
    getNode('send').receive({ payload: 'c', phone: '9876543212' });
    await until(() => mock.requests.length === 2);
    await wait(300);
    assert.equal(mock.requests.length, 2, 'the third send must wait for the next minute');
  });

  it('fails with queue_full rather than queue without end', async function () {
    await load(flow({}, { rateLimit: 1, queueLimit: 1 }), creds);
    const failures = collect(getNode('failed'));
    ['a', 'b', 'c'].forEach((payload, i) => getNode('send').receive({ payload, phone: `987654321${i}` }));
    await until(() => failures.length === 1);
    assert.equal(failures[0].error.code, 'queue_full');
    assert.equal(failures[0].payload, 'c');
  });

  it('sends once per inbound SMS and recipient, even when the message comes again', async function () {
    await load(flow(), creds);
    const sent = collect(getNode('sent'));
    const inbound = { payload: 'Thanks!', phone: '+919876543210', sms: { sid: 'inb-1' } };
    getNode('send').receive({ ...inbound });
    await until(() => sent.length === 1);
    getNode('send').receive({ ...inbound });
    getNode('send').receive({ ...inbound, phone: '+919876543211' });
    await until(() => sent.length === 2);
    await wait(100);
    assert.deepEqual(mock.sent.map((s) => s.To), ['+919876543210', '+919876543211']);
  });

  it('reports a failure to a Catch node when the failed output is not wired', async function () {
    const f = flow();
    f[2].wires = [['sent'], []];
    f.push({ id: 'catcher', z: 'f1', type: 'catch', wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper' });
    await load(f, creds, [catchNode]);
    const caught = nextMessage(getNode('caught'));
    getNode('send').receive({ payload: 'hi', phone: 'not a number' });
    const msg = await caught;
    assert.equal(msg.error.source.id, 'send');
    assert.match(msg.error.message, /SMS not sent: "not a number" is not a valid phone number/);
  });

  it('never lets a credential into msg.error or the log', async function () {
    mock.answer({ status: 401, body: { RestException: { Status: 401, Code: 401, Message: 'Authentication failed for key-abc123:token-def456' } } });
    await load(flow(), creds);
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    const msg = await failed;
    assert.equal(msg.error.code, 401);
    assert.match(msg.error.message, /Authentication failed for \*\*\*:\*\*\*/);
    const everything = JSON.stringify(msg) + JSON.stringify(helper.log().args);
    for (const secret of ['key-abc123', 'token-def456', 'hook-ghi789']) assert.ok(!everything.includes(secret), secret);
  });

  it('shows sent and failed counts under the node', async function () {
    await load(flow(), creds);
    const node = getNode('send');
    const statuses: string[] = [];
    node.on('call:status', (call) => statuses.push(call.args[0].text));
    node.receive({ payload: 'hi', phone: '9876543210' });
    node.receive({ payload: 'hi', phone: 'bad' });
    await until(() => statuses.includes('1 sent · 1 failed'), 3000, 'the status');
  });

  it('shows a red status when the account has no API credentials', async function () {
    await load(flow(), { acc: {} });
    const failed = nextMessage(getNode('failed'));
    getNode('send').receive({ payload: 'hi', phone: '9876543210' });
    const msg = await failed;
    assert.equal(msg.error.code, 'not_configured');
    assert.match(msg.error.message, /API key or token is missing/);
  });
});
