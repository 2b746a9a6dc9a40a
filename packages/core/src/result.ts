import { ValidationError, type ValidationIssue } from './errors.js';

/**
 * Outcome of a validation: a value, or the issues that prevented it. Every validator in
 * core returns this shape; only the boundary (the `Messenger` methods) throws, as a
 * {@link ValidationError}.
 *
 * @example
 * const r = validateSendInput(body);
 * if (!r.ok) throw new ValidationError(r.issues);
 * r.value.message_content;
 */
export type Result<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** A successful {@link Result}. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** A failed {@link Result} with one issue on `field`. */
export function fail(field: string, message: string): { ok: false; issues: ValidationIssue[] } {
  return { ok: false, issues: [{ field, message }] };
}

/**
 * The value of a {@link Result}, or a {@link ValidationError} with its issues: how the
 * boundary (the `Messenger` methods, a mailbox) turns a result into an answer.
 */
export function orThrow<T>(r: Result<T>): T {
  if (!r.ok) throw new ValidationError(r.issues);
  return r.value;
}
