// Conversation timeouts: deadlines live in the store, so after a restart they fire too, late rather
// than never. Of the route nodes of one conversation name, one polls (the first deployed); the
// store hands each due conversation out once.
import { randomUUID } from 'node:crypto';
import type { ConversationRecord, Store } from '../../store';
import { systemTimers, type Timers } from '../shared/ports';

/** Which of the route nodes of a conversation name fires its timeouts: the first to join. */
export class PollerElection {
  private readonly members = new Map<string, string[]>();

  /** Adds a node; returns what removes it again (the next one takes over). */
  join(name: string, nodeId: string): () => void {
    this.members.set(name, [...(this.members.get(name) ?? []), nodeId]);
    return () => {
      const left = (this.members.get(name) ?? []).filter((id) => id !== nodeId);
      // Stryker disable next-line ConditionalExpression: equivalent; an empty list of members elects no one, as a missing one
      if (left.length) this.members.set(name, left);
      else this.members.delete(name);
    };
  }

  isLeader(name: string, nodeId: string): boolean {
    return this.members.get(name)?.[0] === nodeId;
  }
}

/** The route nodes of this process (one Node-RED runtime). */
export const routeNodes = new PollerElection();

export const DUE_BATCH = 100;
export const PURGE_EVERY_MS = 60_000;

export interface PollerDeps {
  name: string;
  nodeId: string;
  store: Pick<Store, 'takeDueConversations' | 'purgeExpiredConversations'>;
  election: PollerElection;
  /** a conversation whose step timed out, handed out once */
  onDue(record: ConversationRecord): void;
  onError(err: Error): void;
  timers?: Timers;
}

export class TimeoutPoller {
  private readonly timers: Timers;
  private timer: NodeJS.Timeout | undefined;
  private readonly leave: () => void;
  private polling = false;
  private stopped = false;
  private lastPurge = 0;
  /**
   * The key of the next poll: kept while a poll gets no answer (it may have taken its conversations,
   * its answer lost), so that the poll made again gets them too; a new key once one is answered.
   */
  private attempt = randomUUID();

  constructor(private readonly deps: PollerDeps) {
    this.timers = deps.timers ?? systemTimers;
    this.leave = deps.election.join(deps.name, deps.nodeId);
  }

  start(intervalMs: number): void {
    this.timer = this.timers.setInterval(() => void this.poll(), intervalMs);
  }

  /** Fires the due timeouts (and now and then purges expired conversations), if this node polls. */
  async poll(): Promise<void> {
    const { name, nodeId, store, election } = this.deps;
    if (this.polling || this.stopped || !election.isLeader(name, nodeId)) return;
    this.polling = true;
    try {
      const now = this.timers.now();
      for (;;) {
        const due = await store.takeDueConversations(name, now, DUE_BATCH, this.attempt);
        this.attempt = randomUUID();
        for (const record of due) this.deps.onDue(record);
        if (due.length < DUE_BATCH) break;
      }
      if (now - this.lastPurge > PURGE_EVERY_MS) {
        this.lastPurge = now;
        await store.purgeExpiredConversations(now);
      }
    } catch (err) {
      this.deps.onError(err as Error);
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearInterval(this.timer);
    this.leave();
  }
}
