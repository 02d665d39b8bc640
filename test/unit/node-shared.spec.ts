// src/nodes/shared: what every node's adapter leans on, tested without Node-RED. The HTTP glue of the
// SMS in node (middleware, stale routes, the query string, the answer on the wire), the runtime's
// texts and their language, the start of the flows, settings.js, the throttled status, the wait for
// a database that went away, TypedInputs.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Request, Response } from 'express';
import type { Node, NodeAPI } from 'node-red';
import sinon from 'sinon';
import { codeKeyFromSecret, processCodeKey } from '../../src/store/code-key';
import { StoreUnavailableError } from '../../src/store';
import { answer, callOf, middlewareOf, queryOf, removeRoutes } from '../../src/nodes/shared/http';
import { languagesFor, messages, runtimeLanguage } from '../../src/nodes/shared/i18n';
import { whenFlowsStarted } from '../../src/nodes/shared/lifecycle';
import { shown, statusText, systemTimers } from '../../src/nodes/shared/ports';
import { CODE_KEY_FILE, codeKey, openStore, packageSettings, reconcileAfterMs, retentionMs, sharedStoreConfigured, storePath } from '../../src/nodes/shared/settings';
import { handOnReport, listenForReports } from '../../src/nodes/shared/report-listeners';
import type { ReportRecord } from '../../src/store';
import { refuse, refusedAction, ThrottledStatus } from '../../src/nodes/shared/status';
import { StoreWait } from '../../src/nodes/shared/store-wait';
import { evaluateProperty, evaluatorFor, onInput } from '../../src/nodes/shared/typed-input';
import { ManualTimers } from '../controllers/fakes';

const DAY = 86_400_000;

/** The part of RED these helpers read: settings and the log. */
function red(settings: Record<string, unknown> = {}) {
  const warnings: string[] = [];
  const RED = { settings, log: { warn: (text: string) => warnings.push(text) } } as unknown as NodeAPI;
  return { RED, warnings };
}

/** A response that records what was put on the wire. */
function response(headersSent = false) {
  const wire: { status?: number; headers: Record<string, string>; json?: unknown; ended: boolean } = { headers: {}, ended: false };
  const res = {
    headersSent,
    status(code: number) {
      wire.status = code;
      return res;
    },
    set(name: string, value: string) {
      wire.headers[name] = value;
      return res;
    },
    end() {
      wire.ended = true;
      return res;
    },
    json(body: unknown) {
      wire.json = body;
      return res;
    },
  };
  return { res: res as unknown as Response, wire };
}

