/**
 * Group commit: callers that arrive while a batch is being written share the next one.
 *
 * There is no timer. When nothing is in flight, a call starts a batch of one at once (no
 * latency is added at low load); while a batch is being written, arrivals queue and leave
 * together, up to `maxBatch` at a time, as soon as it settles. A batch is one statement,
 * hence one transaction and one commit: under load the per-transaction costs (the round
 * trip, the commit's WAL flush, the NOTIFY lock taken at commit) are paid once per batch
 * instead of once per row.
 *
 * A batch that fails is not the answer of every row in it:
 * - when the database refused the statement (a constraint, a bad value), nothing was
 *   written, so each row is written again on its own and answered on its own: a bad row
 *   fails alone;
 * - otherwise (the connection died, so the commit may or may not have happened; the
 *   database is unavailable) every caller of that batch gets the error, never a success for
 *   a row that may not exist: the same answer an unbatched insert gives.
 */
export class GroupCommit<In, Out> {
  readonly #writeBatch: (items: readonly In[]) => Promise<Out[]>;
  readonly #writeOne: (item: In) => Promise<Out>;
  readonly #isRefusal: (err: unknown) => boolean;
  readonly #maxBatch: number;
  readonly #onBatch: ((size: number) => void) | undefined;
  #queue: Pending<In, Out>[] = [];
  #inFlight = false;

  constructor(options: GroupCommitOptions<In, Out>) {
    this.#writeBatch = options.writeBatch;
    this.#writeOne = options.writeOne;
    this.#isRefusal = options.isRefusal;
    this.#maxBatch = options.maxBatch;
    this.#onBatch = options.onBatch;
  }

  /** Writes `item` with whatever else is waiting; resolves with its own result. */
  write(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#inFlight) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        this.#onBatch?.(batch.length);
        await this.#commit(batch);
      }
    } finally {
      this.#inFlight = false;
    }
  }

  async #commit(batch: Pending<In, Out>[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Pending<In, Out>];
      await this.#writeOne(only.item).then(only.resolve, only.reject);
      return;
    }
    let results: Out[];
    try {
      results = await this.#writeBatch(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new Error(`batch of ${batch.length} rows returned ${results.length}`);
      }
    } catch (err) {
      if (!this.#isRefusal(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Refused as a whole, nothing written: each row again, alone. Sequential, so that rows
      // keep their order of arrival (ids, and the order streams deliver them in).
      for (const p of batch) await this.#writeOne(p.item).then(p.resolve, p.reject);
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(results[i] as Out);
  }
}

/** How a {@link GroupCommit} writes. */
export interface GroupCommitOptions<In, Out> {
  /** Writes every item in one statement (one transaction); results in the items' order. */
  readonly writeBatch: (items: readonly In[]) => Promise<Out[]>;
  /** Writes one item (a batch of one, and the retry of a refused batch's rows). */
  readonly writeOne: (item: In) => Promise<Out>;
  /**
   * True when a batch's error is the database refusing the statement (nothing written, and a
   * row of it may be at fault). Any other error (a dead connection, whose commit may or may
   * not have happened; the database unavailable) is every caller's answer.
   */
  readonly isRefusal: (err: unknown) => boolean;
  /** Most items in one batch. */
  readonly maxBatch: number;
  /** Called with each batch's size as it leaves (for statistics). */
  readonly onBatch?: ((size: number) => void) | undefined;
}

interface Pending<In, Out> {
  readonly item: In;
  readonly resolve: (value: Out) => void;
  readonly reject: (reason: unknown) => void;
}
