// conversation-state's timeout poller and hold queue at their edges: which node polls, how often
// expired conversations are purged, a poll that fails, a node stopped (or redeployed), and what a
// closed hold queue tells its watchers.
import assert from 'node:assert/strict';
import { StoreUnavailableError, type ConversationRecord } from '../../src/store';
import { HoldQueue } from '../../src/nodes/conversation-state/hold-queue';
import { PollerElection, PURGE_EVERY_MS, TimeoutPoller } from '../../src/nodes/conversation-state/timeout-poller';
import { ManualTimers } from './fakes';

const record = (key: string): ConversationRecord => ({
  name: 'survey', key, step: 'q1', data: {}, startedAt: 0, updatedAt: 0, expiresAt: 1, deadlineAt: 1, revision: 1, code: null,
});

describe('conversation-state timeout poller: election, purge, failures, stopping', () => {
  type Due = (name: string, now: number, limit: number, attempt?: string) => Promise<ConversationRecord[]>;
  function poller(options: { nodeId?: string; election?: PollerElection; timers?: ManualTimers; due?: Due } = {}) {
    const fired: string[] = [];
    const errors: string[] = [];
    const purgedAt: number[] = [];
    const timers = options.timers ?? new ManualTimers();
    const p = new TimeoutPoller({
      name: 'survey', nodeId: options.nodeId ?? 'route-1', election: options.election ?? new PollerElection(), timers,
      onDue: (r) => fired.push(r.key), onError: (err) => errors.push(err.message),
      store: {
        takeDueConversations: options.due ?? (async () => []),
        purgeExpiredConversations: async (now) => (purgedAt.push(now), 0),
      },
    });
    return { p, fired, errors, purgedAt, timers };
  }

  it('no node of a name has joined: none is its leader', () => {
    const election = new PollerElection();
    assert.equal(election.isLeader('survey', 'route-1'), false);
    election.join('other', 'route-1');
    assert.equal(election.isLeader('survey', 'route-1'), false);
  });

  it('a node that leaves twice does not keep the next one from polling', () => {
    const election = new PollerElection();
    const leave = election.join('survey', 'route-1');
    leave();
    leave();
    election.join('survey', 'route-2');
    assert.equal(election.isLeader('survey', 'route-2'), true);
  });

  it('purges expired conversations at the first poll, then once more than a minute has passed', async () => {
    const { p, purgedAt, timers } = poller();
    p.start(1_000);
    const t0 = timers.now();
    await timers.tick(1_000);
    assert.deepEqual(purgedAt, [t0 + 1_000]);
    await timers.tick(PURGE_EVERY_MS);
    assert.equal(purgedAt.length, 1, 'not within a minute, nor at exactly a minute');
    await timers.tick(1_000);
    assert.deepEqual(purgedAt, [t0 + 1_000, t0 + 1_000 + PURGE_EVERY_MS + 1_000]);
    p.stop();
  });

  it('a poll that fails is reported, and the next poll runs', async () => {
    let fail = true;
    const { p, errors, fired } = poller({ due: async () => { if (fail) throw new Error('SQLITE_BUSY: database is locked'); fail = true; return [record('+919876543210')]; } });
    await p.poll();
    assert.deepEqual(errors, ['SQLITE_BUSY: database is locked']);
    fail = false;
    await p.poll();
    assert.deepEqual(fired, ['+919876543210']);
    p.stop();
  });

  it('a poll whose answer was lost after it took its conversations: the next poll fires their timeouts, once', async () => {
    // the database as it behaves: a poll asked again with the key of one whose answer was lost gets
    // what that one took; the first answer is lost after the deadlines were cleared
    const dueNow = ['+919876543210', '+919876543211'];
    const taken = new Map<string, string[]>();
    let losing = 1;
    const { p, errors, fired } = poller({
      due: async (_name, _now, _limit, attempt) => {
        const mine = [...(attempt !== undefined ? taken.get(attempt) ?? [] : []), ...dueNow.splice(0)];
        if (attempt !== undefined) taken.set(attempt, mine);
        if (losing-- > 0) throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
        return mine.map(record);
      },
    });
    await p.poll();
    assert.equal(errors.length, 1);
    assert.deepEqual(fired, [], 'nothing fired yet');
    await p.poll();
    assert.deepEqual(fired, ['+919876543210', '+919876543211'], 'the timeouts the lost poll took fire');
    await p.poll();
    assert.deepEqual(fired, ['+919876543210', '+919876543211'], 'and once only: an answered poll’s key is not used again');
    p.stop();
  });

  it('stopped: its timer is cleared and a last tick fires nothing, even with a redeployed node of the same id polling', async () => {
    const election = new PollerElection();
    const due = async () => [record('+919876543210')];
    const old = poller({ election, due });
    old.p.start(1_000);
    old.p.stop();
    assert.deepEqual(old.timers.intervals, []);
    const redeployed = poller({ election, due });
    await old.p.poll();
    assert.deepEqual(old.fired, []);
    await redeployed.p.poll();
    assert.deepEqual(redeployed.fired, ['+919876543210']);
    redeployed.p.stop();
  });
});

describe('conversation-state hold queue: closing', () => {
  it('tells the watcher of every reply still held that its hold ended, and runs nothing after', async () => {
    const timers = new ManualTimers();
    const ran: string[] = [];
    const ended: string[] = [];
    const queue = new HoldQueue<string>(1_000, (key, item) => ran.push(`${key}:${item}`), timers, (item) => ended.push(item));
    queue.offer('asha', 'a1');
    queue.offer('asha', 'a2');
    queue.offer('ravi', 'r1');
    assert.deepEqual(queue.close(), ['a2']);
    assert.deepEqual(ended.sort(), ['a1', 'r1']);
    assert.equal(timers.timeouts, 0, 'no hold timer left');
    await timers.tick(5_000);
    assert.deepEqual(ran, ['asha:a1', 'ravi:r1']);
  });

  it('a hold that ends by its time tells the watcher too, once', async () => {
    const timers = new ManualTimers();
    const ended: string[] = [];
    const queue = new HoldQueue<string>(1_000, () => undefined, timers, (item) => ended.push(item));
    queue.offer('asha', 'a1');
    await timers.tick(1_000);
    queue.release('asha', 'a1');
    assert.deepEqual(ended, ['a1']);
    assert.equal(queue.isHeld('asha'), false);
  });
});
