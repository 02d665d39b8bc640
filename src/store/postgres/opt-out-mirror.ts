// The opted-out numbers in memory, so that the check before every send needs no round trip to the
// database (a round trip's p99 on a busy machine is milliseconds: two processes must be scheduled).
// It stays true through the database: every change of a status, whoever makes it (an instance, or SQL
// typed by hand), is numbered by the database's trigger (a sequence, taken under one lock until commit,
// so in commit order) and notified (LISTEN/NOTIFY); an instance's own change is acknowledged to the
// flow only once every live instance whose copy is in use has dropped the old answer and said so
// (`instance.opt_out_seen`). So a send that starts after a STOP was acknowledged, on any instance,
// never reads the old answer. An instance trusts its copy only while its listener answers and its
// lease is renewed, and stops trusting it before its lease runs out: a writer that stops waiting for
// it (its lease ran out) never races a copy still in use.
import type { Client, Notification } from 'pg';
import type { PostgresCluster } from './cluster';
import { LOCK_OPT_OUT_CHANGE, type PostgresDatabase } from './connection';

/** How many numbers a query of the loading reads. */
const LOAD_CHUNK = 100_000;
/** How often a writer looks whether every copy has seen its change. */
const SEEN_POLL_MS = 3;
const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** An E.164 number as a number (at most 15 digits: exact in a double); null for anything else. */
function numeric(phone: string): number | null {
  return /^\+[1-9]\d{0,14}$/.test(phone) ? Number(phone.slice(1)) : null;
}

