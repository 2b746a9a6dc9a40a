import type { Listener } from '../database/connection.js';
import { ListenAttempts } from '../database/listen-attempts.js';
import type { NotificationBus } from '../database/notification-bus.js';
import type { Runner } from '../database/runner.js';
import { UnavailableError } from '../errors.js';
import { AUTH_CHANNEL, currentSchema } from './accounts.repository.js';

/**
 * What changed: a user (disabled) or a token (revoked). `undefined` means "anything may have
 * changed" — a notification could not be read, or some may have been missed while not
 * listening — and everything cached about access is to be dropped.
 */
export type AccessChange = { readonly userId?: number; readonly tokenId?: number } | undefined;

/**
 * Follows access changes (revoked tokens, disabled users) announced by any process on
 * `messenger_auth`, through the messenger's shared LISTEN connection, and tells the caches of
 * this process. The caches may only keep what they learn while the feed is {@link live}, and
 * only when no change arrived while they were asking the database ({@link epoch} unchanged):
 * otherwise a revocation committed meanwhile could be cached over. A lost LISTEN connection
 * drops every cached answer (changes may be missed) and the feed listens again with backoff.
 */
export class AccessFeed {
  readonly #bus: NotificationBus;
  readonly #run: Runner;
  readonly #where: string;
  readonly #handlers = new Set<(change: AccessChange) => void>();
  #state: 'idle' | 'starting' | 'live' | 'failed' | 'closed' = 'idle';
  #listener: Listener | undefined;
  readonly #attempts = new ListenAttempts(() => this.#listen());
  #epoch = 0;
  /** The schema of our tables; notifications of other schemas are not about us. */
  #schema: string | null | undefined;

  constructor(bus: NotificationBus, run: Runner, where: string) {
    this.#bus = bus;
    this.#run = run;
    this.#where = where;
  }

  /** Listening now: answers learnt from the database may be cached. */
  get live(): boolean {
    return this.#state === 'live';
  }

  /** Counts changes (and losses): equal before and after a query means none came in between. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Starts listening if it does not yet. Resolves once the first attempt is over, whatever
   * its outcome (without the feed, nothing is cached: slower, never stale); later calls, and
   * calls while retries run in the background, do not wait.
   */
  start(): Promise<void> {
    if (this.#state === 'idle') return this.#attempts.start().catch(() => {});
    if (this.#state === 'starting') {
      return (this.#attempts.current ?? Promise.resolve()).catch(() => {});
    }
    return Promise.resolve();
  }

  /** Calls `handler` with every change; returns how to stop. */
  onChange(handler: (change: AccessChange) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Announces a change made by this process, at once (its notification follows anyway). */
  changed(change: AccessChange): void {
    this.#epoch++;
    for (const handler of this.#handlers) {
      try {
        handler(change);
      } catch (err) {
        this.#run.backgroundError(err);
      }
    }
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    await this.#attempts.stop();
    await this.#listener?.close();
    this.#listener = undefined;
    this.#handlers.clear();
  }

  async #listen(): Promise<void> {
    const recovering = this.#state === 'failed';
    if (this.#state === 'idle') this.#state = 'starting';
    let listener: Listener | undefined;
    let installed = false;
    let lostEarly: unknown;
    try {
      listener = await this.#bus.listen(
        [AUTH_CHANNEL],
        (_channel, payload) => {
          const change = parseChange(payload, this.#schema);
          if (change !== null) this.changed(change);
        },
        (err) => {
          if (!installed) lostEarly = err ?? new Error('the LISTEN connection ended');
          else if (this.#listener === listener) this.#lost(err);
        },
      );
      this.#schema ??= await this.#run.retrySafe((db) => currentSchema(db));
      if (lostEarly !== undefined) throw lostEarly;
    } catch (err) {
      await listener?.close();
      this.#lost(err);
      throw err;
    }
    if ((this.#state as string) === 'closed') {
      await listener.close();
      return;
    }
    installed = true;
    this.#listener = listener;
    this.#state = 'live';
    this.#attempts.succeeded();
    // Changes announced while not listening are gone: whoever watches must look again.
    if (recovering) this.changed(undefined);
  }

  #lost(err: unknown): void {
    if (this.#state === 'closed') return;
    this.#listener = undefined;
    if (this.#bus.closed) {
      // The messenger is closed: there is nothing to listen with any more.
      this.#state = 'closed';
      this.changed(undefined);
      return;
    }
    if (this.#state !== 'failed') {
      this.#run.backgroundError(
        new UnavailableError(
          `database at ${this.#where}: cannot listen for revoked tokens; retrying (meanwhile every request is checked against the database)`,
          { cause: err },
        ),
      );
      this.#state = 'failed';
      // What was cached may miss a change from now on; nothing is cached until live again.
      this.changed(undefined);
    }
    this.#attempts.retryLater();
  }
}

/**
 * A notification's change: `null` when it is about the tables of another schema; anything
 * unreadable counts as "anything may have changed".
 */
function parseChange(payload: string, schema: string | null | undefined): AccessChange | null {
  try {
    const v = JSON.parse(payload) as { user_id?: unknown; token_id?: unknown; schema?: unknown };
    if (schema != null && typeof v.schema === 'string' && v.schema !== schema) return null;
    if (Number.isSafeInteger(v.user_id)) return { userId: v.user_id as number };
    if (Number.isSafeInteger(v.token_id)) return { tokenId: v.token_id as number };
  } catch {
    // Falls through: not one of ours, or garbled.
  }
  return undefined;
}
