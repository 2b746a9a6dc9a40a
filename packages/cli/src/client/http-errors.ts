import { STATUS_CODES } from 'node:http';
import type { ValidationIssue } from '@messenger/core';
import { RemoteError } from '../errors.js';
import { terminalSafe } from '../terminal-safe.js';
import { parseRetryAfter } from './http-retry.js';

/** An answer of the HTTP API that is not a success. */
export interface FailedReply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly location: string | undefined;
  /** The `Retry-After` header, if any. */
  readonly retryAfter?: string | undefined;
  readonly text: string;
}

/** A request that got no answer. */
export interface TransportFailure {
  /** Node's or undici's error code, e.g. `ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`. */
  readonly code: string | undefined;
  readonly message: string;
  /** The call ran out of time (our deadline, or undici's headers/body timeout). */
  readonly timedOut: boolean;
}

/** The `error` member of the API's error body, and of a stream's error frame. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly fields: unknown;
  readonly requestId: unknown;
}

/**
 * Turns the API's error answer back into the error the direct transport would have
 * thrown (see {@link errorFromApiError}). An answer that is not the API's error body
 * (a proxy's HTML page, a redirect) is an `http_error` naming the status.
 */
export async function errorFromReply(reply: FailedReply, where: string): Promise<Error> {
  const body = readApiError(parseJson(reply.text));
  if (body !== undefined) return errorFromApiError(body, reply.status, reply.retryAfter);
  const reason = STATUS_CODES[reply.status] ?? 'unknown status';
  const what =
    reply.location !== undefined
      ? `redirect to ${oneLine(reply.location)}`
      : `${reply.contentType === undefined ? 'no content type' : oneLine(reply.contentType)}, not a messenger API error`;
  return new RemoteError(
    'http_error',
    `HTTP ${reply.status} ${reason} from ${where} (${what})`,
    reply.status,
  );
}

/**
 * The one mapping from a server's error back to the error the direct transport would
 * have thrown, by `code` and `fields`, for an HTTP answer, a stream's error frame and the
 * control socket alike (`status` is undefined for a frame): core's codes become core's
 * errors (`ValidationError`, `UnauthenticatedError`, `ForbiddenError`, `UnavailableError`,
 * …), so that the printed line and exit code do not depend on the transport; other codes a
 * {@link RemoteError} with the server's code and message — `rate_limited` with when to try
 * again, from `Retry-After`. Core is loaded here, on the error path only, to keep it out of
 * a successful call's start-up time.
 */
export async function errorFromApiError(
  body: ApiError,
  status: number | undefined,
  retryAfter?: string | undefined,
): Promise<Error> {
  const core = await import('@messenger/core');
  const message = oneLine(body.message);
  switch (body.code) {
    case core.ErrorCode.unauthenticated:
      return new core.UnauthenticatedError();
    case core.ErrorCode.forbidden:
      return new core.ForbiddenError(message);
    case 'rate_limited': {
      const wait = parseRetryAfter(retryAfter);
      const when =
        wait === undefined
          ? 'try again later'
          : `try again in ${Math.max(1, Math.ceil(wait / 1000))} s`;
      return new RemoteError('rate_limited', `${message} (${when})`, status);
    }
    case core.ErrorCode.validationFailed: {
      const issues = issuesOf(body.fields);
      if (issues.length > 0) return new core.ValidationError(issues);
      break;
    }
    case core.ErrorCode.notFound:
      return new core.NotFoundError(message);
    case core.ErrorCode.conflict:
      return new core.ConflictError(message);
    case core.ErrorCode.unavailable:
      return new core.UnavailableError(message);
    case core.ErrorCode.databaseLocked:
      return new core.DatabaseLockedError(message, undefined);
  }
  // The request id lets an operator find the server's log line of an internal error.
  const serverFault = status === undefined ? body.code === 'internal' : status >= 500;
  const id =
    serverFault && typeof body.requestId === 'string' && body.requestId !== ''
      ? ` (request id ${oneLine(body.requestId)})`
      : '';
  return new RemoteError(oneLine(body.code), `${message}${id}`, status);
}

/** The `error` of `{"error": {"code", "message", …}}`, or undefined when `value` is not that. */
export function readApiError(value: unknown): ApiError | undefined {
  const error = isRecord(value) ? value.error : undefined;
  if (!isRecord(error) || typeof error.code !== 'string' || typeof error.message !== 'string') {
    return undefined;
  }
  return {
    code: error.code,
    message: error.message,
    fields: error.fields,
    requestId: error.request_id,
  };
}

/**
 * The error of a call that got no answer: `cannot reach http://…/: connection refused`.
 * Always core's `UnavailableError`, as for a database that cannot be reached.
 */
export async function errorFromFailure(
  failure: TransportFailure,
  baseUrl: string,
  limits: { readonly connectTimeoutMs: number; readonly requestTimeoutMs: number },
  attempts: number,
): Promise<Error> {
  const { UnavailableError } = await import('@messenger/core');
  const tries = attempts > 1 ? ` (tried ${attempts} times)` : '';
  if (failure.timedOut) {
    return new UnavailableError(
      `no answer from ${baseUrl} within ${limits.requestTimeoutMs} ms${tries}`,
    );
  }
  const reason = reasonOf(failure, limits.connectTimeoutMs);
  return new UnavailableError(`cannot reach ${baseUrl}: ${reason}${tries}`);
}

function reasonOf(failure: TransportFailure, connectTimeoutMs: number): string {
  switch (failure.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'host name lookup failed, try again later';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `no connection within ${connectTimeoutMs} ms`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer came';
    default:
      return oneLine(
        failure.code === undefined ? failure.message : `${failure.message} (${failure.code})`,
      );
  }
}

/** The JSON value of `text`, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `{ field: ["rule", …] }` back into core's issues, in the server's order. */
function issuesOf(fields: unknown): ValidationIssue[] {
  if (!isRecord(fields)) return [];
  const issues: ValidationIssue[] = [];
  for (const [field, rules] of Object.entries(fields)) {
    for (const rule of Array.isArray(rules) ? rules : [rules]) {
      if (typeof rule === 'string') issues.push({ field: oneLine(field), message: oneLine(rule) });
    }
  }
  return issues;
}

/** A plain JSON object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text from the network, made safe for one line of a terminal and kept short. */
function oneLine(text: string): string {
  const safe = terminalSafe(text).replace(/\s*[\n\t]\s*/g, ' ');
  return safe.length > 500 ? `${safe.slice(0, 500)}…` : safe;
}
