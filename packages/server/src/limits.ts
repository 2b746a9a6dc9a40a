/** Limits of the HTTP layer, used by the app and said in its route schemas. */

/** Largest accepted request body: 16 KiB. */
export const BODY_LIMIT = 16 * 1024;

/** How long a request may take to arrive whole (headers and body) before it is answered 408. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Default interval between pings on a live stream; a client that missed one is closed. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** `16 KiB`, `512 bytes`: a byte count as the API's texts say it. */
export function formatBytes(n: number): string {
  return n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** `30 s`, `1.5 s`: a duration in milliseconds as the API's texts say it. */
export function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}
