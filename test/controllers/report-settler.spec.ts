// exotel-send's report settler without Node-RED or a store: what reaches the outputs for a report, and
// for a send on the wire at the last stop, when its report comes, when none comes, and at a stop.
import assert from 'node:assert/strict';
import { messageOf, ReportSettler } from '../../src/nodes/exotel-send/report-settler';
import type { DeliveryReport } from '../../src/exotel/report';
import type { OutboxEntry, ReportRecord, SendLogEntry } from '../../src/store';
import type { StoreWait } from '../../src/nodes/shared/store-wait';
import { LogRecorder, ManualTimers, translate } from './fakes';

const ASHA = '+919876543210';
const MINUTE = 60_000;

describe('exotel-send: the report settler', () => {
  let timers: ManualTimers;
  let log: LogRecorder;
  let outputs: unknown[][];
  let removed: number[];
  let handled: Array<[string, string]>;
  let resent: Array<[number, unknown]>;
  let counted: number;
  let logged: Map<string, SendLogEntry>;
  let stop: AbortController;
  let running: boolean;
  let markFails: boolean;

  beforeEach(() => {
    timers = new ManualTimers();
    log = new LogRecorder();
    outputs = [];
    removed = [];
    handled = [];
    resent = [];
    counted = 0;
    logged = new Map();
    stop = new AbortController();
    running = true;
    markFails = false;
  });

  function settler() {
    const output = (msgs: unknown) => void outputs.push(msgs as unknown[]);
    return new ReportSettler({
      store: {
        sendLogEntry: async (customField) => logged.get(customField) ?? null,
        removeFromOutbox: async (id) => void removed.push(id),
        markReportHandled: async (sid, status) => {
          if (markFails) throw new Error('database is locked');
          handled.push([sid, status]);
        },
      },
      log,
      translate,
      timers,
      reconcileAfterMs: 10 * MINUTE,
      storeWait: { retry: (call: () => Promise<unknown>) => call() } as unknown as StoreWait,
      signal: stop.signal,
      output: () => (running ? output : undefined),
      countSent: () => void counted++,
      resend: async (entry, send) => {
        resent.push([entry.id, typeof send]);
      },
    });
  }

  const wire = (id: number, customField: string, body = 'You are unsubscribed'): OutboxEntry =>
    ({ id, nodeId: 'send-1', phone: ASHA, request: { from: 'EXSHOP', to: ASHA, body, encoding: 'unicode', customField }, message: { payload: body, topic: 'stop' } }) as OutboxEntry;

  const logEntry = (fields: Partial<SendLogEntry>): SendLogEntry =>
    ({ sid: 'SM1', exotelStatus: null, detail: null, code: null, units: null, phone: ASHA, nodeId: 'send-1', message: { payload: 'hello', phone: '09876543210' }, ...fields }) as SendLogEntry;

  const report = (fields: Partial<DeliveryReport>, entry: SendLogEntry | null): ReportRecord => ({
    report: { sid: 'SM1', to: ASHA, status: 'sent', delivery: 'delivered', detailedStatus: 'DELIVERED', detailedStatusCode: '20005', dateSent: null, units: 1, customField: 'cf-1', receivedAt: Date.parse('2026-11-28T06:00:00Z'), ...fields },
    entry,
  });

  it('hands a report on at the third output with the message as sent, and marks it handled', async () => {
    const s = settler();
    await s.handOn(report({}, logEntry({ message: { payload: 'hello', phone: '09876543210', topic: 'offers' } })));
    assert.equal(outputs.length, 1);
    const [first, second, msg] = outputs[0] as [unknown, unknown, Record<string, unknown>];
    assert.deepEqual([first, second, msg.payload, msg.phone, msg.topic], [null, null, 'hello', '09876543210', 'offers']);
    assert.deepEqual((msg.delivery as { status: string; at: string }).status, 'delivered');
    assert.deepEqual((msg.delivery as { at: string }).at, '2026-11-28T06:00:00.000Z');
    assert.deepEqual(handled, [['SM1', 'sent']]);
  });

  it('gives the report the number it went to when the message had none, and an empty message when the send is unknown', async () => {
    const s = settler();
    await s.handOn(report({}, logEntry({ message: { payload: 'hello' } })));
    await s.handOn(report({ sid: 'SM2' }, logEntry({ message: 'not an object' })));
    await s.handOn(report({ sid: 'SM3' }, null));
    const msgs = outputs.map((o) => o[2] as Record<string, unknown>);
    assert.deepEqual(msgs.map((m) => [m.payload, m.phone]), [['hello', ASHA], [undefined, ASHA], [undefined, undefined]]);
    assert.deepEqual(messageOf({ message: null }), {});
    assert.deepEqual(messageOf({ message: 'text' }), {});
  });

  it('hands a report read at the start once, though it also arrives live; a live one twice is the receiver\'s to stop', async () => {
    const s = settler();
    const record = report({}, logEntry({}));
    await s.handOn(record, true);
    await s.handOn(record);
    await s.handOn(report({ status: 'failed', delivery: 'failed' }, logEntry({})));
    assert.deepEqual(handled, [['SM1', 'sent'], ['SM1', 'failed']]);
    assert.equal(outputs.length, 2);
  });

  it('warns, and still hands it on, when the report cannot be marked handled', async () => {
    markFails = true;
    await settler().handOn(report({}, logEntry({})));
    assert.equal(outputs.length, 1);
    assert.deepEqual(log.lines, [{ level: 'warn', text: 'warn.reports {"message":"database is locked"}' }]);
  });

  it('settles a send waiting for its report as sent, late, first, then hands the report on', async () => {
    const s = settler();
    s.await('cf-1', wire(4, 'cf-1', 'Stop confirmed'));
    s.await('cf-1', wire(5, 'cf-1')); // asked twice: one wait
    assert.deepEqual(log.lines, [{ level: 'log', text: `log.awaitingReport {"phone":"${ASHA}","minutes":10}` }]);
    assert.equal(timers.timeouts, 1);
    await s.handOn(report({}, logEntry({ exotelStatus: 'sent', detail: 'DELIVERED', code: '20005', units: 2 })));
    assert.deepEqual(removed, [4]);
    assert.equal(counted, 1);
    const sent = outputs[0][0] as Record<string, unknown>;
    assert.deepEqual([sent.payload, sent.topic, sent.exotel], ['Stop confirmed', 'stop', { sid: 'SM1', status: 'sent', detailedStatus: 'DELIVERED', detailedStatusCode: '20005', segments: 2, encoding: 'unicode', late: true }]);
    assert.deepEqual([outputs[0][1], outputs[0][2]], [null, null]);
    assert.ok(outputs[1][2]);
    assert.equal(timers.timeouts, 0, 'its wait is over');
    await timers.tick(10 * MINUTE);
    assert.deepEqual(resent, []);
  });

  it('does not settle a waiting send on a report whose send has no SmsSid yet', async () => {
    const s = settler();
    s.await('cf-1', wire(4, 'cf-1'));
    await s.handOn(report({}, logEntry({ sid: null })));
    assert.deepEqual([removed, counted, outputs.length], [[], 0, 1]);
    assert.equal(timers.timeouts, 1);
  });

  it('sends again, with a warning, when no report came within reconcileAfterMs, unless the send log has its SmsSid', async () => {
    const s = settler();
    s.await('cf-1', wire(4, 'cf-1'));
    s.await('cf-2', wire(6, 'cf-2', 'Your order shipped'));
    logged.set('cf-2', logEntry({ sid: 'SM-2', exotelStatus: null, detail: null, code: null, units: null }));
    await timers.tick(10 * MINUTE - 1);
    assert.deepEqual([resent, outputs], [[], []]);
    await timers.tick(1);
    assert.deepEqual(resent, [[4, 'function']]);
    assert.deepEqual(log.lines.filter((l) => l.level === 'warn'), [{ level: 'warn', text: `warn.resend {"phone":"${ASHA}"}` }]);
    const late = outputs[0][0] as Record<string, unknown>;
    assert.deepEqual([late.payload, late.exotel], ['Your order shipped', { sid: 'SM-2', status: 'sent', detailedStatus: '', detailedStatusCode: null, segments: 1, encoding: 'unicode', late: true }]);
    assert.deepEqual(removed, [6]);
  });

  it('stops waiting when the node stops: nothing is sent again (the sends wait again at the next start)', async () => {
    const s = settler();
    s.await('cf-1', wire(4, 'cf-1'));
    s.stop();
    assert.equal(timers.timeouts, 0);
    s.await('cf-1', wire(4, 'cf-1'));
    stop.abort();
    await timers.tick(10 * MINUTE);
    stop = new AbortController();
    running = false; // its output not set yet
    const again = settler();
    again.await('cf-1', wire(4, 'cf-1'));
    await timers.tick(10 * MINUTE);
    assert.deepEqual([resent, outputs, removed], [[], [], []]);
  });

  it('logs the error when sending again fails', async () => {
    const s = new ReportSettler({
      store: { sendLogEntry: async () => null, removeFromOutbox: async () => undefined, markReportHandled: async () => undefined },
      log, translate, timers, reconcileAfterMs: MINUTE, signal: stop.signal,
      storeWait: { retry: (call: () => Promise<unknown>) => call() } as unknown as StoreWait,
      output: () => () => undefined, countSent: () => undefined,
      resend: async () => { throw new Error('the outbox is gone'); },
    });
    s.await('cf-1', wire(4, 'cf-1'));
    await timers.tick(MINUTE);
    assert.deepEqual(log.lines.filter((l) => l.level === 'error'), [{ level: 'error', text: 'Error: the outbox is gone' }]);
  });
});
