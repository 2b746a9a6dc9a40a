import { decodeCursor } from '../cursor.js';
import { fail, ok, type Result } from '../result.js';
import { isMessageId } from '../validation/ids.js';

/** Position of a message in relevance order (`ts_rank desc, id desc`). */
export interface RankPosition {
  /** The rank as PostgreSQL prints a `real` (shortest exact text), so it compares exactly. */
  readonly rank: string;
  /** The message id, a decimal string. */
  readonly id: string;
}

/** Encodes a relevance position as an opaque, URL-safe cursor (distinct from newest-first ones). */
export function encodeRankCursor(pos: RankPosition): string {
  return Buffer.from(`rank|${pos.rank}|${pos.id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeRankCursor}. A newest-first cursor is refused with a
 * message saying so, as is anything else that is not a relevance position.
 */
export function decodeRankCursor(cursor: string): Result<RankPosition> {
  if (decodeCursor(cursor).ok) {
    return fail('cursor', 'is a cursor of the newest-first order, not of order=relevance');
  }
  const invalid = fail('cursor', 'is not a valid cursor');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return invalid;
  const [tag, rank, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (tag !== 'rank' || extra !== undefined || rank === undefined || id === undefined) {
    return invalid;
  }
  if (!/^\d+(\.\d+)?(e[-+]\d+)?$/.test(rank) || !isMessageId(id)) return invalid;
  return ok({ rank, id });
}
