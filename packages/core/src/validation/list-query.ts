import { checkName, type NameProfile } from '../accounts/name-profile.js';
import { type CursorPosition, decodeCursor } from '../cursor.js';
import { ok, type Result } from '../result.js';
import { decodeRankCursor, type RankPosition } from '../search/relevance-cursor.js';
import { parseSearch, type SearchQuery } from '../search/search-query.js';
import { describeValue } from './describe-value.js';
import { compareInstants, type Instant, parseInstant } from './instants.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './limits.js';
import { collectParameters } from './parameters.js';
import { describeType } from './text.js';

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
  /**
   * Full-text search in the text, in web-search syntax: words, `"a phrase"`, `or`, `-word`;
   * case and accents ignored, the last word matched as a prefix. Each message found carries a
   * `highlight`. See the README's "Search".
   */
  q?: string | undefined;
  /** With `q`: `newest` (the default) or `relevance` (best match first, `ts_rank`). */
  order?: 'newest' | 'relevance' | undefined;
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
  /** Full-text search: only messages whose text matches. */
  readonly search?: SearchQuery;
  /** Best match first instead of newest first (only with `search`). */
  readonly order?: 'relevance';
  /** Position after which a relevance-ordered page starts (instead of `after`). */
  readonly afterRank?: RankPosition;
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
  'q',
  'order',
] as const;

const TRUE = new Set(['true', '1', 't']);
const FALSE = new Set(['false', '0', 'f']);

/**
 * Validates listing options (from a program or a query string). Unknown keys,
 * repeated parameters and unparseable values are issues naming the field.
 * Empty strings mean "not given", as in an HTML form. Names follow the `names` profile
 * (see {@link NameProfile}; `open` unless told).
 *
 * @example
 * validateListOptions({ recipient: 'alice', is_read: 'false', limit: '20' });
 * // { ok: true, value: { recipient: 'alice', isRead: false, limit: 20 } }
 */
export function validateListOptions(
  input: unknown,
  names: NameProfile = 'open',
): Result<ListQuery> {
  const { values: raw, issues } = collectParameters(input, LIST_PARAMETERS);

  const query: {
    -readonly [K in keyof ListQuery]: ListQuery[K];
  } = { limit: DEFAULT_LIST_LIMIT };

  for (const field of ['sender', 'recipient'] as const) {
    if (raw[field] === undefined) continue;
    const r = checkName(field, raw[field], names);
    if (r.ok) query[field] = r.value;
    else issues.push(...r.issues);
  }

  if (raw.with !== undefined) {
    const other = checkName('with', raw.with, names);
    const one = query.sender ?? query.recipient;
    if (!other.ok) issues.push(...other.issues);
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
    const a = checkName('conversation', parts[0], names);
    const b = checkName('conversation', parts[1], names);
    if (parts.length !== 2 || !a.ok || !b.ok) {
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
        message: `must be one of true, false, 1, 0, t, f; got ${describeValue(v)}`,
      });
  }

  const instants: { since?: Instant; until?: Instant } = {};
  for (const field of ['since', 'until'] as const) {
    if (raw[field] === undefined) continue;
    const r = parseInstant(field, raw[field]);
    if (r.ok) {
      instants[field] = r.value;
      query[field] = r.value.text;
    } else issues.push(...r.issues);
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
        message: `must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${describeValue(v)}`,
      });
    } else query.limit = n;
  }

  // Unlike other parameters, an empty q is not "no filter": a search box sent empty is refused.
  const emptyQ = typeof input === 'object' && input !== null && (input as { q?: unknown }).q === '';
  if (raw.q !== undefined || emptyQ) {
    const r = parseSearch(emptyQ ? '' : raw.q);
    if (r.ok) query.search = r.value;
    else issues.push(...r.issues);
  }

  if (raw.order !== undefined && raw.order !== 'newest') {
    if (raw.order !== 'relevance') {
      issues.push({
        field: 'order',
        message: `must be newest or relevance; got ${describeValue(raw.order)}`,
      });
    } else if (raw.q === undefined && !emptyQ) {
      issues.push({ field: 'order', message: 'relevance needs q (a search)' });
    } else query.order = 'relevance';
  }

  if (raw.cursor !== undefined) {
    if (typeof raw.cursor !== 'string') {
      issues.push({
        field: 'cursor',
        message: `must be a string, got ${describeType(raw.cursor)}`,
      });
    } else if (raw.order === 'relevance') {
      const r = decodeRankCursor(raw.cursor);
      if (r.ok) query.afterRank = r.value;
      else issues.push(...r.issues);
    } else {
      const r = decodeCursor(raw.cursor);
      if (r.ok) query.after = r.value;
      else if (decodeRankCursor(raw.cursor).ok) {
        issues.push({ field: 'cursor', message: 'is a cursor of order=relevance' });
      } else issues.push(...r.issues);
    }
  }

  if (
    instants.since !== undefined &&
    instants.until !== undefined &&
    compareInstants(instants.since, instants.until) >= 0
  ) {
    issues.push({ field: 'until', message: 'must be later than since' });
  }
  return issues.length > 0 ? { ok: false, issues } : ok(query);
}
