import type { ValidationIssue } from './errors.js';

/** Position of a message in the listing order (newest first: `sent_datetime desc, id desc`). */
export interface CursorPosition {
  /** ISO-8601 UTC timestamp with microseconds. */
  readonly sentDatetime: string;
  readonly id: string;
}

const BIGINT_MAX = 9_223_372_036_854_775_807n;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Encodes a position as an opaque, URL-safe cursor. */
export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.sentDatetime}|${pos.id}`, 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; anything else is an issue on `cursor`. */
export function decodeCursor(
  cursor: string,
): { value: CursorPosition; issue?: undefined } | { value?: undefined; issue: ValidationIssue } {
  const invalid = { issue: { field: 'cursor', message: 'is not a valid cursor' } };
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return invalid;
  const [sentDatetime, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || !sentDatetime || !id) return invalid;
  if (!TIMESTAMP.test(sentDatetime) || !/^[1-9]\d{0,18}$/.test(id)) return invalid;
  // Only positions PostgreSQL can hold: a real date (no February 30 or 24:00) from year 1 on, a bigint id.
  const ms = Date.parse(sentDatetime);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== sentDatetime.slice(0, 19)) {
    return invalid;
  }
  if (sentDatetime.startsWith('0000') || BigInt(id) > BIGINT_MAX) return invalid;
  return { value: { sentDatetime, id } };
}
