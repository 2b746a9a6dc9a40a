import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('lets a burst through, then one request per 1/rate seconds, per key', () => {
    const b = new TokenBuckets<string>({ perSecond: 2, burst: 3 }, 0);
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0]);
    // Empty: the next token is 500 ms away, and asking again does not push it further.
    expect(b.take('a', 0)).toBe(500);
    expect(b.take('a', 100)).toBe(400);
    // Another key has a bucket of its own.
    expect(b.take('b', 100)).toBe(0);
    expect(b.take('a', 500)).toBe(0);
    expect(b.take('a', 500)).toBe(500);
    // A long rest refills up to the burst, never beyond.
    for (let i = 0; i < 3; i++) expect(b.take('a', 60_000)).toBe(0);
    expect(b.take('a', 60_000)).toBeGreaterThan(0);
  });

  it('forgets buckets that have filled up again, so memory follows the active keys', () => {
    const b = new TokenBuckets<number>({ perSecond: 10, burst: 20 }, 0);
    for (let k = 0; k < 1000; k++) b.take(k, 0);
    expect(b.size).toBe(1000);
    b.take(5000, 5_000);
    // Not yet swept: the sweep runs every 10 s.
    expect(b.size).toBe(1001);
    b.take(7, 20_000);
    expect(b.size).toBe(1);
  });

  it('refuses a rate that is not a rate', () => {
    expect(() => new TokenBuckets({ perSecond: 0, burst: 1 }, 0)).toThrow(/perSecond/);
    expect(() => new TokenBuckets({ perSecond: 1, burst: 0.5 }, 0)).toThrow(/burst/);
  });
});
