import type { Runner } from '../database/runner.js';
import { UnauthenticatedError } from '../errors.js';
import type { AccessChange, AccessFeed } from './access-feed.js';
import type { Principal } from './account.js';
import {
  activeTokens,
  touchTokens,
  type VerifiedToken,
  verifyTokenHash,
  verifyTokenId,
} from './accounts.repository.js';
import { ExpiringCache } from './expiring-cache.js';
import { TOKEN_PATTERN, tokenHash } from './token.js';

/** How long a verified token is trusted without asking the database again (never past its expiry). */
export const VERIFIED_TTL_MS = 5000;
/** How long a hash that authenticates nothing is answered from memory. */
const UNKNOWN_TTL_MS = 2000;
/** Most tokens (and unknown hashes) remembered at once; the oldest are forgotten first. */
const CACHE_SIZE = 10_000;
/** `last_used_at` is written at most this often per token by one process. */
const TOUCH_EVERY_MS = 60_000;
/** Watched tokens are checked against the database this often, notifications or not. */
const RECHECK_MS = 2000;

interface Verified {
  readonly principal: Principal;
  /** Hex of the token's hash, when it was verified from the token itself. */
  readonly hash: string | undefined;
}

interface Watch {
  readonly principal: Principal;
  readonly onRevoked: () => void;
}

/**
 * Decides who a token is, cheaply: verified tokens are kept in memory for at most
 * {@link VERIFIED_TTL_MS} (never past their expiry), so that a request does not cost a
 * database round trip; a revocation or a disabled user is pushed by every process's
 * {@link AccessFeed} and drops the cached answers at once. Also keeps `last_used_at` (off the
 * request path, at most once a minute per token) and tells watchers (live streams) when the
 * token they hang on stops working — from the feed, and from a periodic check of every
 * watched token in one query, so that a lost notification still ends them within seconds.
 */
export class Authenticator {
  readonly #run: Runner;
  readonly #feed: AccessFeed;
  /** By hash (hex) of verified tokens. */
  readonly #byHash = new ExpiringCache<string, Verified>(CACHE_SIZE);
  /** By token id: what a mailbox checks on each operation. */
  readonly #byId = new ExpiringCache<number, Verified>(CACHE_SIZE);
  /** Hashes that authenticate nothing. */
  readonly #unknown = new ExpiringCache<string, true>(CACHE_SIZE);
  /** When this process last wrote `last_used_at` of each token. */
  readonly #touched = new Map<number, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #watches = new Map<number, Set<Watch>>();
  #recheckTimer: NodeJS.Timeout | undefined;
  #rechecking = false;
  #recheckAgain = false;
  #closed = false;