describe('node shared: HTTP', () => {
  it('uses settings.js’s httpNodeMiddleware (one or a list), else lets every request through', () => {
    const one = () => undefined;
    const list = [one, one];
    assert.equal(middlewareOf({ httpNodeMiddleware: one }), one);
    assert.equal(middlewareOf({ httpNodeMiddleware: list }), list);
    const through = middlewareOf({ httpNodeMiddleware: 'nonsense' }) as (req: unknown, res: unknown, next: () => void) => void;
    let passed = 0;
    through({}, {}, () => passed++);
    assert.equal(passed, 1);
    assert.equal(typeof middlewareOf({}), 'function');
  });

  it('removes every route on the path, on Express 4 (_router) and Express 5 (router); none to remove is fine', () => {
    const route = (p: string) => ({ route: { path: p } });
    const express4 = { _router: { stack: [route('/sms'), { name: 'query' }, route('/other'), route('/sms'), route('/sms')] } };
    removeRoutes(express4, '/sms');
    assert.deepEqual(express4._router.stack, [{ name: 'query' }, route('/other')]);
    const express5 = { router: { stack: [route('/sms'), route('/keep')] } };
    removeRoutes(express5, '/sms');
    assert.deepEqual(express5.router.stack, [route('/keep')]);
    assert.doesNotThrow(() => removeRoutes({}, '/sms'));
  });

  it('the query string is everything after the first "?", a "?" in a value included', () => {
    assert.equal(queryOf({ originalUrl: '/sms?token=a&Body=Open?' } as Request), 'token=a&Body=Open?');
    assert.equal(queryOf({ originalUrl: '/sms' } as Request), '');
    assert.equal(queryOf({ originalUrl: '/sms?' } as Request), '');
  });

  it('reads a callback as the inbound controller wants it: method, address, query, credentials, type and body', async () => {
    const stream = Object.assign(new PassThrough(), {
      method: 'POST', ip: undefined, socket: { remoteAddress: '10.0.0.7' }, originalUrl: '/sms?token=abc',
      headers: { authorization: 'Basic eDp5', 'content-type': 'application/x-www-form-urlencoded' },
    });
    const call = callOf(stream as unknown as Request);
    assert.deepEqual({ ...call, readBody: undefined }, {
      method: 'POST', ip: '10.0.0.7', query: 'token=abc', authorization: 'Basic eDp5', contentType: 'application/x-www-form-urlencoded', readBody: undefined,
    });
    const body = call.readBody();
    stream.end('SmsSid=SM1');
    assert.equal((await body).body.toString(), 'SmsSid=SM1');
    assert.equal(callOf({ ...stream, ip: '10.0.0.8', headers: {} } as unknown as Request).ip, '10.0.0.8');
  });

  it('answers 200 with an empty text body; a refusal as JSON {error}, asking for credentials on a 401; nothing once answered', () => {
    const ok = response();
    answer(ok.res, { status: 200 });
    assert.deepEqual(ok.wire, { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, ended: true });
    const refused = response();
    answer(refused.res, { status: 401, error: 'the webhook token is missing or wrong', challenge: true });
    assert.deepEqual(refused.wire, { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="exotel-inbound"' }, json: { error: 'the webhook token is missing or wrong' }, ended: false });
    const forbidden = response();
    answer(forbidden.res, { status: 403, error: 'no', challenge: false });
    assert.deepEqual(forbidden.wire, { status: 403, headers: {}, json: { error: 'no' }, ended: false });
    const late = response(true);
    answer(late.res, { status: 200 });
    assert.deepEqual(late.wire, { headers: {}, ended: false });
  });
});

describe('node shared: runtime texts', () => {
  const saved = { LC_ALL: process.env.LC_ALL, LANG: process.env.LANG };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('tries the region, then the language, then en-US', () => {
    assert.deepEqual(languagesFor('hi_IN.UTF-8'), ['hi-IN', 'hi', 'en-US']);
    assert.deepEqual(languagesFor('HI'), ['hi', 'en-US']);
    assert.deepEqual(languagesFor('zh-Hant-TW'), ['zh-Hant', 'zh', 'en-US']);
    assert.deepEqual(languagesFor('en_US'), ['en-US', 'en']);
    assert.deepEqual(languagesFor('de_de@euro'), ['de-DE', 'de', 'en-US']);
    assert.deepEqual(languagesFor('fr:en'), ['fr', 'en-US']);
    assert.deepEqual(languagesFor(' hi_IN '), ['hi-IN', 'hi', 'en-US'], 'spaces around it are not part of it');
  });

  it('C, POSIX, nothing or nonsense: en-US only', () => {
    for (const lang of ['C', 'POSIX', 'C.UTF-8', '', undefined, ' ', 'x', 'toolong', '12', 'en-', 'e n']) assert.deepEqual(languagesFor(lang), ['en-US'], String(lang));
  });

  it('the language is settings.js’s lang (trimmed), else LC_ALL, else LANG, else en-US', () => {
    process.env.LC_ALL = 'ta_IN.UTF-8';
    process.env.LANG = 'hi_IN.UTF-8';
    assert.equal(runtimeLanguage({ settings: { lang: ' mr ' } } as unknown as NodeAPI), 'mr');
    assert.equal(runtimeLanguage({ settings: { lang: '  ' } } as unknown as NodeAPI), 'ta_IN.UTF-8');
    assert.equal(runtimeLanguage({ settings: { lang: 5 } } as unknown as NodeAPI), 'ta_IN.UTF-8');
    assert.equal(runtimeLanguage(), 'ta_IN.UTF-8');
    delete process.env.LC_ALL;
    assert.equal(runtimeLanguage(), 'hi_IN.UTF-8');
    delete process.env.LANG;
    assert.equal(runtimeLanguage(), 'en-US');
  });

  it('reads the node type’s runtime texts, fills the placeholders it is given and keeps the others', () => {
    const m = messages(undefined, 'exotel-inbound', 'en-US');
    assert.equal(m('status.listening', { path: '/sms' }), 'listening on /sms');
    assert.equal(m('status.pathInUse'), '__path__ in use');
    assert.equal(m('status.pathInUse', { other: 'x' }), '__path__ in use');
    assert.equal(m('status.counts', { received: 1, duplicate: 0, rejected: 2 }), '1 received · 0 duplicate · 2 rejected');
  });

  it('a key it does not have, half a key, a type with no catalogue: the key itself', () => {
    const m = messages(undefined, 'exotel-inbound', 'en-US');
    assert.equal(m('status.nothing'), 'status.nothing');
    assert.equal(m('status'), 'status', 'an object is no text');
    assert.equal(m('status.listening.deeper'), 'status.listening.deeper');
    assert.equal(m('status.nothing.deeper'), 'status.nothing.deeper');
    assert.equal(messages(undefined, 'no-such-node', 'en-US')('status.listening'), 'status.listening');
  });

  it('a language without a catalogue falls back to en-US; the same translator is given for the same type and language', () => {
    const m = messages(undefined, 'opt-out-store', 'xx-YY');
    assert.equal(m('status.storeUnavailable'), messages(undefined, 'opt-out-store', 'en-US')('status.storeUnavailable'));
    assert.notEqual(m('status.storeUnavailable'), 'status.storeUnavailable');
    assert.equal(messages(undefined, 'opt-out-store', 'xx-YY'), m);
    assert.notEqual(messages(undefined, 'exotel-inbound', 'xx-YY'), m);
  });

  it('takes the runtime’s language when none is given', () => {
    process.env.LC_ALL = 'en_US.UTF-8';
    assert.equal(messages({ settings: {} } as unknown as NodeAPI, 'exotel-inbound')('status.noAccount'), 'no Exotel account');
  });
});

describe('node shared: when the flows have started', () => {
  function runtime() {
    const events = new EventEmitter();
    return { RED: { events } as unknown as NodeAPI, events };
  }
  const node = () => new EventEmitter() as unknown as Node;

  it('runs each waiting node’s start once, at the next start of the flows, with one listener per runtime', () => {
    const { RED, events } = runtime();
    const ran: string[] = [];
    whenFlowsStarted(RED, node(), () => ran.push('a'));
    whenFlowsStarted(RED, node(), () => ran.push('b'));
    assert.equal(events.listenerCount('flows:started'), 1);
    assert.deepEqual(ran, []);
    events.emit('flows:started');
    assert.deepEqual(ran, ['a', 'b']);
    events.emit('flows:started');
    assert.deepEqual(ran, ['a', 'b'], 'once');
  });

  it('a node closed before the flows started runs nothing', () => {
    const { RED, events } = runtime();
    const ran: string[] = [];
    const closing = node();
    whenFlowsStarted(RED, closing, () => ran.push('closed'));
    whenFlowsStarted(RED, node(), () => ran.push('open'));
    closing.emit('close');
    events.emit('flows:started');
    assert.deepEqual(ran, ['open']);
  });

  it('a start asked for while the flows start waits for the next one', () => {
    const { RED, events } = runtime();
    const ran: string[] = [];
    whenFlowsStarted(RED, node(), () => {
      ran.push('first');
      whenFlowsStarted(RED, node(), () => ran.push('later'));
    });
    events.emit('flows:started');
    assert.deepEqual(ran, ['first']);
    events.emit('flows:started');
    assert.deepEqual(ran, ['first', 'later']);
  });
});

describe('node shared: texts shown', () => {
  it('a value in a message: quoted text or number (40 characters at most), else "nothing"', () => {
    assert.equal(shown('hello'), '"hello"');
    assert.equal(shown(42), '"42"');
    assert.equal(shown('x'.repeat(50)), `"${'x'.repeat(40)}"`);
    assert.equal(shown(undefined), 'nothing');
    assert.equal(shown({ a: 1 }), 'nothing');
  });

  it('an error under a node: 40 characters at most, cut with an ellipsis', () => {
    assert.equal(statusText('x'.repeat(40)), 'x'.repeat(40));
    assert.equal(statusText('x'.repeat(41)), `${'x'.repeat(37)}…`);
  });

  it('the system timers are the real ones', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: 5_000 });
    try {
      const ran: string[] = [];
      systemTimers.setTimeout(() => ran.push('timeout'), 10);
      const cleared = systemTimers.setTimeout(() => ran.push('cleared'), 10);
      systemTimers.clearTimeout(cleared);
      const every = systemTimers.setInterval(() => ran.push('tick'), 10);
      clock.tick(25);
      systemTimers.clearInterval(every);
      clock.tick(50);
      assert.deepEqual(ran, ['timeout', 'tick', 'tick']);
      assert.equal(systemTimers.now(), 5_075);
    } finally {
      clock.restore();
    }
  });
});

