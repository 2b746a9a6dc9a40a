import { fail, ok, type Result } from '../result.js';
import { describeValue } from './describe-value.js';

/** Largest message id: PostgreSQL's `bigint` maximum, 2^63 − 1. */
export const MAX_MESSAGE_ID = 9_223_372_036_854_775_807n;

/** Largest transaction id (PostgreSQL's `xid8`): 2^64 − 1. */
export const MAX_TXID = 18_446_744_073_709_551_615n;

/** A message id in canonical decimal form: no sign, no leading zero, at most 19 digits. */
const MESSAGE_ID = /^[1-9]\d{0,18}$/;
/** A transaction id in canonical decimal form: 0, or no leading zero, at most 20 digits. */
const TXID = /^(?:0|[1-9]\d{0,19})$/;

/** Whether `s` is a message id exactly as core writes one: decimal, 1 to 2^63 − 1. */
export function isMessageId(s: string): boolean {
  return MESSAGE_ID.test(s) && BigInt(s) <= MAX_MESSAGE_ID;
}

/** Whether `s` is a transaction id (`xid8`) exactly as PostgreSQL writes one: decimal, 0 to 2^64 − 1. */
export function isTxid(s: string): boolean {
  return TXID.test(s) && BigInt(s) <= MAX_TXID;
}

/**
 * Parses one message id given by a caller: a positive safe integer, or a decimal string
 * (surrounding blanks allowed) up to 2^63 − 1. The value is the canonical decimal string.
 * `what` names the kind of id in the issue (any bigint identity: a token's id too).
 *
 * @example
 * parseId('up_to', ' 42 '); // { ok: true, value: '42' }
 * parseId('ids[0]', -1); // { ok: false, issues: [{ field: 'ids[0]', message: 'must be a positive whole number (a message id); got -1' }] }
 */
export function parseId(field: string, v: unknown, what = 'a message id'): Result<string> {
  const s =
    typeof v === 'number' && Number.isSafeInteger(v)
      ? String(v)
      : typeof v === 'string'
        ? v.trim()
        : '';
  if (!isMessageId(s)) {
    return fail(field, `must be a positive whole number (${what}); got ${describeValue(v)}`);
  }
  return ok(s);
}