  constructor(run: Runner, feed: AccessFeed) {
    this.#run = run;
    this.#feed = feed;
    feed.onChange((change) => this.#changed(change));
  }

  /**
   * Who `token` authenticates. Refuses anything that does not look like a token without
   * touching the database.
   * @throws {UnauthenticatedError} with one message whatever the reason.
   */
  async authenticate(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new UnauthenticatedError();
    const hashBytes = tokenHash(token);
    const hash = hashBytes.toString('hex');
    const hit = this.#byHash.get(hash);
    if (hit !== undefined) {
      this.#touch(hit.principal.tokenId);
      return hit.principal;
    }
    if (this.#unknown.get(hash) !== undefined) throw new UnauthenticatedError();
    await this.#feed.start();
    const epoch = this.#feed.epoch;
    const found = await this.#run.retrySafe((db) => verifyTokenHash(db, hashBytes));
    const cacheable = this.#feed.live && this.#feed.epoch === epoch;
    if (found === undefined) {
      if (cacheable) this.#unknown.set(hash, true, UNKNOWN_TTL_MS);
      throw new UnauthenticatedError();
    }
    if (cacheable) this.#remember(found, hash);
    this.#touch(found.principal.tokenId);
    return found.principal;
  }

  /**
   * Checks that `principal` still has access (its token is not revoked or expired, its user
   * not disabled) and returns it as the database knows it now. Cached like
   * {@link authenticate}: right after an authentication it costs nothing.
   * @throws {UnauthenticatedError}
   */
  async verify(principal: Principal): Promise<Principal> {
    const tokenId = principal?.tokenId;
    if (!Number.isSafeInteger(tokenId) || tokenId <= 0) throw new UnauthenticatedError();
    const hit = this.#byId.get(tokenId);
    if (hit !== undefined && hit.principal.userId === principal.userId) return hit.principal;
    await this.#feed.start();
    const epoch = this.#feed.epoch;
    const found = await this.#run.retrySafe((db) => verifyTokenId(db, tokenId));
    if (found === undefined || found.principal.userId !== principal.userId) {
      throw new UnauthenticatedError();
    }
    if (this.#feed.live && this.#feed.epoch === epoch) this.#remember(found, undefined);
    return found.principal;
  }

  /**
   * Calls `onRevoked` once, within seconds, when `principal`'s token stops working (revoked,
   * expired, user disabled), as seen from any process. Returns how to stop watching.
   */
  watch(principal: Principal, onRevoked: () => void): () => void {
    const w: Watch = { principal, onRevoked };
    const set = this.#watches.get(principal.tokenId) ?? new Set<Watch>();
    set.add(w);
    this.#watches.set(principal.tokenId, set);
    void this.#feed.start();
    this.#recheckTimer ??= setInterval(() => this.#recheck(), RECHECK_MS);
    this.#recheckTimer.unref();
    return () => this.#unwatch(w);
  }

  /** Stops the periodic check and waits for `last_used_at` writes still in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#recheckTimer !== undefined) clearInterval(this.#recheckTimer);
    this.#recheckTimer = undefined;
    this.#watches.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  #remember(found: VerifiedToken, hash: string | undefined): void {
    const ttl = Math.min(VERIFIED_TTL_MS, found.msLeft ?? Number.POSITIVE_INFINITY);
    if (ttl <= 0) return;
    const entry: Verified = { principal: found.principal, hash };
    if (hash !== undefined) this.#byHash.set(hash, entry, ttl);
    this.#byId.set(found.principal.tokenId, entry, ttl);
  }

  /** Drops what is cached about a change, and looks at the watched tokens it may concern. */
  #changed(change: AccessChange): void {
    const concerns = (p: Principal) =>
      change === undefined || p.userId === change.userId || p.tokenId === change.tokenId;
    if (change === undefined) {
      this.#byHash.clear();
      this.#byId.clear();
    } else {
      for (const cache of [this.#byHash, this.#byId]) {
        cache.deleteWhere((entry: Verified) => concerns(entry.principal));
      }
    }
    // The notification says where to look; the database says whether access really ended
    // (another schema of the same database shares the channel, with ids of its own).
    for (const set of this.#watches.values()) {
      for (const w of set) {
        if (concerns(w.principal)) {
          this.#recheck();
          return;
        }
      }
    }
  }

  /** Writes `last_used_at` of a token if this process has not for a minute; never awaited. */
  #touch(tokenId: number): void {
    const now = Date.now();
    const last = this.#touched.get(tokenId);
    if (this.#closed || (last !== undefined && now - last < TOUCH_EVERY_MS)) return;
    if (this.#touched.size >= CACHE_SIZE) {
      for (const [id, at] of this.#touched)
        if (now - at >= TOUCH_EVERY_MS) this.#touched.delete(id);
      if (this.#touched.size >= CACHE_SIZE) return;
    }
    this.#touched.set(tokenId, now);
    this.#background(this.#run.retrySafe((db) => touchTokens(db, [tokenId])));
  }

  /** One query for every watched token; tells the watchers of those that stopped working. */
  #recheck(): void {
    if (this.#closed || this.#watches.size === 0) return;
    if (this.#rechecking) {
      this.#recheckAgain = true;
      return;
    }
    this.#rechecking = true;
    const ids = [...this.#watches.keys()];
    const check = this.#run.retrySafe((db) => activeTokens(db, ids));
    this.#background(
      check
        .then((active) => {
          for (const id of ids) {
            const set = this.#watches.get(id);
            if (set === undefined) continue;
            for (const w of set) {
              if (active.get(id) === w.principal.userId) continue;
              this.#unwatch(w);
              try {
                w.onRevoked();
              } catch (err) {
                this.#run.backgroundError(err);
              }
            }
          }
        })
        .finally(() => {
          this.#rechecking = false;
          if (this.#recheckAgain) {
            this.#recheckAgain = false;
            this.#recheck();
          }
        }),
    );
  }

  #unwatch(w: Watch): void {
    const set = this.#watches.get(w.principal.tokenId);
    if (set === undefined || !set.delete(w)) return;
    if (set.size === 0) this.#watches.delete(w.principal.tokenId);
    if (this.#watches.size === 0 && this.#recheckTimer !== undefined) {
      clearInterval(this.#recheckTimer);
      this.#recheckTimer = undefined;
    }
  }

  /** Runs `work` off the request path: its failure goes to the background error handler. */
  #background(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => this.#run.backgroundError(err));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}