describe('node shared: settings.js', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-settings-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps failed sends the days set (default 180; zero, negative or not a number: the default)', () => {
    assert.equal(retentionMs(red({ exotelSms: { retentionDays: 7 } }).RED), 7 * DAY);
    assert.equal(retentionMs(red({ exotelSms: { retentionDays: '0.5' } }).RED), DAY / 2);
    for (const days of [0, -1, 'soon', undefined]) assert.equal(retentionMs(red({ exotelSms: { retentionDays: days } }).RED), 180 * DAY, String(days));
    assert.equal(retentionMs(red().RED), 180 * DAY);
  });

  it('a send on the wire at a crash waits for its report the time set (a positive number), else the node’s default', () => {
    assert.equal(reconcileAfterMs(red({ exotelSms: { reconcileAfterMs: '2500' } }).RED, 60_000), 2_500);
    for (const ms of [0, -5, 'soon', undefined]) assert.equal(reconcileAfterMs(red({ exotelSms: { reconcileAfterMs: ms } }).RED, 60_000), 60_000, String(ms));
  });

  it('no exotelSms in settings.js: no settings', () => {
    assert.deepEqual(packageSettings(red().RED), {});
  });

  it('the store file: the one set (made absolute, or :memory:), else exotel-sms.db in the user directory, else in memory', () => {
    assert.equal(storePath(red({ exotelSms: { storePath: 'data/sms.db' } }).RED), path.resolve('data/sms.db'));
    assert.equal(storePath(red({ exotelSms: { storePath: ':memory:' } }).RED), ':memory:');
    assert.equal(storePath(red({ userDir: '/home/nr/.node-red' }).RED), path.join('/home/nr/.node-red', 'exotel-sms.db'));
    assert.equal(storePath(red().RED), ':memory:');
  });

  it('a shared store is a PostgreSQL one named in settings.js', () => {
    assert.equal(sharedStoreConfigured(red({ exotelSms: { store: { type: 'postgres', connectionString: 'postgres://x' } } }).RED), true);
    assert.equal(sharedStoreConfigured(red({ exotelSms: { store: { type: 'sqlite' } } }).RED), false);
    assert.equal(sharedStoreConfigured(red({ exotelSms: { store: 'postgres' } }).RED), false);
    assert.equal(sharedStoreConfigured(red({ exotelSms: { store: null } }).RED), false);
    assert.equal(sharedStoreConfigured(red().RED), false);
  });

  it('opens the store settings.js names, and says what is wrong with a bad setting', async () => {
    const handle = openStore(red({ exotelSms: { storePath: ':memory:' } }).RED);
    assert.equal(await handle.store.optedOutCount(), 0);
    await handle.release();
    assert.throws(() => openStore(red({ exotelSms: { store: { type: 'mongo' } } }).RED), /exotelSms\.store\.type in settings\.js must be "postgres" or "sqlite", not "mongo"/);
  });

  it('the one-time-code key: from codeSecret when set', () => {
    const { RED, warnings } = red({ userDir: dir, exotelSms: { codeSecret: 's3cret', store: { type: 'postgres' } } });
    assert.deepEqual(codeKey(RED), codeKeyFromSecret('s3cret'));
    assert.deepEqual(warnings, []);
    assert.equal(fs.existsSync(path.join(dir, CODE_KEY_FILE)), false);
  });

  it('a codeSecret that is no text is not used', () => {
    const { RED } = red({ userDir: dir, exotelSms: { storePath: ':memory:', codeSecret: 42 } });
    assert.equal(codeKey(RED).toString('hex'), fs.readFileSync(path.join(dir, CODE_KEY_FILE), 'utf8').trim());
  });

  it('else a key file beside the store file, made once and read again', () => {
    const { RED, warnings } = red({ exotelSms: { storePath: path.join(dir, 'db', 'sms.db'), codeSecret: '' } });
    const key = codeKey(RED);
    assert.equal(key.length, 32);
    assert.equal(fs.readFileSync(path.join(dir, 'db', CODE_KEY_FILE), 'utf8').trim(), key.toString('hex'));
    assert.deepEqual(codeKey(RED), key);
    assert.deepEqual(warnings, []);
  });

  it('a store in memory: a key file in the user directory; with no user directory either, this process’s key', () => {
    const inMemory = red({ userDir: dir, exotelSms: { storePath: ':memory:' } });
    const key = codeKey(inMemory.RED);
    assert.equal(fs.readFileSync(path.join(dir, CODE_KEY_FILE), 'utf8').trim(), key.toString('hex'));
    const nowhere = red({ exotelSms: { storePath: ':memory:' } });
    assert.equal(codeKey(nowhere.RED), processCodeKey);
    assert.deepEqual(nowhere.warnings, [], 'nothing went wrong: there is nowhere to keep a file');
  });

  it('a key file that cannot be made: a warning, and this process’s key', () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const { RED, warnings } = red({ exotelSms: { storePath: path.join(blocker, 'sms.db') } });
    assert.equal(codeKey(RED), processCodeKey);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^exotel-sms: the one-time-code key file could not be made or read \(.+\); codes made now will not verify after a restart$/);
  });

  it('several instances on PostgreSQL without a codeSecret: warned once per runtime', () => {
    const { RED, warnings } = red({ userDir: dir, exotelSms: { store: { type: 'postgres', connectionString: 'postgres://x' } } });
    codeKey(RED);
    codeKey(RED);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^exotel-sms: several instances share a PostgreSQL store but exotelSms\.codeSecret is not set/);
    const other = red({ userDir: dir, exotelSms: { store: { type: 'postgres', connectionString: 'postgres://x' } } });
    codeKey(other.RED);
    assert.equal(other.warnings.length, 1);
  });
});

