import type { Result } from '@messenger/core';
import type { FastifyInstance } from 'fastify';
import { HttpError, HttpErrorCode } from './http-errors.js';

/** A per-user rate: `perSecond` sustained, `burst` requests at once from a rested bucket. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The default of token mode: 20 requests a second, 40 at once. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };

/** How often buckets that have filled up again are forgotten (a full bucket is no bucket). */
const SWEEP_EVERY_MS = 10_000;
/** Most buckets kept at once; past it, the oldest are forgotten (which only forgives). */
const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key, in memory: each holds up to `burst` tokens, refilled at `perSecond`;
 * a request takes one. Memory stays bounded: a bucket that has refilled is the same as none
 * and is dropped by a sweep every {@link SWEEP_EVERY_MS}, and there are never more than
 * {@link MAX_BUCKETS}.
 */
/**
 * A rate as operators write it: `20/s`, `1200/m` (per user) or `off`. The burst is two
 * seconds' worth (at least 1) unless given. One parser for `RATE_LIMIT` and `msg serve --rate-limit`.
 */
export function parseRateLimit(raw: string, burst?: number): Result<RateLimit | 'off'> {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return { ok: true, value: 'off' };
  const m = /^(\d{1,7})\s*\/\s*(s|m)$/.exec(text);
  const n = m ? Number(m[1]) : 0;
  if (!m || n < 1) {
    return {
      ok: false,
      issues: [
        {
          field: 'rate_limit',
          message: `must be requests per second or minute per user, e.g. 20/s or 1200/m, or off; got ${JSON.stringify(raw)}`,
        },
      ],
    };
  }
  const perSecond = m[2] === 's' ? n : n / 60;
  return { ok: true, value: { perSecond, burst: burst ?? Math.max(1, Math.ceil(2 * perSecond)) } };
}

export class TokenBuckets<K> {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<K, Bucket>();
  #sweptAt: number;

  constructor(limit: RateLimit, now: number) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new TypeError(
        `rateLimit: perSecond must be above 0 and burst at least 1; got ${JSON.stringify(limit)}`,
      );
    }
    this.#limit = limit;
    this.#sweptAt = now;
  }

  /** How many keys have a bucket that is not full. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes a token for `key` at time `now` (ms). Returns 0 when the request may go ahead,
   * else how many ms until a token is there.
   */
  take(key: K, now: number): number {
    if (now - this.#sweptAt >= SWEEP_EVERY_MS) this.#sweep(now);
    const { perSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(key);
    const tokens =
      bucket === undefined
        ? burst
        : Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    if (tokens < 1) {
      if (bucket !== undefined) {
        bucket.tokens = tokens;
        bucket.at = now;
      }
      return ((1 - tokens) / perSecond) * 1000;
    }
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
    } else {
      bucket.tokens = tokens - 1;
      bucket.at = now;
    }
    return 0;
  }

  #sweep(now: number): void {
    this.#sweptAt = now;
    const { perSecond, burst } = this.#limit;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.#buckets.delete(key);
    }
  }
}

/**
 * Limits each authenticated user (token mode) to `limit`, in this process: over it, `429
 * rate_limited` with `Retry-After` (whole seconds, at least 1). Runs after authentication
 * (it counts users, not addresses: nginx limits each address) and before the body is read.
 */
export function installRateLimit(app: FastifyInstance, limit: RateLimit): void {
  const buckets = new TokenBuckets<number>(limit, performance.now());
  const rate =
    limit.perSecond >= 1
      ? `${limit.perSecond} a second`
      : `${Math.round(limit.perSecond * 60 * 100) / 100} a minute`;
  app.addHook('onRequest', async (request) => {
    const principal = request.principal;
    if (principal === null) return;
    const waitMs = buckets.take(principal.userId, performance.now());
    if (waitMs === 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new HttpError(
      HttpErrorCode.rateLimited,
      `too many requests: at most ${rate} (${limit.burst} at once) per user; retry in ${seconds} s`,
      { 'retry-after': String(seconds) },
    );
  });
}