function sortedContains(sorted: Float64Array, value: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = sorted[mid];
    if (at === value) return true;
    if (at < value) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

export class OptOutMirror {
  /** the opted-out numbers as loaded, sorted; numbers that are not E.164 in `others` */
  private numbers: Float64Array | null = null;
  private others = new Set<string>();
  /** numbers changed since the load: their answer (true: opted out), or null: ask the database */
  private readonly changed = new Map<string, boolean | null>();
  /** counts notifications: an answer read from the database while one arrived is not kept */
  generation = 0;
  /** the opted-out count read at `generation` */
  private counted: { count: number; generation: number } | undefined;
  private listener: Client | undefined;
  private starting: Promise<void> | undefined;
  private listenerOkAt = -Infinity;
  private heartbeat: NodeJS.Timeout | undefined;
  private seenToAck = 0;
  private acking: Promise<void> | undefined;
  private closed = false;
  /** after a failure, not started again before then */
  private retryAt = 0;
  /** the failed listener's mark in the database being taken back: a new one waits for it */
  private unmarking: Promise<unknown> = Promise.resolve();
  /** a load of all the numbers is wanted (the first, or after an import) / under way */
  private loadWanted = false;
  private loading: Promise<void> | undefined;
  readonly channel: string;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly cluster: PostgresCluster,
  ) {
    this.channel = `exotel_sms_opt_out_${db.schema}`;
  }

  /** The answer from memory, or undefined: ask the database (not loaded yet, or not to be trusted now). */
  lookup(phone: string): boolean | undefined {
    if (!this.trusted()) {
      if (performance.now() >= this.retryAt) void this.start();
      return undefined;
    }
    const changed = this.changed.get(phone);
    if (changed !== undefined) return changed ?? undefined;
    const value = numeric(phone);
    return value === null ? this.others.has(phone) : sortedContains(this.numbers!, value);
  }

  /** The count of opted-out numbers as last read, while no change was notified since; else undefined: ask the database. */
  count(): number | undefined {
    return this.trusted() && this.counted?.generation === this.generation ? this.counted.count : undefined;
  }

  /** A count the database gave: kept, unless a change was notified since the question was asked. */
  learnCount(count: number, generation: number): void {
    if (generation === this.generation) this.counted = { count, generation };
  }

  /** An answer the database gave: kept, unless a change was notified since the question was asked. */
  learn(phone: string, optedOut: boolean, generation: number): void {
    if (generation === this.generation && this.numbers && this.changed.get(phone) === null) this.changed.set(phone, optedOut);
  }

  private trusted(): boolean {
    if (!this.numbers || !this.listener) return false;
    // stops trusting well before the lease (renewed every third of it) could run out in the database
    const since = Math.min(this.listenerOkAt, this.cluster.renewedAt);
    return performance.now() - since < (this.cluster.leaseMs * 2) / 3;
  }

  /** Listens, says so in the database, then loads the numbers: changes from then on are notified to it. */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.starting ??= this.connect().catch(() => {
      this.drop();
    });
    return this.starting;
  }

  private async connect(): Promise<void> {
    await this.unmarking;
    await this.cluster.registered();
    const listener = this.db.client();
    this.listener = listener;
    const lost = () => {
      if (this.listener === listener) this.drop();
    };
    listener.on('error', lost);
    listener.on('end', lost);
    listener.on('notification', (note: Notification) => {
      if (this.listener === listener) this.notified(note);
    });
    await listener.connect();
    if (this.closed) return this.drop();
    await listener.query(`LISTEN "${this.channel}"`);
    // Under the writers' lock: every change numbered up to here is committed (the load sees it), every
    // later one is notified to this listener and waits for this instance to have seen it.
    await listener.query('BEGIN');
    await listener.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_OPT_OUT_CHANGE]);
    await listener.query(
      `UPDATE instance SET mirror = true, opt_out_seen = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM opt_out_change) WHERE id = $1`,
      [this.cluster.instanceId],
    );
    await listener.query('COMMIT');
    this.loadWanted = true;
    await this.loadAll(listener);
    this.listenerOkAt = performance.now();
    this.heartbeat = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.cluster.leaseMs / 4)));
    this.heartbeat.unref();
  }

  /** Loads every opted-out number, again as long as an import notified during a load wants it. */
  private loadAll(listener: Client): Promise<void> {
    this.loading ??= (async () => {
      try {
        while (this.loadWanted && this.listener === listener) {
          this.loadWanted = false;
          // every change notified before this point is committed: the load sees it
          this.changed.clear();
          this.generation++;
          const values: number[] = [];
          const others = new Set<string>();
          let after = '';
          for (;;) {
            const { rows } = await listener.query<[string]>({
              text: "SELECT phone FROM opt_out WHERE status = 'opted-out' AND phone > $1 ORDER BY phone LIMIT $2",
              values: [after, LOAD_CHUNK],
              rowMode: 'array',
            });
            for (const [phone] of rows) {
              const value = numeric(phone);
              if (value === null) others.add(phone);
              else values.push(value);
            }
            if (rows.length < LOAD_CHUNK) break;
            after = rows[rows.length - 1][0];
          }
          if (this.loadWanted || this.listener !== listener) continue;
          this.numbers = Float64Array.from(values).sort();
          this.others = others;
        }
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private notified(note: Notification): void {
    if (note.channel !== this.channel || !note.payload) return;
    const [id, ...phones] = note.payload.split(' ');
    this.generation++;
    if (phones[0] === '*') {
      // many numbers at once (an import): all loaded again; meanwhile the database answers
      this.numbers = null;
      this.loadWanted = true;
      if (this.listener) this.loadAll(this.listener).catch(() => this.drop());
    } else for (const phone of phones) this.changed.set(phone, null);
    this.seenToAck = Math.max(this.seenToAck, Number(id));
    this.acking ??= this.ack();
  }

  /** Tells writers this instance dropped the old answers (after it did). */
  private async ack(): Promise<void> {
    try {
      while (this.listener && this.seenToAck > 0) {
        const seen = this.seenToAck;
        await this.listener.query('UPDATE instance SET opt_out_seen = GREATEST(opt_out_seen, $2) WHERE id = $1', [this.cluster.instanceId, seen]);
        this.listenerOkAt = performance.now();
        if (this.seenToAck === seen) break;
      }
    } catch {
      this.drop();
    } finally {
      this.acking = undefined;
    }
  }

  private async beat(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    const sentAt = performance.now();
    try {
      await listener.query('SELECT 1');
      if (this.listener === listener) this.listenerOkAt = Math.max(this.listenerOkAt, sentAt);
    } catch {
      this.drop();
    }
  }

  /** The listener failed: nothing is answered from memory until it listens and loads again. */
  private drop(): void {
    const listener = this.listener;
    if (!this.closed) this.retryAt = performance.now() + 1_000;
    // writers no longer wait for this instance (it answers nothing from memory until it loads again)
    if (listener) this.unmarking = this.db.query('UPDATE instance SET mirror = false WHERE id = $1', [this.cluster.instanceId]).catch(() => undefined);
    this.listener = undefined;
    this.numbers = null;
    this.changed.clear();
    this.generation++;
    this.starting = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    listener?.removeAllListeners('notification');
    void listener?.end().catch(() => undefined);
  }

  /** Resolves once every live instance that answers from memory has seen change `id` (at most a lease and a half). */
  async seen(id: number): Promise<void> {
    const until = performance.now() + this.cluster.leaseMs * 1.5;
    while (performance.now() < until) {
      const { rows } = await this.db.query<{ behind: boolean }>({
        name: 'exotel-opt-out-seen',
        text: `SELECT EXISTS (SELECT 1 FROM instance WHERE mirror AND opt_out_seen < $1 AND lease_until > ${NOW}) AS behind`,
        values: [id],
      });
      if (!rows[0].behind) return;
      await new Promise((resolve) => setTimeout(resolve, SEEN_POLL_MS));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    if (listener) await listener.query('UPDATE instance SET mirror = false WHERE id = $1', [this.cluster.instanceId]).catch(() => undefined);
    this.drop();
  }
}
