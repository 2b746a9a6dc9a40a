import { fail, ok, type Result } from './result.js';
import { isMessageId } from './validation/ids.js';
import { isUtcTimestamp } from './validation/instants.js';

/** Position of a message in the listing order (newest first: `sent_datetime desc, id desc`). */
export interface CursorPosition {
  /** ISO-8601 UTC timestamp with microseconds. */
  readonly sentDatetime: string;
  /** The message id, a decimal string. */
  readonly id: string;
}

/** Encodes a position as an opaque, URL-safe cursor. */
export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.sentDatetime}|${pos.id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}: only positions PostgreSQL can hold (a real
 * instant from year 1 on, a bigint id). Anything else is an issue on `cursor`.
 */
export function decodeCursor(cursor: string): Result<CursorPosition> {
  const invalid = fail('cursor', 'is not a valid cursor');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return invalid;
  const [sentDatetime, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || sentDatetime === undefined || id === undefined) return invalid;
  if (!isUtcTimestamp(sentDatetime) || !isMessageId(id)) return invalid;
  return ok({ sentDatetime, id });
}
