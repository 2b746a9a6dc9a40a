import { decodeStreamCursor, type StreamPosition } from '../delivery/stream-cursor.js';
import type { Result } from '../result.js';
import { MAX_NAME_LENGTH } from './limits.js';
import { collectParameters } from './parameters.js';
import { parseId } from './receipts-input.js';
import { checkText, describeType } from './text.js';

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

/** Validates stream options (from a program or a query string). */
export function validateStreamOptions(input: unknown): Result<StreamQuery> {
  const { values: raw, issues } = collectParameters(input, STREAM_PARAMETERS);
  const recipient = checkText('recipient', raw.recipient, {
    max: MAX_NAME_LENGTH,
    allowControl: false,
  });
  if (recipient.issue) issues.push(recipient.issue);
  let sender: string | undefined;
  if (raw.sender !== undefined) {
    const r = checkText('sender', raw.sender, { max: MAX_NAME_LENGTH, allowControl: false });
    if (r.issue) issues.push(r.issue);
    else sender = r.value;
  }
  let after: StreamQuery['after'];
  if (raw.after !== undefined) {
    const v = raw.after;
    if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v))) {
      const r = parseId('after', v);
      if ('issue' in r) issues.push(r.issue);
      else after = { kind: 'id', id: r.value };
    } else if (typeof v === 'string') {
      const position = decodeStreamCursor(v);
      if (position === undefined)
        issues.push({ field: 'after', message: 'must be a message id or an event cursor' });
      else after = { kind: 'position', position };
    } else {
      issues.push({
        field: 'after',
        message: `must be a message id or an event cursor, got ${describeType(v)}`,
      });
    }
  }
  if (issues.length > 0 || recipient.value === undefined) return { ok: false, issues };
  return {
    ok: true,
    value: {
      recipient: recipient.value,
      ...(sender !== undefined && { sender }),
      ...(after !== undefined && { after }),
    },
  };
}
