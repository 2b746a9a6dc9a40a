import { describe, expect, it } from 'vitest';
import {
  BACKOFF_CAP_MS,
  backoffDelay,
  mayRetryFailure,
  mayRetryStatus,
  parseRetryAfter,
} from './http-retry.js';

describe('retry policy', () => {
  it('retries reads on transient network failures and 502/503/504 only', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'])
      expect(mayRetryFailure('GET', code), code).toBe(true);
    for (const code of ['ENOTFOUND', 'CERT_HAS_EXPIRED', undefined])
      expect(mayRetryFailure('GET', code), String(code)).toBe(false);
    for (const status of [502, 503, 504]) expect(mayRetryStatus('GET', status)).toBe(true);
    for (const status of [400, 404, 429, 500, 501])
      expect(mayRetryStatus('GET', status)).toBe(false);
  });

  it('retries a send only when the connection was refused, never on an answer', () => {
    expect(mayRetryFailure('POST', 'ECONNREFUSED')).toBe(true);
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE'])
      expect(mayRetryFailure('POST', code), code).toBe(false);
    for (const status of [502, 503, 504]) expect(mayRetryStatus('POST', status)).toBe(false);
  });

  it('backs off exponentially with jitter between half and all of the step, capped', () => {
    expect(backoffDelay(1, () => 0)).toBe(100);
    expect(backoffDelay(1, () => 1)).toBe(200);
    expect(backoffDelay(2, () => 0)).toBe(200);
    expect(backoffDelay(3, () => 1)).toBe(800);
    expect(backoffDelay(30, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffDelay(30, () => 0)).toBe(BACKOFF_CAP_MS / 2);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 3 ')).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:02 GMT', now)).toBe(2000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
  });
});
