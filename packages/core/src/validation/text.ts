import { fail, ok, type Result } from '../result.js';

/** Number of Unicode code points in `s` (an emoji is one, a combining mark is one more). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The checks every text field shares, before any trimming: given, a string, valid Unicode
 * (no lone surrogate), no NUL. Returns the string as it came.
 */
export function checkString(field: string, raw: unknown): Result<string> {
  if (raw === undefined) return fail(field, 'is required');
  if (raw === null) return fail(field, 'may not be null');
  if (typeof raw !== 'string') return fail(field, `must be a string, got ${describeType(raw)}`);
  if (!raw.isWellFormed()) return fail(field, 'must be valid Unicode text (lone surrogate)');
  if (raw.includes('\0')) return fail(field, 'may not contain NUL characters');
  return ok(raw);
}

/** The length issue of a field holding more than `max` code points, if it does. */
export function checkLength(field: string, value: string, max: number): Result<string> {
  const length = codePointLength(value);
  if (length > max) return fail(field, `at most ${max} characters, got ${length}`);
  return ok(value);
}

/**
 * Checks one required free-text field (a message's content): a string, trimmed, not blank,
 * at most `max` code points, valid Unicode, no NUL. Newlines and tabs are text here; names
 * are checked by `checkName` (accounts/name-profile.ts) instead. Returns the trimmed value
 * or the issue.
 */
export function checkText(field: string, raw: unknown, max: number): Result<string> {
  const s = checkString(field, raw);
  if (!s.ok) return s;
  const value = s.value.trim();
  if (value.length === 0) return fail(field, 'may not be blank');
  return checkLength(field, value, max);
}

/** A short name of a value's JSON type, for error messages (`null`, `array`, `number`, …). */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
