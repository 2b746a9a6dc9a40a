/** Retries of a failed LISTEN: after this long, doubling up to the cap, each ±20 % so replicas spread out. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * The attempts of a follower of notifications (live delivery, access revocation) to listen:
 * one attempt at a time, shared by everyone who asks while it runs; after a failure, the next
 * one on its own after a backoff.
 */
export class ListenAttempts {
  readonly #listen: () => Promise<void>;
  #attempt: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #delay = RETRY_MIN_MS;

  /** `listen` makes one attempt; it rejects when the attempt failed. */
  constructor(listen: () => Promise<void>) {
    this.#listen = listen;
  }

  /** The attempt in flight, or a new one now (a scheduled retry is then not needed). */
  start(): Promise<void> {
    if (this.#attempt === undefined) {
      if (this.#retry !== undefined) clearTimeout(this.#retry);
      this.#retry = undefined;
      const attempt = this.#listen().finally(() => {
        if (this.#attempt === attempt) this.#attempt = undefined;
      });
      this.#attempt = attempt;
    }
    return this.#attempt;
  }

  /** The attempt in flight, if any. */
  get current(): Promise<void> | undefined {
    return this.#attempt;
  }

  /** An attempt succeeded: the next failure is retried quickly again. */
  succeeded(): void {
    this.#delay = RETRY_MIN_MS;
  }

  /** Schedules the next attempt after the backoff, unless one is scheduled already. */
  retryLater(): void {
    if (this.#retry !== undefined) return;
    const delay = this.#delay * (0.8 + Math.random() * 0.4);
    this.#delay = Math.min(this.#delay * 2, RETRY_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.start().catch(() => {});
    }, delay);
    this.#retry.unref();
  }

  /** No more retries; waits for the attempt in flight to end. */
  async stop(): Promise<void> {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#attempt?.catch(() => {});
  }
}
