import type { ValidationIssue } from '../errors.js';
import { fail, ok, type Result } from '../result.js';
import { describeType } from './text.js';

/**
 * The given parameters of a query-like input, checked against the names allowed:
 * unknown names and repeated values (arrays, as query strings parse them) are
 * issues; `undefined`, `null` and empty strings mean "not given".
 */
export function collectParameters(
  input: unknown,
  allowed: readonly string[],
): { values: Record<string, unknown>; issues: ValidationIssue[] } {
  const given = input ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    return {
      values: {},
      issues: [{ field: 'query', message: `must be an object, got ${describeType(given)}` }],
    };
  }
  const issues: ValidationIssue[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!allowed.includes(key)) {
      issues.push({
        field: key,
        message: `unknown parameter; expected one of ${allowed.join(', ')}`,
      });
    } else if (Array.isArray(value)) {
      issues.push({ field: key, message: 'may be given only once' });
    } else if (value !== undefined && value !== null && value !== '') {
      values[key] = value;
    }
  }
  return { values, issues };
}

/** A request body must be a JSON object: the issue on `body` when it is not. */
export function bodyObject(input: unknown): Result<Record<string, unknown>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail('body', `must be an object, got ${describeType(input)}`);
  }
  return ok(input as Record<string, unknown>);
}
