import { type Result, ValidationError, type ValidationIssue } from '@messenger/core';
import type { FastifyRequest } from 'fastify';

/** Decoded `name=value&…` pairs. A repeated name holds all its values, in order (core refuses those). */
export type UrlEncoded = Record<string, string | string[]>;

/**
 * Decodes `application/x-www-form-urlencoded` text — a query string or a form body — strictly:
 * `+` is a space, and a `%` that does not start a %-escape of UTF-8 is an issue naming the
 * field, never kept as literal text nor turned into U+FFFD. One pass over the pairs.
 */
export function decodeUrlEncoded(text: string): Result<UrlEncoded> {
  // No prototype: a parameter may be named `__proto__` or `constructor`.
  const fields: UrlEncoded = Object.create(null);
  const issues: ValidationIssue[] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const name = decodeComponent(rawName);
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
    if (name === undefined || value === undefined) {
      const [what, raw] = name === undefined ? ['name', rawName] : ['value', part.slice(eq + 1)];
      issues.push({
        field: name ?? rawName,
        message: `the ${what} ${shorten(raw)} is not valid URL encoding: a %-escape is malformed or not UTF-8 (write % as %25)`,
      });
      continue;
    }
    const before = fields[name];
    if (before === undefined) fields[name] = value;
    else if (Array.isArray(before)) before.push(value);
    else fields[name] = [before, value];
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: fields };
}

function decodeComponent(s: string): string | undefined {
  const plain = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plain.includes('%')) return plain;
  try {
    return decodeURIComponent(plain);
  } catch {
    return undefined;
  }
}

/** A raw component, quoted and cut short, to show in a message. */
function shorten(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/** Where a query string's issues wait until a route asks for its parameters. */
const QUERY_ISSUES = Symbol('query issues');

type ParsedQuery = UrlEncoded & { [QUERY_ISSUES]?: ValidationIssue[] };

/**
 * Fastify's query-string parser (`routerOptions.querystringParser`): {@link decodeUrlEncoded},
 * plus the `?`-joined check. The router calls it outside any error handling, so it never
 * throws: its issues are kept aside and thrown by {@link queryOf}, in the routes that read
 * parameters (a probe or a 404 does not fail on a query it ignores).
 */
export function parseQueryString(text: string): UrlEncoded {
  const decoded = decodeUrlEncoded(text);
  const issues = decoded.ok ? misjoinedParameters(text) : decoded.issues;
  if (issues.length === 0 && decoded.ok) return decoded.value;
  const query: ParsedQuery = decoded.ok ? decoded.value : Object.create(null);
  query[QUERY_ISSUES] = issues;
  return query;
}

/** The request's query parameters; a malformed query string is a `ValidationError` naming each field. */
export function queryOf(request: FastifyRequest): UrlEncoded {
  const query = request.query as ParsedQuery;
  const issues = query[QUERY_ISSUES];
  if (issues !== undefined) throw new ValidationError(issues);
  return query;
}

/**
 * The original README's own example `?sender=bob?recipient=alice` joins parameters with
 * `?`: the whole tail becomes the sender. Say so instead of listing nothing. Only a literal
 * `?` counts: an escaped one (`%3F`) is part of a value on purpose. Form bodies are not
 * checked: a message's text may well contain `?x=`.
 */
function misjoinedParameters(text: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const m = /\?([A-Za-z_]+)=/.exec(part.slice(eq + 1));
    if (m) {
      issues.push({
        field: decodeComponent(part.slice(0, eq)) ?? part.slice(0, eq),
        message: `contains "?${m[1]}=": query parameters are joined with "&", e.g. ?sender=bob&recipient=alice`,
      });
    }
  }
  return issues;
}
