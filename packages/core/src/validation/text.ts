import { fail, ok, type Result } from '../result.js';
import { MAX_NAME_LENGTH } from './limits.js';

/** Number of Unicode code points in `s` (an emoji is one, a combining mark is one more). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const CONTROL = /\p{Cc}/u;

/** What a text field may hold. */
export interface TextRule {
  /** Most code points after trimming. */
  readonly max: number;
  /** Names may hold no control character at all; text may hold newlines and tabs but never NUL. */
  readonly allowControl: boolean;
}

/**
 * Checks one required text field: a string, trimmed, not blank, at most `max`
 * code points, valid Unicode, no NUL (and, for names, no control character).
 * Returns the trimmed value or the issue.
 */
export function checkText(field: string, raw: unknown, rule: TextRule): Result<string> {
  if (raw === undefined) return fail(field, 'is required');
  if (raw === null) return fail(field, 'may not be null');
  if (typeof raw !== 'string') return fail(field, `must be a string, got ${describeType(raw)}`);
  if (!raw.isWellFormed()) return fail(field, 'must be valid Unicode text (lone surrogate)');
  if (raw.includes('\0')) return fail(field, 'may not contain NUL characters');
  const value = raw.trim();
  if (value.length === 0) return fail(field, 'may not be blank');
  if (!rule.allowControl && CONTROL.test(value)) {
    return fail(field, 'may not contain control characters');
  }
  const length = codePointLength(value);
  if (length > rule.max) return fail(field, `at most ${rule.max} characters, got ${length}`);
  return ok(value);
}

/** The rule of a sender or recipient name: at most 50 code points, no control character. */
export const NAME_RULE: TextRule = { max: MAX_NAME_LENGTH, allowControl: false };

/** A short name of a value's JSON type, for error messages (`null`, `array`, `number`, …). */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
