import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { looksLikeDate, resolveLater, resolveTime } from './relative-time.js';

/** Runs the checks with the process's local time zone set to `tz`. */
function inZone(tz: string, fn: () => void): void {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

describe('resolveTime', () => {
  const now = new Date('2026-06-15T12:34:56.789Z');
  let tz: string | undefined;
  beforeEach(() => {
    tz = process.env.TZ;
  });
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('takes amounts of time before now', () => {
    expect(resolveTime('90s', now)).toBe('2026-06-15T12:33:26.789Z');
    expect(resolveTime('15m', now)).toBe('2026-06-15T12:19:56.789Z');
    expect(resolveTime('2h', now)).toBe('2026-06-15T10:34:56.789Z');
    expect(resolveTime('3d', now)).toBe('2026-06-12T12:34:56.789Z');
    expect(resolveTime('1w', now)).toBe('2026-06-08T12:34:56.789Z');
    expect(resolveTime('0s', now)).toBe(now.toISOString());
    expect(resolveTime(' 2H ', now)).toBe('2026-06-15T10:34:56.789Z');
  });

  it('leaves everything else for core to validate', () => {
    for (const v of [
      '2026-01-01T00:00:00Z',
      '2026-01-01',
      'soon',
      '-2h',
      '2x',
      '1.5h',
      '',
      '2 hours',
    ])
      expect(resolveTime(v, now)).toBe(v);
  });

  it('today and yesterday are local midnights', () => {
    inZone('UTC', () => {
      expect(resolveTime('today', now)).toBe('2026-06-15T00:00:00.000Z');
      expect(resolveTime('yesterday', now)).toBe('2026-06-14T00:00:00.000Z');
    });
    inZone('Asia/Tokyo', () => {
      // 21:34 in Tokyo: the day started at 15:00 UTC the day before.
      expect(resolveTime('today', now)).toBe('2026-06-14T15:00:00.000Z');
      expect(resolveTime('yesterday', now)).toBe('2026-06-13T15:00:00.000Z');
    });
  });

  // Europe/Berlin: summer time from 2026-03-29 02:00 (a 23-hour day) to 2026-10-25 03:00 (25 hours).
  it('Europe/Berlin around the clock changes', () => {
    inZone('Europe/Berlin', () => {
      const onSpringDay = new Date('2026-03-29T10:00:00Z'); // 12:00 CEST
      expect(resolveTime('today', onSpringDay)).toBe('2026-03-28T23:00:00.000Z');
      expect(resolveTime('yesterday', onSpringDay)).toBe('2026-03-27T23:00:00.000Z');
      const afterSpring = new Date('2026-03-30T10:00:00Z');
      expect(resolveTime('today', afterSpring)).toBe('2026-03-29T22:00:00.000Z');
      // Yesterday had 23 hours.
      expect(resolveTime('yesterday', afterSpring)).toBe('2026-03-28T23:00:00.000Z');
      const afterAutumn = new Date('2026-10-26T11:00:00Z'); // 12:00 CET
      expect(resolveTime('today', afterAutumn)).toBe('2026-10-25T23:00:00.000Z');
      // Yesterday had 25 hours.
      expect(resolveTime('yesterday', afterAutumn)).toBe('2026-10-24T22:00:00.000Z');
      // Just after midnight on the autumn day: still that day.
      const earlyAutumn = new Date('2026-10-24T22:30:00Z'); // 00:30 CEST on the 25th
      expect(resolveTime('today', earlyAutumn)).toBe('2026-10-24T22:00:00.000Z');
      // 2h before 03:30 CET (02:30Z) on the autumn day crosses the repeated hour: exact hours.
      expect(resolveTime('2h', new Date('2026-10-25T02:30:00Z'))).toBe('2026-10-25T00:30:00.000Z');
    });
  });

  // America/New_York: daylight time from 2026-03-08 02:00 to 2026-11-01 02:00.
  it('America/New_York around the clock changes', () => {
    inZone('America/New_York', () => {
      const afterSpring = new Date('2026-03-09T16:00:00Z'); // 12:00 EDT
      expect(resolveTime('today', afterSpring)).toBe('2026-03-09T04:00:00.000Z');
      expect(resolveTime('yesterday', afterSpring)).toBe('2026-03-08T05:00:00.000Z');
      const afterAutumn = new Date('2026-11-02T17:00:00Z'); // 12:00 EST
      expect(resolveTime('today', afterAutumn)).toBe('2026-11-02T05:00:00.000Z');
      expect(resolveTime('yesterday', afterAutumn)).toBe('2026-11-01T04:00:00.000Z');
      // Late evening of the autumn day, local time: 23:30 EST is already the 2nd in UTC.
      const lateAutumn = new Date('2026-11-02T04:30:00Z');
      expect(resolveTime('today', lateAutumn)).toBe('2026-11-01T04:00:00.000Z');
    });
  });

  // America/Santiago: on 2026-09-06 clocks go from 00:00 to 01:00, so that day has no midnight.
  it('a day without a midnight starts at its first moment', () => {
    inZone('America/Santiago', () => {
      const noon = new Date('2026-09-06T15:00:00Z'); // 12:00 -03
      expect(resolveTime('today', noon)).toBe('2026-09-06T04:00:00.000Z'); // 01:00 -03
      expect(resolveTime('yesterday', noon)).toBe('2026-09-05T04:00:00.000Z'); // 00:00 -04
    });
  });
});

describe('resolveLater (--expires)', () => {
  const now = new Date('2026-06-15T12:34:56.789Z');
  it('takes amounts of time from now', () => {
    expect(resolveLater('90m', now)).toBe('2026-06-15T14:04:56.789Z');
    expect(resolveLater('30d', now)).toBe('2026-07-15T12:34:56.789Z');
    expect(resolveLater(' 1W ', now)).toBe('2026-06-22T12:34:56.789Z');
  });
  it('passes anything else on as given, for core to check', () => {
    expect(resolveLater('2030-01-01', now)).toBe('2030-01-01');
    expect(resolveLater('today', now)).toBe('today');
    expect(looksLikeDate('2030-01-01')).toBe(true);
    expect(looksLikeDate('soon')).toBe(false);
  });
});
