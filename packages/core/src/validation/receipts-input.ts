import type { ValidationIssue } from '../errors.js';
import type { Result } from '../result.js';
import { MAX_NAME_LENGTH } from './limits.js';
import { bodyObject } from './parameters.js';
import { checkText, describeType } from './text.js';

/** Most ids one mark-read request may name. */
export const MAX_MARK_READ_IDS = 1000;

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

const ID = /^[1-9]\d{0,18}$/;
const MAX_ID = 9223372036854775807n;

/** Parses one message id (a positive integer, as a number or a decimal string). */
export function parseId(field: string, v: unknown): { value: string } | { issue: ValidationIssue } {
  const s =
    typeof v === 'number' && Number.isSafeInteger(v)
      ? String(v)
      : typeof v === 'string'
        ? v.trim()
        : '';
  if (!ID.test(s) || BigInt(s) > MAX_ID) {
    return {
      issue: {
        field,
        message: `must be a positive whole number (a message id); got ${JSON.stringify(v) ?? describeType(v)}`,
      },
    };
  }
  return { value: s };
}

/** Validates a mark-read request: exactly one of `ids` or `recipient`. */
export function validateMarkRead(input: unknown): Result<MarkReadQuery> {
  const body = bodyObject(input);
  if (body.issue) return { ok: false, issues: [body.issue] };
  const raw = body.value;
  const issues: ValidationIssue[] = [];
  const hasIds = raw.ids !== undefined;
  const hasRecipient = raw.recipient !== undefined;
  if (hasIds === hasRecipient) {
    return {
      ok: false,
      issues: [
        {
          field: 'ids',
          message: 'give either ids, or recipient (with an optional up_to), not both or neither',
        },
      ],
    };
  }
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
      if ('issue' in r) issues.push(r.issue);
      else ids.add(r.value);
    });
    return issues.length > 0
      ? { ok: false, issues }
      : { ok: true, value: { kind: 'ids', ids: [...ids] } };
  }
  const recipient = checkText('recipient', raw.recipient, {
    max: MAX_NAME_LENGTH,
    allowControl: false,
  });
  if (recipient.issue) issues.push(recipient.issue);
  let upTo: string | undefined;
  if (raw.up_to !== undefined && raw.up_to !== null && raw.up_to !== '') {
    const r = parseId('up_to', raw.up_to);
    if ('issue' in r) issues.push(r.issue);
    else upTo = r.value;
  }
  if (issues.length > 0 || recipient.value === undefined) return { ok: false, issues };
  return {
    ok: true,
    value: { kind: 'recipient', recipient: recipient.value, ...(upTo !== undefined && { upTo }) },
  };
}
