import type { ValidationIssue } from '../errors.js';
import type { Result } from '../result.js';
import { MAX_CONTENT_LENGTH, MAX_NAME_LENGTH } from './limits.js';
import { bodyObject } from './parameters.js';
import { checkText } from './text.js';

/** A message to send, after validation: trimmed and within every limit. */
export interface SendInput {
  readonly sender: string;
  readonly recipient: string;
  readonly message_content: string;
}

/**
 * Validates a message to send. Unknown keys are ignored (as the original service
 * did); `sender`, `recipient` and `message_content` are required strings.
 *
 * @example
 * const r = validateSendInput({ sender: 'bob', recipient: 'alice', message_content: ' hi ' });
 * if (r.ok) r.value.message_content; // 'hi'
 */
export function validateSendInput(input: unknown): Result<SendInput> {
  const body = bodyObject(input);
  if (body.issue) return { ok: false, issues: [body.issue] };
  const raw = body.value;
  const issues: ValidationIssue[] = [];
  const sender = checkText('sender', raw.sender, { max: MAX_NAME_LENGTH, allowControl: false });
  const recipient = checkText('recipient', raw.recipient, {
    max: MAX_NAME_LENGTH,
    allowControl: false,
  });
  const content = checkText('message_content', raw.message_content, {
    max: MAX_CONTENT_LENGTH,
    allowControl: true,
  });
  for (const r of [sender, recipient, content]) if (r.issue) issues.push(r.issue);
  if (sender.value === undefined || recipient.value === undefined || content.value === undefined) {
    return { ok: false, issues };
  }
  return {
    ok: true,
    value: { sender: sender.value, recipient: recipient.value, message_content: content.value },
  };
}

/**
 * Checks an idempotency key: 1–255 visible ASCII characters (as in an HTTP header).
 */
export function checkIdempotencyKey(
  raw: unknown,
): { value: string; issue?: undefined } | { value?: undefined; issue: ValidationIssue } {
  if (typeof raw !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(raw)) {
    return {
      issue: {
        field: 'idempotency_key',
        message: 'must be 1 to 255 visible ASCII characters (e.g. a UUID)',
      },
    };
  }
  return { value: raw };
}
