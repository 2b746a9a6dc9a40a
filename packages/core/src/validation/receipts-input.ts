import { checkName, type NameProfile } from '../accounts/name-profile.js';
import type { ValidationIssue } from '../errors.js';
import { fail, ok, type Result } from '../result.js';
import { parseId } from './ids.js';
import { MAX_MARK_READ_IDS } from './limits.js';
import { bodyObject } from './parameters.js';
import { describeType } from './text.js';

/**
 * Which messages to mark read: by `ids`, or everything to `recipient`
 * (optionally only up to and including id `up_to`).
 */
export interface MarkReadOptions {
  ids?: readonly (number | string)[] | undefined;
  recipient?: string | undefined;
  up_to?: number | string | undefined;
}

/** A validated mark-read request. Ids are decimal strings (bigint). */
export type MarkReadQuery =
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'recipient'; readonly recipient: string; readonly upTo?: string };

/**
 * Validates a mark-read request: exactly one of `ids` (1–1000 message ids, duplicates
 * folded) or `recipient` (with an optional `up_to` id). The recipient's name follows the
 * `names` profile (see {@link NameProfile}; `open` unless told).
 *
 * @example
 * validateMarkRead({ ids: [7, '9'] }); // { ok: true, value: { kind: 'ids', ids: ['7', '9'] } }
 */
export function validateMarkRead(
  input: unknown,
  names: NameProfile = 'open',
): Result<MarkReadQuery> {
  const body = bodyObject(input);
  if (!body.ok) return body;
  const raw = body.value;
  const hasIds = raw.ids !== undefined;
  const hasRecipient = raw.recipient !== undefined;
  if (hasIds === hasRecipient) {
    return fail(
      'ids',
      'give either ids, or recipient (with an optional up_to), not both or neither',
    );
  }
  const issues: ValidationIssue[] = [];
  if (hasIds) {
    if (raw.up_to !== undefined)
      issues.push({ field: 'up_to', message: 'only goes with recipient' });
    if (!Array.isArray(raw.ids)) {
      issues.push({
        field: 'ids',
        message: `must be an array of message ids, got ${describeType(raw.ids)}`,
      });
      return { ok: false, issues };
    }
    if (raw.ids.length === 0 || raw.ids.length > MAX_MARK_READ_IDS) {
      issues.push({
        field: 'ids',
        message: `must hold 1 to ${MAX_MARK_READ_IDS} ids, got ${raw.ids.length}`,
      });
      return { ok: false, issues };
    }
    const ids = new Set<string>();
    raw.ids.forEach((v, i) => {
      const r = parseId(`ids[${i}]`, v);
      if (r.ok) ids.add(r.value);
      else issues.push(...r.issues);
    });
    return issues.length > 0 ? { ok: false, issues } : ok({ kind: 'ids', ids: [...ids] });
  }
  const recipient = checkName('recipient', raw.recipient, names);
  if (!recipient.ok) issues.push(...recipient.issues);
  let upTo: string | undefined;
  if (raw.up_to !== undefined && raw.up_to !== null && raw.up_to !== '') {
    const r = parseId('up_to', raw.up_to);
    if (r.ok) upTo = r.value;
    else issues.push(...r.issues);
  }
  if (!recipient.ok || issues.length > 0) return { ok: false, issues };
  return ok({
    kind: 'recipient',
    recipient: recipient.value,
    ...(upTo !== undefined && { upTo }),
  });
}
