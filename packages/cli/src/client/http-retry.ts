/** When the HTTP transport tries again, and how long it waits first. */

/** Statuses a GET is retried on: the server or a proxy in front of it is briefly unable to answer. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * Failures of a GET worth another attempt: the connection could not be made or broke.
 * `ENOTFOUND` is missing on purpose: a name that does not resolve will not resolve in a second.
 */
const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a failed attempt may be repeated. Reads (GET) are idempotent and repeat on
 * any transient network failure. A POST repeats only when the connection was refused,
 * since then nothing reached the server; after that, the message may have been stored.
 */
export function mayRetryFailure(method: string, code: string | undefined): boolean {
  if (code === undefined) return false;
  return method === 'GET' ? TRANSIENT_NETWORK.has(code) : code === 'ECONNREFUSED';
}

/** Whether an answer with `status` may be repeated: only reads, only on 502/503/504. */
export function mayRetryStatus(method: string, status: number): boolean {
  return method === 'GET' && RETRY_STATUSES.has(status);
}

/** First wait, doubled at every attempt, up to {@link BACKOFF_CAP_MS}. */
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 2_000;
/** A `Retry-After` longer than this is not waited for: the call fails with the server's answer. */
export const RETRY_AFTER_CAP_MS = 5_000;

/**
 * Wait before attempt `attempt + 1`: exponential backoff with "equal jitter", i.e. a
 * random duration between half and all of `base·2^(attempt−1)` (capped), so that many
 * clients failing together do not come back together.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * `Retry-After` in milliseconds: delay-seconds (`120`) or an HTTP date. `undefined` when
 * absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  // An HTTP date starts with the day's name (`Wed, 21 Oct 2015 07:28:00 GMT`).
  const at = /^[a-z]{3}/i.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
