import { fail, ok, type Result } from '../result.js';
import { isMessageId, isTxid, MAX_MESSAGE_ID } from '../validation/ids.js';

/**
 * A point in delivery order: `(txid, id)`, the inserting transaction's 64-bit
 * id and the message id, both decimal strings.
 */
export interface StreamPosition {
  readonly txid: string;
  readonly id: string;
}

/** Opaque, URL-safe form of a position, sent with each stream event. */
export function encodeStreamCursor(p: StreamPosition): string {
  return Buffer.from(`s1:${p.txid}:${p.id}`, 'utf8').toString('base64url');
}

/**
 * A cursor that resumes right after `p`, also when `p` is not a message's position but a
 * delivery horizon `(txid, 0)`: that one is written as the last position before it,
 * `(txid − 1, 2^63 − 1)`, since a cursor names a message id (no message lies in between).
 */
export function encodeResumeCursor(p: StreamPosition): string {
  if (p.id !== '0') return encodeStreamCursor(p);
  const txid = BigInt(p.txid);
  // No transaction has id 0: nothing lies before (0, 1) either.
  return encodeStreamCursor(
    txid > 0n ? { txid: String(txid - 1n), id: String(MAX_MESSAGE_ID) } : { txid: '0', id: '1' },
  );
}

/**
 * The position of a cursor from {@link encodeStreamCursor}. A cursor is only ever given as a
 * stream's `after`, so the issue names that field.
 */
export function decodeStreamCursor(cursor: string): Result<StreamPosition> {
  const invalid = fail('after', 'must be a message id or an event cursor');
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(cursor)) return invalid;
  const [tag, txid, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (tag !== 's1' || extra !== undefined || txid === undefined || id === undefined) return invalid;
  if (!isTxid(txid) || !isMessageId(id)) return invalid;
  return ok({ txid, id });
}

/** Orders two positions: negative when `a` comes first. */
export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  const t = BigInt(a.txid) - BigInt(b.txid);
  if (t !== 0n) return t < 0n ? -1 : 1;
  const i = BigInt(a.id) - BigInt(b.id);
  return i === 0n ? 0 : i < 0n ? -1 : 1;
}
