import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helper, load, settings, nextMessage, collect, wait, until, getNode, type FlowNode } from '../support/red';
import { core } from '../support/examples';

const PHONE = '+919876543210';

describe('conversation-state', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-conv-node-'));
    settings({ exotelSms: { storePath: path.join(dir, 'db'), conversationTimerMs: 50, conversationHoldMs: 300 } });
  });
  afterEach(async function () {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const node = (id: string, props: Record<string, unknown>, wires: string[][]) => ({ id, z: 'f1', type: 'conversation-state', conversation: 'order', key: 'phone', keyType: 'msg', wires, ...props });
  function flow(): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      node('cStart', { action: 'start', step: 'order-id', data: 'data', dataType: 'msg', timeout: 0.005 }, [['started']]),
      node('cRoute', { action: 'route', steps: ['order-id', 'rating'] }, [['atOrderId'], ['atRating'], ['none'], ['timedOut']]),
      node('cUpdate', { action: 'update', step: 'rating', saveAs: 'orderId' }, [['updated']]),
      node('cEnd', { action: 'end', saveAs: 'rating' }, [['ended']]),
      ...['started', 'atOrderId', 'atRating', 'none', 'timedOut', 'updated', 'ended'].map((id) => ({ id, z: 'f1', type: 'helper' })),
    ];
  }
  const get = (id: string) => getNode(id);

  it('starts, routes by step, saves replies and ends, with msg.conversation at each point', async function () {
    await load(flow(), {});
    const started = nextMessage(get('started'));
    get('cStart').receive({ phone: '09876543210', data: { channel: 'sms' } });
    const s = await started;
    assert.deepEqual([s.conversation.name, s.conversation.step, s.conversation.key, s.conversation.data], ['order', 'order-id', PHONE, { channel: 'sms' }]);
    assert.ok(Date.parse(s.conversation.expiresAt) - Date.now() > 23 * 3_600_000);

    const routed = nextMessage(get('atOrderId'));
    get('cRoute').receive({ phone: PHONE, payload: 'A123' });
    const r = await routed;
    get('cUpdate').receive(r);
    const u = await nextMessage(get('updated'));
    assert.deepEqual([u.conversation.step, u.conversation.data], ['rating', { channel: 'sms', orderId: 'A123' }]);

    const atRating = nextMessage(get('atRating'));
    get('cRoute').receive({ phone: PHONE, payload: '5' });
    get('cEnd').receive(await atRating);
    const e = await nextMessage(get('ended'));
    assert.deepEqual(e.conversation.data, { channel: 'sms', orderId: 'A123', rating: '5' });
    assert.equal(e.conversation.ended, true);

    const none = nextMessage(get('none'));
    get('cRoute').receive({ phone: PHONE, payload: 'hello?' });
    assert.equal((await none).conversation, null);
  });

  it('emits a conversation on "timed out" when no reply comes in time, once', async function () {
    await load(flow(), {});
    const timedOut = collect(get('timedOut'));
    get('cStart').receive({ phone: PHONE });
    await until(() => timedOut.length === 1, 3000, 'the timeout');
    assert.equal(timedOut[0].phone, PHONE);
    assert.equal(timedOut[0].conversation.step, 'order-id');
    assert.equal(timedOut[0].conversation.timedOut, true);
    await wait(300);
    assert.equal(timedOut.length, 1);
  });

  it('fires a deadline that passed while Node-RED was stopped, after the restart', async function () {
    await load(flow(), {});
    const started = nextMessage(get('started'));
    get('cStart').receive({ phone: PHONE });
    await started;
    await helper.unload();
    await wait(400); // the deadline (0.3 s) passes while nothing runs
    await load(flow(), {});
    const timedOut = nextMessage(get('timedOut'), 3000);
    assert.equal((await timedOut).conversation.step, 'order-id');
  });

  it('routes a second reply from the same number by the state the first one left', async function () {
    await load(flow(), {});
    const started = nextMessage(get('started'));
    get('cStart').receive({ phone: PHONE });
    await started;
    // the flow updates whatever reaches order-id, and ends whatever reaches rating
    get('atOrderId').on('input', (msg) => get('cUpdate').receive(msg));
    get('atRating').on('input', (msg) => get('cEnd').receive(msg));
    const ended = nextMessage(get('ended'));
    get('cRoute').receive({ phone: PHONE, payload: 'A123' });
    get('cRoute').receive({ phone: PHONE, payload: '5' });
    const e = await ended;
    assert.deepEqual(e.conversation.data, { orderId: 'A123', rating: '5' });
  });

  it('verifies a one-time code: verified, wrong with attempts left, too many', async function () {
    const f = [
      { id: 'f1', type: 'tab' },
      { id: 'otpStart', z: 'f1', type: 'conversation-state', conversation: 'otp', action: 'start', step: 'code', key: 'phone', keyType: 'msg', code: true, codeLength: 6, codeLifetime: 10, codeAttempts: 2, wires: [['started']] },
      { id: 'cVerify', z: 'f1', type: 'conversation-state', conversation: 'otp', action: 'verify', key: 'phone', keyType: 'msg', wires: [['ok'], ['wrong'], ['failed']] },
      ...['started', 'ok', 'wrong', 'failed'].map((id) => ({ id, z: 'f1', type: 'helper' })),
    ];
    await load(f, {});
    const started = nextMessage(get('started'));
    get('otpStart').receive({ phone: PHONE });
    const code = (await started).conversation.code;
    assert.match(code, /^\d{6}$/);

    const wrong = nextMessage(get('wrong'));
    get('cVerify').receive({ phone: PHONE, payload: code === '000000' ? '111111' : '000000' });
    const w = await wrong;
    assert.equal(w.conversation.attemptsLeft, 1);
    assert.deepEqual(w.verification, { result: 'wrong', attemptsLeft: 1 });

    const ok = nextMessage(get('ok'));
    get('cVerify').receive({ phone: PHONE, payload: ` ${code} ` });
    assert.equal((await ok).verification.result, 'verified');

    // a new code, then two wrong tries: too many
    const again = nextMessage(get('started'));
    get('otpStart').receive({ phone: PHONE });
    const code2 = (await again).conversation.code;
    const bad = code2 === '999999' ? '888888' : '999999';
    const failed = nextMessage(get('failed'));
    get('cVerify').receive({ phone: PHONE, payload: bad });
    await nextMessage(get('wrong'));
    get('cVerify').receive({ phone: PHONE, payload: bad });
    assert.equal((await failed).verification.result, 'too-many');

    const none = nextMessage(get('failed'));
    get('cVerify').receive({ phone: '+919876543211', payload: '123456' });
    assert.equal((await none).verification.result, 'none');
  });

  it('handles an inbound SMS handed on twice (a replay after a restart) the same way both times', async function () {
    const f = [
      { id: 'f1', type: 'tab' },
      { id: 'otpStart', z: 'f1', type: 'conversation-state', conversation: 'otp', action: 'start', step: 'code', key: 'phone', keyType: 'msg', code: true, wires: [['started']] },
      { id: 'cVerify', z: 'f1', type: 'conversation-state', conversation: 'otp', action: 'verify', key: 'phone', keyType: 'msg', wires: [['ok'], ['wrong'], ['failed']] },
      ...['started', 'ok', 'wrong', 'failed'].map((id) => ({ id, z: 'f1', type: 'helper' })),
    ];
    await load(f, {});
    const started = nextMessage(get('started'));
    get('otpStart').receive({ phone: PHONE });
    const code = (await started).conversation.code;
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = collect(get('wrong'));
    const ok = collect(get('ok'));
    const failed = collect(get('failed'));
    get('cVerify').receive({ phone: PHONE, payload: wrongCode, sms: { sid: 'sms-w' } });
    get('cVerify').receive({ phone: PHONE, payload: wrongCode, sms: { sid: 'sms-w' } });
    get('cVerify').receive({ phone: PHONE, payload: code, sms: { sid: 'sms-ok' } });
    get('cVerify').receive({ phone: PHONE, payload: code, sms: { sid: 'sms-ok' } });
    await until(() => wrong.length + ok.length + failed.length === 4);
    assert.deepEqual(wrong.map((m) => m.conversation.attemptsLeft), [2, 2], 'one attempt used, not two');
    assert.equal(ok.length, 2, 'the replay of the right code is verified again, not "expired"');
    assert.equal(failed.length, 0);
  });

  it('shows the number of active conversations', async function () {
    await load(flow(), {});
    const statuses: string[] = [];
    get('cRoute').on('call:status', (c) => statuses.push(c.args[0].text));
    get('cStart').receive({ phone: '9876543210' });
    get('cStart').receive({ phone: '9876543211' });
    await until(() => statuses.includes('2 active · route'), 3000, 'the status');
  });

  it('refuses a message with no customer number through done(err): a Catch node gets it, no conversation starts', async function () {
    const f = flow();
    f.push({ id: 'catcher', z: 'f1', type: 'catch', wires: [['caught']] }, { id: 'caught', z: 'f1', type: 'helper' });
    await load(f, {}, [core('common/25-catch.js')]);
    const started = collect(get('started'));
    const statuses: string[] = [];
    get('cStart').on('call:status', (c) => statuses.push(c.args[0].text));
    const caught = nextMessage(get('caught'));
    get('cStart').receive({ payload: 'no phone here' });
    const msg = await caught;
    assert.equal(msg.error.source.id, 'cStart');
    assert.match(msg.error.message, /no customer number in msg\.phone/);
    assert.equal(msg.payload, 'no phone here', 'the message that failed, for the flow to deal with');
    // The next customer's conversation is the only one: none was started for the message without a number.
    get('cStart').receive({ phone: PHONE });
    await nextMessage(get('started'));
    await until(() => statuses.some((text) => /^1 active/.test(text)), 3000, 'the status');
    await wait(100);
    assert.deepEqual(statuses.filter((text) => /^2 active/.test(text)), []);
    assert.equal(started.length, 1);
  });
});
