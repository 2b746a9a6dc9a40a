import { describe, expect, it } from 'vitest';
import { compareInstants, type Instant, isUtcTimestamp, parseInstant } from './instants.js';

function instant(v: unknown): Instant {
  const r = parseInstant('since', v);
  if (!r.ok)
    throw new Error(`expected acceptance of ${String(v)}, got ${JSON.stringify(r.issues)}`);
  return r.value;
}

const offsetIssue = (field: string, v: string) => ({
  ok: false,
  issues: [
    {
      field,
      message: `the UTC offset must be between -15:59 and +15:59; got ${JSON.stringify(v)}`,
    },
  ],
});

/** Every way of writing a date-time with offset `offset` ("+16:00"): what the issue says users try. */
function spellings(offset: string): string[] {
  const compact = offset.replace(':', '');
  const hours = offset.slice(0, 3);
  return [
    `2026-01-31T12:00:00${offset}`,
    `2026-01-31T12:00:00${compact}`,
    `2026-01-31T12:00:00${hours}`,
    `2026-01-31T12:00${offset}`,
    `2026-01-31T12:00${compact}`,
    `2026-01-31 12:00:00${offset}`,
    `2026-01-31t12:00:00${offset}`,
    `2026-01-31T12:00:00.123456${offset}`,
    `2026-01-31T12:00:00.123456789${compact}`,
    ` 2026-01-31T12:00:00${offset} `,
    `\t2026-01-31 12:00${hours}\n`,
  ];
}

describe('parseInstant: UTC offsets', () => {
  it.each(['+16:00', '-16:00', '+23:59', '-23:59', '+99:00', '+16:30'].flatMap(spellings))(
    'refuses %j, naming the field and the rule',
    (v) => {
      expect(parseInstant('since', v)).toEqual(offsetIssue('since', v));
      expect(parseInstant('until', v)).toEqual(offsetIssue('until', v));
    },
  );

  it.each(['2026-01-31T12:00:00+05:60', '2026-01-31T12:00:00-0599', '2026-01-31T12:00:00+15:60'])(
    'refuses minutes past 59 in %j',
    (v) => {
      expect(parseInstant('since', v)).toEqual(offsetIssue('since', v));
    },
  );

  it.each([
    ['+15:59', -(15 * 60 + 59) * 60],
    ['-15:59', (15 * 60 + 59) * 60],
    ['+15:00', -15 * 3600],
    ['+00:00', 0],
    ['-00:00', 0],
    ['+05:30', -(5 * 3600 + 30 * 60)],
  ])('accepts %s in every spelling, at the right instant', (offset, shift) => {
    const noon = Date.UTC(2026, 0, 31, 12) / 1000;
    for (const v of spellings(offset)) {
      const i = instant(v);
      // Hour-only spellings (`+15`) drop the minutes of the offset.
      const written = /[+-]\d{2}\s*$/.test(v) ? Math.trunc(shift / 3600) * 3600 : shift;
      expect(i.seconds, v).toBe(noon + written);
      expect(i.text, v).toMatch(/^2026-01-31T12:00(:00(\.\d+)?)?[+-]\d{2}(:?\d{2})?$/);
    }
  });
});

describe('parseInstant: text given to PostgreSQL', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00Z'],
    ['2026-01-31 12:00', '2026-01-31T12:00Z'],
    ['2026-01-31t12:00:00z', '2026-01-31T12:00:00Z'],
    ['2026-01-31T12:00:00+02', '2026-01-31T12:00:00+02'],
    [' 2026-01-31T12:00:00.1234567-0530 ', '2026-01-31T12:00:00.1234567-0530'],
  ])('%j becomes %j', (v, text) => {
    expect(instant(v).text).toBe(text);
  });
});

describe('parseInstant: years PostgreSQL can hold', () => {
  it('accepts year 1 and year 9999 even when the offset moves them past the edge', () => {
    // 0001-01-01T00:00+15:59 is 1 BC in UTC, 9999-12-31T23:59-15:59 is in year 10000: PostgreSQL takes both.
    expect(instant('0001-01-01T00:00:00+15:59').seconds).toBe(-62135596800 - 959 * 60);
    expect(instant('9999-12-31T23:59:59.999999-15:59').micros).toBe(999_999);
  });

  it.each(['0000-01-01', '0000-12-31T23:59:59Z'])('refuses year 0: %j', (v) => {
    expect(parseInstant('since', v).ok).toBe(false);
  });

  it('accepts Dates from year 1 to 9999', () => {
    expect(instant(new Date('0001-01-01T00:00:00Z')).text).toBe('0001-01-01T00:00:00.000Z');
    expect(instant(new Date('9999-12-31T23:59:59.999Z')).text).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each([
    new Date('+010000-01-01T00:00:00Z'),
    new Date('0000-06-01T00:00:00Z'),
    new Date('-000001-01-01T00:00:00Z'),
    new Date(8.64e15),
  ])('refuses the Date %s, which JavaScript writes in a form PostgreSQL refuses', (d) => {
    expect(parseInstant('until', d)).toEqual({
      ok: false,
      issues: [
        {
          field: 'until',
          message: `must be between the years 1 and 9999; got ${JSON.stringify(d.toISOString())}`,
        },
      ],
    });
  });
});

describe('compareInstants', () => {
  it('compares to the microsecond, rounding extra digits as PostgreSQL does', () => {
    const cmp = (a: string, b: string) => Math.sign(compareInstants(instant(a), instant(b)));
    expect(cmp('2026-01-01T00:00:00.000001Z', '2026-01-01T00:00:00.000002Z')).toBe(-1);
    expect(cmp('2026-01-01T00:00:00.0000014Z', '2026-01-01T00:00:00.000001Z')).toBe(0);
    expect(cmp('2026-01-01T00:00:00.0000016Z', '2026-01-01T00:00:00.000002Z')).toBe(0);
    expect(cmp('2026-01-01T00:00:00.9999996Z', '2026-01-01T00:00:01Z')).toBe(0);
    expect(cmp('2026-01-31T12:00:00+02:00', '2026-01-31T10:00:00Z')).toBe(0);
    expect(cmp('2026-01-31T12:00:00+15:59', '2026-01-30T20:01:00Z')).toBe(0);
    expect(cmp('0001-01-01T00:00:00Z', '9999-12-31T00:00:00Z')).toBe(-1);
  });
});

describe('isUtcTimestamp', () => {
  it.each([
    '2026-11-25T13:38:21.123456Z',
    '0001-01-01T00:00:00.000000Z',
    '2024-02-29T23:59:59.999999Z',
  ])('accepts %s', (s) => {
    expect(isUtcTimestamp(s)).toBe(true);
  });

  it.each([
    '2026-11-25T13:38:21.123Z',
    '2026-11-25T13:38:21.123456',
    '2026-11-25T13:38:21.123456+00:00',
    '2026-02-29T00:00:00.000000Z',
    '2026-04-31T00:00:00.000000Z',
    '2026-01-01T24:00:00.000000Z',
    '2026-01-01T23:60:00.000000Z',
    '2026-01-01T23:59:60.000000Z',
    '0000-01-01T00:00:00.000000Z',
  ])('refuses %s', (s) => {
    expect(isUtcTimestamp(s)).toBe(false);
  });
});
