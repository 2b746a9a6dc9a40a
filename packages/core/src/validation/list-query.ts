import { type CursorPosition, decodeCursor } from '../cursor.js';
import type { ValidationIssue } from '../errors.js';
import type { Result } from '../result.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_NAME_LENGTH } from './limits.js';
import { collectParameters } from './parameters.js';
import { checkText, describeType } from './text.js';

/**
 * What to list. Every field is optional; strings are accepted where a query
 * string would carry them (`is_read: 'false'`, `limit: '20'`).
 */
export interface ListOptions {
  /** Only messages from this sender (case-insensitive exact match). */
  sender?: string | undefined;
  /** Only messages to this recipient (case-insensitive exact match). */
  recipient?: string | undefined;
  /** Only read (`true`) or unread (`false`) messages. Accepts true/false/1/0/t/f in any case. */
  is_read?: boolean | string | undefined;
  /** Only messages sent at or after this instant (ISO-8601; no offset means UTC). */
  since?: Date | string | undefined;
  /** Only messages sent before this instant (ISO-8601; no offset means UTC). */
  until?: Date | string | undefined;
  /** Page size, 1–1000, default 100. */
  limit?: number | string | undefined;
  /** Cursor of the next page, as returned by the previous page. */
  cursor?: string | null | undefined;
  /**
   * With `sender` or `recipient` (exactly one): the two-person conversation between
   * that name and this one, both directions.
   */
  with?: string | undefined;
  /** The two-person conversation `a,b`, both directions (instead of sender/recipient/with). */
  conversation?: string | undefined;
}

/** A validated listing query. */
export interface ListQuery {
  readonly sender?: string;
  readonly recipient?: string;
  readonly isRead?: boolean;
  /** ISO-8601 UTC instants. */
  readonly since?: string;
  readonly until?: string;
  readonly limit: number;
  readonly after?: CursorPosition;
  /** Both directions between these two names; sender and recipient are then unset. */
  readonly conversation?: readonly [string, string];
}

/** Names of the parameters a listing accepts. */
export const LIST_PARAMETERS = [
  'sender',
  'recipient',
  'is_read',
  'since',
  'until',
  'limit',
  'cursor',
  'with',
  'conversation',
] as const;

const TRUE = new Set(['true', '1', 't']);
const FALSE = new Set(['false', '0', 'f']);
const ISO =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const HAS_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Validates listing options (from a program or a query string). Unknown keys,
 * repeated parameters and unparseable values are issues naming the field.
 * Empty strings mean "not given", as in an HTML form.
 */
