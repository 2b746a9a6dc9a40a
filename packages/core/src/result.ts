import type { ValidationIssue } from './errors.js';

/** Outcome of a validation: a value, or the issues that prevented it. */
export type Result<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };
