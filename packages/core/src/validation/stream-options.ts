import { checkName, type NameProfile } from '../accounts/name-profile.js';
import { decodeStreamCursor, type StreamPosition } from '../delivery/stream-cursor.js';
import { ok, type Result } from '../result.js';
import { parseId } from './ids.js';
import { collectParameters } from './parameters.js';
import { describeType } from './text.js';

/** What a live stream follows: messages to `recipient`, optionally only from `sender`. */
export interface StreamOptions {
  recipient: string;
  sender?: string | undefined;
  /**
   * Resume point: the id of the last message seen, or the `cursor` of the last
   * event. Every matching message after it is sent first, then live ones.
   */
  after?: string | number | undefined;
}

/** A validated stream request. */
export interface StreamQuery {
  readonly recipient: string;
  readonly sender?: string;
  readonly after?:
    | { readonly kind: 'id'; readonly id: string }
    | { readonly kind: 'position'; readonly position: StreamPosition };
}

/** Names of the parameters a stream accepts. */
export const STREAM_PARAMETERS = ['recipient', 'sender', 'after'] as const;

/**
 * Validates stream options (from a program or a query string): a `recipient`, an optional
 * `sender`, and an optional `after` (a message id, or the `cursor` of an event). Names follow
 * the `names` profile (see {@link NameProfile}; `open` unless told).
 */
export function validateStreamOptions(
  input: unknown,
  names: NameProfile = 'open',
): Result<StreamQuery> {
  const { values: raw, issues } = collectParameters(input, STREAM_PARAMETERS);
  const recipient = checkName('recipient', raw.recipient, names);
  if (!recipient.ok) issues.push(...recipient.issues);
  let sender: string | undefined;
  if (raw.sender !== undefined) {
    const r = checkName('sender', raw.sender, names);
    if (r.ok) sender = r.value;
    else issues.push(...r.issues);
  }
  let after: StreamQuery['after'];
  if (raw.after !== undefined) {
    const v = raw.after;
    if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v))) {
      const r = parseId('after', v);
      if (r.ok) after = { kind: 'id', id: r.value };
      else issues.push(...r.issues);
    } else if (typeof v === 'string') {
      const r = decodeStreamCursor(v);
      if (r.ok) after = { kind: 'position', position: r.value };
      else issues.push(...r.issues);
    } else {
      issues.push({
        field: 'after',
        message: `must be a message id or an event cursor, got ${describeType(v)}`,
      });
    }
  }
  if (!recipient.ok || issues.length > 0) return { ok: false, issues };
  return ok({
    recipient: recipient.value,
    ...(sender !== undefined && { sender }),
    ...(after !== undefined && { after }),
  });
}