describe('node shared: the status under a node', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 100_000 });
  });
  afterEach(() => clock.restore());

  function node() {
    const shownStatuses: Array<{ fill: string; shape: string; text: string }> = [];
    const errors: string[] = [];
    return { shownStatuses, errors, status: (s: { fill: string; shape: string; text: string }) => shownStatuses.push(s), error: (text: string) => errors.push(text) };
  }

  it('shows the first status at once, then at most one every interval, always the latest', () => {
    const n = node();
    const status = new ThrottledStatus(n, 500);
    status.set('green', 'dot', '1');
    status.set('green', 'dot', '2');
    status.set('green', 'dot', '3');
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1']);
    clock.tick(499);
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1']);
    clock.tick(1);
    assert.deepEqual(n.shownStatuses, [{ fill: 'green', shape: 'dot', text: '1' }, { fill: 'green', shape: 'dot', text: '3' }]);
    clock.tick(500);
    status.set('yellow', 'ring', '4');
    assert.deepEqual(n.shownStatuses.at(-1), { fill: 'yellow', shape: 'ring', text: '4' }, 'an interval after the last: at once');
  });

  it('stopped with a status waiting: it is not shown', () => {
    const n = node();
    const status = new ThrottledStatus(n, 500);
    status.set('green', 'dot', '1');
    status.set('green', 'dot', '2');
    status.stop();
    clock.tick(1_000);
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1']);
  });

  it('the default interval is half a second', () => {
    const n = node();
    const status = new ThrottledStatus(n);
    status.set('green', 'dot', '1');
    status.set('green', 'dot', '2');
    clock.tick(499);
    assert.equal(n.shownStatuses.length, 1);
    clock.tick(1);
    assert.equal(n.shownStatuses.length, 2);
  });

  it('an urgent status at once, replacing what waited; stopped: nothing more', () => {
    const n = node();
    const status = new ThrottledStatus(n, 500);
    status.set('green', 'dot', '1');
    status.set('green', 'dot', '2');
    status.now('red', 'ring', 'down');
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1', 'down']);
    clock.tick(1_000);
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1', 'down'], 'what waited is not shown after it');
    status.now('red', 'ring', 'down');
    status.set('green', 'dot', '3');
    status.stop();
    clock.tick(1_000);
    assert.deepEqual(n.shownStatuses.map((s) => s.text), ['1', 'down', 'down']);
  });

  it('refuses a configuration: red ring and an error; an unknown action names it (cut to 40 characters)', () => {
    const n = node();
    const status = new ThrottledStatus(n, 500);
    refuse(n, status, 'bad path', 'the path is bad');
    assert.deepEqual([n.shownStatuses, n.errors], [[{ fill: 'red', shape: 'ring', text: 'bad path' }], ['the path is bad']]);
    const m = (key: string, vars?: Record<string, string | number>) => (vars ? `${key} ${JSON.stringify(vars)}` : key);
    assert.equal(refusedAction(n, status, m, ['start', 'end'], 'start'), false);
    assert.equal(n.errors.length, 1);
    assert.equal(refusedAction(n, status, m, ['start', 'end'], 'x'.repeat(50)), true);
    assert.deepEqual(n.shownStatuses.at(-1), { fill: 'red', shape: 'ring', text: 'status.badAction' });
    assert.equal(n.errors.at(-1), `error.badAction ${JSON.stringify({ action: 'x'.repeat(40) })}`);
  });
});

