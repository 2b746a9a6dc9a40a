import { checkName, type NameProfile } from '../accounts/name-profile.js';
import type { ValidationIssue } from '../errors.js';
import { fail, ok, type Result } from '../result.js';
import { MAX_CONTENT_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from './limits.js';
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
 * did); `sender`, `recipient` and `message_content` are required strings. Names follow
 * the `names` profile (see {@link NameProfile}; `open` unless told).
 *
 * @example
 * const r = validateSendInput({ sender: 'bob', recipient: 'alice', message_content: ' hi ' });
 * if (r.ok) r.value.message_content; // 'hi'
 */
export function validateSendInput(input: unknown, names: NameProfile = 'open'): Result<SendInput> {
  const body = bodyObject(input);
  if (!body.ok) return body;
  const raw = body.value;
  const sender = checkName('sender', raw.sender, names);
  const recipient = checkName('recipient', raw.recipient, names);
  const content = checkText('message_content', raw.message_content, MAX_CONTENT_LENGTH);
  if (!sender.ok || !recipient.ok || !content.ok) {
    const issues: ValidationIssue[] = [];
    for (const r of [sender, recipient, content]) if (!r.ok) issues.push(...r.issues);
    return { ok: false, issues };
  }
  return ok({ sender: sender.value, recipient: recipient.value, message_content: content.value });
}

/** A send as validated: the message, and its idempotency key when one was given. */
export interface Submission {
  readonly input: SendInput;
  readonly idempotencyKey: string | undefined;
}

/**
 * Validates a send and its optional idempotency key at once, so that every broken rule of
 * both is told in one answer.
 *
 * @example
 * validateSubmission({ sender: 'bob', recipient: 'alice', message_content: 'hi' }, crypto.randomUUID());
 */
export function validateSubmission(
  input: unknown,
  idempotencyKey: unknown,
  names: NameProfile = 'open',
): Result<Submission> {
  const r = validateSendInput(input, names);
  const key = idempotencyKey === undefined ? undefined : checkIdempotencyKey(idempotencyKey);
  if (!r.ok || key?.ok === false) {
    return {
      ok: false,
      issues: [...(r.ok ? [] : r.issues), ...(key?.ok === false ? key.issues : [])],
    };
  }
  return ok({ input: r.value, idempotencyKey: key?.value });
}

const IDEMPOTENCY_KEY = new RegExp(`^[\\x21-\\x7e]{1,${MAX_IDEMPOTENCY_KEY_LENGTH}}$`);

/**
 * Checks an idempotency key: 1–255 visible ASCII characters (as in an HTTP header).
 *
 * @example
 * checkIdempotencyKey(crypto.randomUUID()); // { ok: true, value: '…' }
 */
export function checkIdempotencyKey(raw: unknown): Result<string> {
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
    return fail(
      'idempotency_key',
      `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (e.g. a UUID)`,
    );
  }
  return ok(raw);
}
