// A customer's SMS in arrival order across instances. Each SMS an instance recorded waits here until
// it is its turn: no other SMS of that number on that webhook is in the flow (for at most the hold),
// and none recorded before it is still waiting, on this instance or another, or was left unfinished
// by an instance that died (another takes that over first). The decision is the database's
// (`inbound_turns`, under a lock a number), so two instances never hand one customer's SMS on at once.
// What arrives in one turn of the event loop is asked together, with the finished ones, in one call.
import type { InboundRecord } from '../store';
import { isUnavailable, type PostgresDatabase } from './connection';

/** How often an SMS waiting for an earlier one on another instance asks again (one on this instance wakes it at once). */
export const TURN_POLL_MS = 20;
/** After the database failed to answer: ask again this much later. */
const RETRY_MS = 500;

interface Waiter {
  sid: string;
  key: string;
  holdMs: number;
  since: number;
  /** when to ask again; 0: in the next call */
  dueAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const keyOf = (record: Pick<InboundRecord, 'endpoint' | 'from'>) => `${record.endpoint}\n${record.from}`;

export class PostgresTurns {
  private readonly waiting = new Map<string, Waiter>();
  private finished: string[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** the database did not answer: nothing is asked before then */
  private pausedUntil = 0;

  /** `maxWaitMs`: an SMS still waiting after this goes all the same (an earlier one that nobody hands on). */
  constructor(
    private readonly db: PostgresDatabase,
    private readonly maxWaitMs: number,
  ) {}

  /**
   * Resolves when the SMS (recorded by this instance, or taken over) may be handed to the flow. An SMS
   * of the same number handed on less than `holdMs` ago and not finished holds it back.
   */
  take(record: Pick<InboundRecord, 'sid' | 'endpoint' | 'from'>, holdMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.get(record.sid)?.resolve(); // handed on again while still waiting: one waits
      this.waiting.set(record.sid, { sid: record.sid, key: keyOf(record), holdMs, since: Date.now(), dueAt: 0, resolve, reject });
      this.schedule();
    });
  }

  /** The flow is done with an SMS: the next one of that number may go (at once when it waits here). */
  finish(record: Pick<InboundRecord, 'sid' | 'endpoint' | 'from'>): void {
    if (this.closed) return;
    this.finished.push(record.sid);
    const key = keyOf(record);
    for (const waiter of this.waiting.values()) if (waiter.key === key) waiter.dueAt = 0;
    this.schedule();
  }

  /** Stops waiting for an SMS (its node closed): it stays unhandled in the store, handed on again later. */
  drop(sid: string): void {
    this.waiting.delete(sid);
  }

  /** Stops; SMS still waiting resolve (their node is closing and hands nothing on). */
  close(): Promise<void> {
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.timer) clearTimeout(this.timer);
    for (const waiter of this.waiting.values()) waiter.resolve();
    this.waiting.clear();
    return this.running ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      if (this.running) this.again = true;
      else this.running = this.run();
    });
  }

  private wakeAt(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.schedule();
    }, Math.max(0, at - Date.now()));
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.ask();
      } while (this.again && !this.closed);
    } finally {
      this.running = undefined;
    }
  }

  private async ask(): Promise<void> {
    const now = Date.now();
    if (now < this.pausedUntil) return this.wakeAt(this.pausedUntil);
    const due = [...this.waiting.values()].filter((w) => w.dueAt <= now);
    const finished = this.finished;
    this.finished = [];
    if (due.length === 0 && finished.length === 0) return this.rearm();
    // Not granted: asked again a poll later, or at once when an SMS of its number finishes meanwhile.
    for (const waiter of due) waiter.dueAt = now + TURN_POLL_MS;
    const forced = due.filter((w) => now - w.since >= this.maxWaitMs).map((w) => w.sid);
    const asked = due.filter((w) => now - w.since < this.maxWaitMs);
    // one call a hold (all the same in practice: one setting)
    const holds = [...new Set(asked.map((w) => w.holdMs))];
    if (holds.length === 0) holds.push(0);
    try {
      const granted = new Set<string>();
      for (const [i, holdMs] of holds.entries()) {
        const take = asked.filter((w) => w.holdMs === holdMs).map((w) => w.sid);
        const { rows } = await this.db.query<{ sid: string }>({
          name: 'exotel-inbound-turns',
          text: 'SELECT inbound_turns AS sid FROM inbound_turns($1::text[], $2::text[], $3::text[], $4)',
          values: [take, i === 0 ? forced : [], i === 0 ? finished : [], holdMs],
        });
        for (const row of rows) granted.add(row.sid);
      }
      for (const waiter of due) {
        if (!granted.has(waiter.sid) || this.waiting.get(waiter.sid) !== waiter) continue;
        this.waiting.delete(waiter.sid);
        waiter.resolve();
      }
    } catch (err) {
      if (isUnavailable(err)) {
        // The SMS is in the store: it waits for the database; the finished marks are written with the next call.
        this.finished.unshift(...finished);
        this.pausedUntil = Date.now() + RETRY_MS;
        return this.wakeAt(this.pausedUntil);
      } else {
        for (const waiter of due) {
          if (this.waiting.get(waiter.sid) !== waiter) continue;
          this.waiting.delete(waiter.sid);
          waiter.reject(err);
        }
      }
    }
    this.rearm();
  }

  private rearm(): void {
    if (this.closed) return;
    let next = Infinity;
    for (const waiter of this.waiting.values()) next = Math.min(next, waiter.dueAt);
    if (next === 0 || this.finished.length > 0) this.again = true;
    else if (next < Infinity) this.wakeAt(next);
  }
}