describe('node shared: waiting for the database', () => {
  const down = () => new StoreUnavailableError(new Error('ECONNREFUSED'));

  function wait(timers = new ManualTimers(), retryMs?: number) {
    const events: string[] = [];
    const w = new StoreWait({ onDown: (err) => events.push(`down: ${err.message}`), onBack: () => events.push('back'), timers, retryMs });
    return { w, events, timers };
  }

  it('says "down" once, on the first failure that is an outage, and "back" once on the next success', () => {
    const { w, events } = wait();
    w.note();
    w.note(new Error('SQLITE_CONSTRAINT'));
    assert.deepEqual([events, w.unavailable], [[], false], 'other failures are no outage');
    w.note(down());
    w.note(down());
    assert.deepEqual([events.length, w.unavailable], [1, true]);
    w.note(new Error('SQLITE_CONSTRAINT'));
    assert.equal(w.unavailable, true, 'another failure does not mean it is back');
    w.note();
    w.note();
    assert.deepEqual(events, ['down: the database cannot be reached (ECONNREFUSED)', 'back']);
  });

  it('retries a call every second while the database is away, and gives its answer', async () => {
    const { w, events, timers } = wait();
    let calls = 0;
    const result = w.retry(async () => {
      calls++;
      if (calls < 3) throw down();
      return 'done';
    });
    await timers.tick(999);
    assert.equal(calls, 1);
    await timers.tick(1);
    assert.equal(calls, 2);
    await timers.tick(1_000);
    assert.equal(await result, 'done');
    assert.deepEqual(events.map((e) => e.split(':')[0]), ['down', 'back']);
  });

  it('retries at the period given; another failure is thrown at once', async () => {
    const { w, timers } = wait(new ManualTimers(), 200);
    let calls = 0;
    const result = w.retry(async () => {
      calls++;
      if (calls === 1) throw down();
      return calls;
    });
    await timers.tick(200);
    assert.equal(await result, 2);
    await assert.rejects(w.retry(async () => Promise.reject(new Error('SQLITE_CONSTRAINT'))), /SQLITE_CONSTRAINT/);
  });

  it('stops waiting when aborted: the pause ends at once, and the outage is thrown', async () => {
    const { w, timers } = wait();
    const abort = new AbortController();
    let calls = 0;
    const result = w.retry(async () => {
      calls++;
      throw down();
    }, abort.signal);
    await timers.tick(1_000);
    assert.equal(calls, 2);
    abort.abort();
    await assert.rejects(result, /the database cannot be reached/);
    assert.equal(calls, 3, 'one last try when the pause is cut short');
    assert.equal(timers.timeouts, 0, 'no pause left behind');
  });

  it('a finished pause leaves no abort listener behind', async () => {
    const { w, timers } = wait();
    const abort = new AbortController();
    let calls = 0;
    const listeners = () => (abort.signal as unknown as { [key: symbol]: unknown }) && EventEmitter.getEventListeners(abort.signal, 'abort').length;
    const result = w.retry(async () => {
      calls++;
      if (calls === 1) throw down();
      return 'ok';
    }, abort.signal);
    await Promise.resolve();
    await timers.tick(1_000);
    assert.equal(await result, 'ok');
    assert.equal(listeners(), 0);
  });
});

