import { fail, ok, type Result } from '../result.js';
import { describeValue } from './describe-value.js';

/**
 * PostgreSQL's widest UTC offset in a `timestamptz` literal, ±15:59, in minutes. JavaScript
 * accepts up to ±23:59; PostgreSQL refuses anything past this ("time zone displacement out of
 * range"), so core refuses it first.
 */
export const MAX_UTC_OFFSET_MINUTES = 15 * 60 + 59;

/** An instant given as `since` or `until`, ready for PostgreSQL and for comparing. */
export interface Instant {
  /**
   * What PostgreSQL is given: the caller's text in upper case with `T` between date and time,
   * midnight for a date alone and `Z` when no offset was written (sub-millisecond digits kept).
   */
  readonly text: string;
  /** Whole seconds since 1970-01-01T00:00:00Z. */
  readonly seconds: number;
  /** Microseconds within that second, rounded to six digits as PostgreSQL rounds them. */
  readonly micros: number;
}

/** `YYYY-MM-DD`, optionally `[T ]hh:mm[:ss[.f{1,9}]]` and `Z`, `±hh`, `±hhmm` or `±hh:mm`; upper case. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** A timestamp exactly as core writes one (cursors, `sent_datetime`): microseconds, UTC. */
const UTC_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

const BAD_FORMAT = 'must be an ISO-8601 date or date-time (e.g. 2026-01-31T12:00:00Z)';

/**
 * Parses a `since`/`until` value: an ISO-8601 date or date-time string (a space or `T`
 * between date and time, any case, surrounding blanks ignored; no offset means UTC) or a
 * valid `Date`. Refuses what PostgreSQL would refuse: impossible dates and times (February
 * 30, 24:00, second 60, year 0), offsets past ±15:59 however they are written, and `Date`s
 * outside the years 1–9999 (which JavaScript writes as `+010000-…`).
 *
 * @example
 * parseInstant('since', '2026-01-31 12:00+02'); // ok: text '2026-01-31T12:00+02'
 * parseInstant('since', '2026-01-31T12:00:00+16:00'); // issue: the UTC offset must be between -15:59 and +15:59
 */
export function parseInstant(field: string, v: unknown): Result<Instant> {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) return fail(field, `${BAD_FORMAT}; got Invalid Date`);
    const year = v.getUTCFullYear();
    if (year < 1 || year > 9999) {
      return fail(field, `must be between the years 1 and 9999; got ${describeValue(v)}`);
    }
    const seconds = Math.floor(ms / 1000);
    return ok({ text: v.toISOString(), seconds, micros: (ms - seconds * 1000) * 1000 });
  }
  const bad = fail(field, `${BAD_FORMAT}; got ${describeValue(v)}`);
  if (typeof v !== 'string') return bad;
  // Upper case: RFC 3339 allows a lower-case `t` and `z`.
  const s = v.trim().toUpperCase();
  const m = DATE_TIME.exec(s);
  if (!m) return bad;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', fraction = '', zone, sign, oh, om = '0'] = m;
  const date = [Number(y), Number(mo), Number(d)] as const;
  const time = [Number(h), Number(mi), Number(sec)] as const;
  if (!isRealDateTime(...date, ...time)) return bad;
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const hours = Number(oh);
    const minutes = Number(om);
    offsetMinutes = hours * 60 + minutes;
    if (minutes > 59 || offsetMinutes > MAX_UTC_OFFSET_MINUTES) {
      return fail(
        field,
        `the UTC offset must be between -15:59 and +15:59; got ${describeValue(v)}`,
      );
    }
    if (sign === '-') offsetMinutes = -offsetMinutes;
  }
  let text = s.replace(' ', 'T');
  if (m[4] === undefined) text += 'T00:00:00Z';
  else if (zone === undefined) text += 'Z';
  let seconds =
    daysSinceEpoch(...date) * 86_400 + time[0] * 3600 + time[1] * 60 + time[2] - offsetMinutes * 60;
  // As PostgreSQL's ParseFractionalSecond: rint(strtod(".f…") * 1e6), half to even.
  let micros = roundHalfEven(Number(`0.${fraction || '0'}`) * 1e6);
  if (micros === 1_000_000) {
    seconds += 1;
    micros = 0;
  }
  return ok({ text, seconds, micros });
}

/** Orders two instants: negative when `a` is earlier, 0 when they are the same microsecond. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.micros - b.micros;
}

/**
 * Whether `s` is a timestamp exactly as core writes one (`YYYY-MM-DDThh:mm:ss.ffffffZ`) and a
 * real instant PostgreSQL can hold: no February 30, no 24:00, no second 60, year 1 or later.
 */
export function isUtcTimestamp(s: string): boolean {
  const m = UTC_TIMESTAMP.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return isRealDateTime(y, mo, d, h, mi, sec);
}

/** A date and time of the proleptic Gregorian calendar from year 1 on (PostgreSQL has no year 0). */
function isRealDateTime(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): boolean {
  return (
    y >= 1 &&
    mo >= 1 &&
    mo <= 12 &&
    d >= 1 &&
    d <= daysInMonth(y, mo) &&
    h <= 23 &&
    mi <= 59 &&
    s <= 59
  );
}

/** C's rint() in the default rounding mode: to the nearest integer, halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysSinceEpoch(y: number, mo: number, d: number): number {
  const year = mo <= 2 ? y - 1 : y;
  const era = Math.floor(year / 400);
  const yoe = year - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