export function validateListOptions(input: unknown): Result<ListQuery> {
  const { values: raw, issues } = collectParameters(input, LIST_PARAMETERS);

  const query: {
    -readonly [K in keyof ListQuery]: ListQuery[K];
  } = { limit: DEFAULT_LIST_LIMIT };

  for (const field of ['sender', 'recipient'] as const) {
    if (raw[field] === undefined) continue;
    const r = checkText(field, raw[field], { max: MAX_NAME_LENGTH, allowControl: false });
    if (r.issue) issues.push(r.issue);
    else query[field] = r.value;
  }

  if (raw.with !== undefined) {
    const other = checkText('with', raw.with, { max: MAX_NAME_LENGTH, allowControl: false });
    const one = query.sender ?? query.recipient;
    if (other.issue) issues.push(other.issue);
    else if (raw.conversation !== undefined) {
      issues.push({ field: 'with', message: 'cannot be combined with conversation' });
    } else if (
      (query.sender === undefined) === (query.recipient === undefined) ||
      one === undefined
    ) {
      issues.push({
        field: 'with',
        message: 'needs exactly one of sender or recipient (the other person)',
      });
    } else {
      query.conversation = [one, other.value];
      delete query.sender;
      delete query.recipient;
    }
  } else if (raw.conversation !== undefined) {
    const parts = typeof raw.conversation === 'string' ? raw.conversation.split(',') : [];
    const a = checkText('conversation', parts[0], { max: MAX_NAME_LENGTH, allowControl: false });
    const b = checkText('conversation', parts[1], { max: MAX_NAME_LENGTH, allowControl: false });
    if (parts.length !== 2 || a.issue || b.issue) {
      issues.push({
        field: 'conversation',
        message: 'must be two names separated by a comma, e.g. alice,bob',
      });
    } else if (query.sender !== undefined || query.recipient !== undefined) {
      issues.push({
        field: 'conversation',
        message: 'cannot be combined with sender or recipient',
      });
    } else {
      query.conversation = [a.value, b.value];
    }
  }

  if (raw.is_read !== undefined) {
    const v = raw.is_read;
    if (typeof v === 'boolean') query.isRead = v;
    else if (typeof v === 'string' && TRUE.has(v.trim().toLowerCase())) query.isRead = true;
    else if (typeof v === 'string' && FALSE.has(v.trim().toLowerCase())) query.isRead = false;
    else
      issues.push({
        field: 'is_read',
        message: `must be one of true, false, 1, 0, t, f; got ${JSON.stringify(v)}`,
      });
  }

  for (const field of ['since', 'until'] as const) {
    if (raw[field] === undefined) continue;
    const r = parseInstant(field, raw[field]);
    if (r.issue) issues.push(r.issue);
    else query[field] = r.value;
  }

  if (raw.limit !== undefined) {
    const v = raw.limit;
    const n =
      typeof v === 'number'
        ? v
        : typeof v === 'string' && /^\d{1,7}$/.test(v.trim())
          ? Number(v)
          : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT) {
      issues.push({
        field: 'limit',
        message: `must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${JSON.stringify(v)}`,
      });
    } else query.limit = n;
  }

  if (raw.cursor !== undefined) {
    if (typeof raw.cursor !== 'string') {
      issues.push({
        field: 'cursor',
        message: `must be a string, got ${describeType(raw.cursor)}`,
      });
    } else {
      const r = decodeCursor(raw.cursor);
      if (r.issue) issues.push(r.issue);
      else query.after = r.value;
    }
  }

  if (
    query.since !== undefined &&
    query.until !== undefined &&
    instantMicros(query.since) >= instantMicros(query.until)
  ) {
    issues.push({ field: 'until', message: 'must be later than since' });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: query };
}

function parseInstant(
  field: string,
  v: unknown,
): { value: string; issue?: undefined } | { value?: undefined; issue: ValidationIssue } {
  const bad = {
    issue: {
      field,
      message: `must be an ISO-8601 date or date-time (e.g. 2026-01-31T12:00:00Z); got ${JSON.stringify(v)}`,
    },
  };
  if (v instanceof Date) {
    return Number.isNaN(v.getTime()) ? bad : { value: v.toISOString() };
  }
  if (typeof v !== 'string') return bad;
  // Upper case: RFC 3339 allows a lower-case `t` and `z`.
  const s = v.trim().toUpperCase();
  if (!ISO.test(s)) return bad;
  let normalised = s.replace(' ', 'T');
  if (!normalised.includes('T')) normalised += 'T00:00:00Z';
  else if (!HAS_OFFSET.test(normalised)) normalised += 'Z';
  if (Number.isNaN(instantMs(normalised)) || !isRealDate(normalised)) return bad;
  // Keep sub-millisecond digits: PostgreSQL parses the string itself.
  return { value: normalised };
}

/** Microseconds since the epoch, as PostgreSQL will store it (digits past the sixth are cut). */
function instantMicros(iso: string): number {
  const micros = /\.\d{3}(\d{0,3})/.exec(iso)?.[1] ?? '';
  return instantMs(iso) * 1000 + Number(micros.padEnd(3, '0'));
}

function instantMs(iso: string): number {
  return Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
}

/** Rejects what Date.parse would roll over, such as February 30 or 24:00. */
function isRealDate(iso: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(iso);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return (
    y >= 1 &&
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    h <= 23 &&
    mi <= 59 &&
    s <= 59
  );
}
