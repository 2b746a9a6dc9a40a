import type { ValidationIssue } from '../errors.js';
import { ok, type Result } from '../result.js';
import { describeValue } from '../validation/describe-value.js';
import { parseId } from '../validation/ids.js';
import { parseInstant } from '../validation/instants.js';
import { collectParameters } from '../validation/parameters.js';
import { checkName } from './name-profile.js';

/** Longest token label, in code points. */
export const MAX_TOKEN_LABEL_LENGTH = 100;

/** Names of the options {@link validateTokenOptions} accepts. */
export const TOKEN_OPTIONS = ['label', 'expiresAt'] as const;

/** Validated options of a new token. */
export interface TokenOptions {
  readonly label: string | null;
  /** ISO-8601 instant, in the future when validated; `null` for a token that does not expire. */
  readonly expiresAt: string | null;
}

/**
 * Checks a user's name (field `name`) against the strict name profile; the value is the
 * name as it is registered (NFC, trimmed).
 *
 * @example
 * validateUserName(' Ali\u0301ce '); // { ok: true, value: 'Alíce' }
 */
export function validateUserName(raw: unknown): Result<string> {
  return checkName('name', raw, 'strict');
}

/**
 * Checks the options of a new token: `label` (1–100 characters after trimming, the open name
 * profile's rules: no control, bidi or zero-width characters; empty means none) and
 * `expiresAt` (a `Date` or ISO-8601 string later than `now`). Unknown options are issues.
 *
 * @example
 * validateTokenOptions({ label: 'laptop', expiresAt: '2030-01-01' });
 */
export function validateTokenOptions(input: unknown, now = Date.now()): Result<TokenOptions> {
  const { values: raw, issues } = collectParameters(input, TOKEN_OPTIONS);
  let label: string | null = null;
  if (raw.label !== undefined) {
    const r = checkName('label', raw.label, 'open', MAX_TOKEN_LABEL_LENGTH);
    if (r.ok) label = r.value;
    else issues.push(...r.issues);
  }
  let expiresAt: string | null = null;
  if (raw.expiresAt !== undefined) {
    const r = parseInstant('expiresAt', raw.expiresAt);
    if (!r.ok) issues.push(...r.issues);
    else if (r.value.seconds * 1000 + r.value.micros / 1000 <= now) {
      issues.push(futureIssue(raw.expiresAt));
    } else expiresAt = r.value.text;
  }
  return issues.length > 0 ? { ok: false, issues } : ok({ label, expiresAt });
}

function futureIssue(v: unknown): ValidationIssue {
  return { field: 'expiresAt', message: `must be in the future; got ${describeValue(v)}` };
}

/**
 * Checks a token id (field `id`): a positive whole number or its decimal string.
 *
 * @example
 * parseTokenId('12'); // { ok: true, value: '12' }
 */
export function parseTokenId(raw: unknown): Result<string> {
  return parseId('id', raw, 'a token id');
}