describe('node shared: delivery reports to their send node', () => {
  const report = (sid: string) => ({ sid }) as unknown as ReportRecord;

  it('hands a report to the node that listens under its id; none listening: false', () => {
    const heard: unknown[] = [];
    const stop = listenForReports('send-a', (record) => heard.push(record));
    assert.equal(handOnReport('send-a', report('SM1')), true);
    assert.equal(handOnReport('send-b', report('SM2')), false);
    assert.deepEqual(heard, [report('SM1')]);
    stop();
    assert.equal(handOnReport('send-a', report('SM3')), false);
    assert.equal(heard.length, 1);
  });

  it('a stopped old node does not silence the redeployed one that took its id', () => {
    const heard: string[] = [];
    const stopOld = listenForReports('send-c', () => heard.push('old'));
    const stopNew = listenForReports('send-c', () => heard.push('new'));
    stopOld();
    assert.equal(handOnReport('send-c', report('SM1')), true);
    assert.deepEqual(heard, ['new']);
    stopNew();
  });
});

describe('node shared: TypedInputs and the input handler', () => {
  it('evaluates a property through Node-RED, and rejects with its error', async () => {
    const seen: unknown[] = [];
    const RED = {
      util: {
        evaluateNodeProperty(value: string, type: string, node: unknown, msg: unknown, callback: (err: Error | null, result: unknown) => void) {
          seen.push([value, type, node, msg]);
          if (type === 'bad') callback(new Error('no such property'), undefined);
          else callback(null, `${type}:${value}`);
        },
      },
    } as unknown as NodeAPI;
    const node = { id: 'n1' } as unknown as Node;
    const msg = { payload: 'hi' };
    assert.equal(await evaluateProperty(RED, node, 'phone', 'msg', msg as never), 'msg:phone');
    await assert.rejects(evaluateProperty(RED, node, 'x', 'bad', msg as never), /no such property/);
    assert.equal(await evaluatorFor(RED, node)('greeting', 'str', msg), 'str:greeting');
    assert.deepEqual(seen[0], ['phone', 'msg', node, msg]);
  });

  it('registers the (msg, send, done) handler for input', () => {
    const node = new EventEmitter();
    const got: unknown[] = [];
    onInput(node as unknown as Node, (msg, send, done) => got.push(msg, typeof send, typeof done));
    node.emit('input', { payload: 1 }, () => undefined, () => undefined);
    assert.deepEqual(got, [{ payload: 1 }, 'function', 'function']);
  });
});
