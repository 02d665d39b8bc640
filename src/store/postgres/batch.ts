// Calls of one kind gathered into one statement: what is asked in one turn of the event loop, and,
// while a statement of that kind is on its way, whatever is asked meanwhile, goes together as one
// round trip (as the inbound log's group commit does). Each caller's promise settles with its
// statement: resolved once it committed (with its item's answer, when `write` gives one an item),
// rejected with its error (all of that statement's callers).

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class Batch<T, R = void> {
  private queued: Array<Pending<T, R>> = [];
  private scheduled = false;
  private inFlight = 0;

  /** `write` runs one statement for the items given; at most `maxInFlight` statements at once. */
  constructor(
    private readonly write: (items: T[]) => Promise<R[] | void>,
    private readonly maxInFlight = 2,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queued.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.inFlight++;
    try {
      const results = await this.write(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve((results ? results[i] : undefined) as R));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
