import { ErrorCode, type Result, type ValidationIssue } from '@messenger/core';
import { HttpError, HttpErrorCode } from './http-errors.js';

/**
 * How many live streams may be open at once in one server process, and for how long each.
 * `0` turns a cap off (the lifetime too).
 */
export interface StreamLimits {
  /** Per client address (`request.ip`: the proxy's `X-Forwarded-For` when trusted). */
  readonly maxPerAddress: number;
  /** Per user, in token mode. */
  readonly maxPerUser: number;
  /** In the whole process. */
  readonly maxTotal: number;
  /** After this long a stream is closed with a cursor to resume from (ms). */
  readonly maxLifetimeMs: number;
}

/** The defaults of `messenger-server` and `msg serve`. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxPerAddress: 50,
  maxPerUser: 10,
  maxTotal: 2000,
  maxLifetimeMs: 60 * 60 * 1000,
};

/** What a refused stream is told to wait before asking again, in seconds. */
export const STREAM_RETRY_AFTER_S = 5;

/** Who opens a stream: the client address, and the user in token mode. */
export interface StreamOwner {
  readonly address: string;
  readonly userId: number | undefined;
}

/**
 * Counts open streams by address, by user and in total, and refuses one past a cap before it
 * is upgraded: `429 too_many_streams` over an address's or a user's cap, `503 unavailable`
 * when the process is full (another replica may have room), both with `Retry-After`.
 */
export class StreamBudget {
  readonly #limits: StreamLimits;
  readonly #byAddress = new Map<string, number>();
  readonly #byUser = new Map<number, number>();
  #total = 0;

  constructor(limits: StreamLimits) {
    this.#limits = limits;
  }

  /** Streams open now. */
  get open(): number {
    return this.#total;
  }

  /** Throws the refusal a new stream of `owner` would get now; reserves nothing. */
  check(owner: StreamOwner): void {
    const { maxPerAddress, maxPerUser, maxTotal } = this.#limits;
    const retry = { 'retry-after': String(STREAM_RETRY_AFTER_S) };
    if (
      owner.userId !== undefined &&
      maxPerUser > 0 &&
      (this.#byUser.get(owner.userId) ?? 0) >= maxPerUser
    ) {
      throw new HttpError(
        HttpErrorCode.tooManyStreams,
        `too many open streams for this user: at most ${maxPerUser}; close one, or retry in ${STREAM_RETRY_AFTER_S} s`,
        retry,
      );
    }
    if (maxPerAddress > 0 && (this.#byAddress.get(owner.address) ?? 0) >= maxPerAddress) {
      throw new HttpError(
        HttpErrorCode.tooManyStreams,
        `too many open streams from this address: at most ${maxPerAddress}; close one, or retry in ${STREAM_RETRY_AFTER_S} s`,
        retry,
      );
    }
    if (maxTotal > 0 && this.#total >= maxTotal) {
      throw new HttpError(
        ErrorCode.unavailable,
        `this server has its maximum of ${maxTotal} open streams; retry in ${STREAM_RETRY_AFTER_S} s`,
        retry,
      );
    }
  }

  /**
   * Counts a new stream of `owner`, or throws its refusal ({@link StreamBudget.check}).
   * Returns the release, which is safe to call more than once.
   */
  reserve(owner: StreamOwner): () => void {
    this.check(owner);
    bump(this.#byAddress, owner.address, 1);
    if (owner.userId !== undefined) bump(this.#byUser, owner.userId, 1);
    this.#total++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      bump(this.#byAddress, owner.address, -1);
      if (owner.userId !== undefined) bump(this.#byUser, owner.userId, -1);
      this.#total--;
    };
  }
}

function bump<K>(counts: Map<K, number>, key: K, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** The settings of {@link StreamLimits} as operators give them: names of env vars and of `msg serve` flags. */
export const STREAM_SETTINGS = {
  maxPerAddress: {
    env: 'STREAM_MAX_PER_ADDRESS',
    flag: '--stream-max-per-address',
    max: 1_000_000,
  },
  maxPerUser: { env: 'STREAM_MAX_PER_USER', flag: '--stream-max-per-user', max: 1_000_000 },
  maxTotal: { env: 'STREAM_MAX_TOTAL', flag: '--stream-max-total', max: 1_000_000 },
  maxLifetimeMs: {
    env: 'STREAM_MAX_LIFETIME_S',
    flag: '--stream-max-lifetime',
    max: 7 * 24 * 3600,
  },
} as const;

/**
 * Stream limits from operator text, each a whole number (`0` = off; the lifetime in seconds),
 * missing ones at their defaults. One parser for `messenger-server`'s environment and
 * `msg serve`'s flags; each issue's field is the setting's name as `names` gives it.
 */
export function parseStreamLimits(
  raw: Partial<Record<keyof StreamLimits, string | undefined>>,
  names: 'env' | 'flag',
): Result<StreamLimits> {
  const issues: ValidationIssue[] = [];
  const out: Record<keyof StreamLimits, number> = { ...DEFAULT_STREAM_LIMITS };
  for (const key of Object.keys(STREAM_SETTINGS) as (keyof StreamLimits)[]) {
    const text = raw[key]?.trim();
    if (text === undefined || text === '') continue;
    const setting = STREAM_SETTINGS[key];
    const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= 0 && n <= setting.max)) {
      issues.push({
        field: setting[names],
        message: `must be a whole number from 0 (off) to ${setting.max}${key === 'maxLifetimeMs' ? ' (seconds)' : ''}; got ${JSON.stringify(text)}`,
      });
      continue;
    }
    out[key] = key === 'maxLifetimeMs' ? n * 1000 : n;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}
