import type { Runner } from '../database/runner.js';
import type { AccessFeed } from './access-feed.js';
import { findUser, type UserRef } from './accounts.repository.js';
import { ExpiringCache } from './expiring-cache.js';

/** How long a user found by name is answered from memory. */
const TTL_MS = 5000;
const CACHE_SIZE = 10_000;

/**
 * Users by name, as a mailbox needs them on every send (is the recipient an active user,
 * and how is their name spelt?). Names never change owner (users are disabled, never renamed
 * or deleted), so a found user may be remembered briefly; a disabled user is dropped at once
 * when the {@link AccessFeed} announces it. A name nobody has is never remembered: a user
 * added a moment later is found at once.
 */
export class UserDirectory {
  readonly #run: Runner;
  readonly #feed: AccessFeed;
  readonly #byName = new ExpiringCache<string, UserRef>(CACHE_SIZE);

  constructor(run: Runner, feed: AccessFeed) {
    this.#run = run;
    this.#feed = feed;
    feed.onChange((change) => {
      if (change === undefined) this.#byName.clear();
      else if (change.userId !== undefined) {
        this.#byName.deleteWhere((user) => user.id === change.userId);
      }
    });
  }

  /** The user named `name` (matched as PostgreSQL's `lower()` folds it), enabled or not. */
  async find(name: string): Promise<UserRef | undefined> {
    const hit = this.#byName.get(name);
    if (hit !== undefined) return hit;
    await this.#feed.start();
    const epoch = this.#feed.epoch;
    const user = await this.#run.retrySafe((db) => findUser(db, name));
    if (user !== undefined && this.#feed.live && this.#feed.epoch === epoch) {
      this.#byName.set(name, user, TTL_MS);
    }
    return user;
  }
}
