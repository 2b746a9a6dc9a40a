import { STATUS_CODES } from 'node:http';
import type { ValidationIssue } from '@messenger/core';
import { RemoteError } from '../errors.js';
import { terminalSafe } from '../output.js';

/** An answer of the HTTP API that is not a success. */
export interface FailedReply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly location: string | undefined;
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

interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly fields: unknown;
  readonly requestId: unknown;
}

/**
 * Turns the API's error answer back into the error the direct transport would have
 * thrown (core's `ValidationError`, `UnavailableError`, …), so that the printed line
 * and exit code do not depend on the transport. Codes core does not have become a
 * {@link RemoteError} with the server's code and message. Core is loaded here, on the
 * error path only, to keep it out of a successful call's start-up time.
 */
export async function errorFromReply(reply: FailedReply, where: string): Promise<Error> {
  const body = readErrorBody(reply.text);
  if (body === undefined) {
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
  const core = await import('@messenger/core');
  const message = oneLine(body.message);
  switch (body.code) {
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
  const id =
    reply.status >= 500 && typeof body.requestId === 'string' && body.requestId !== ''
      ? ` (request id ${oneLine(body.requestId)})`
      : '';
  return new RemoteError(oneLine(body.code), `${message}${id}`, reply.status);
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

function readErrorBody(text: string): ErrorBody | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text from the network, made safe for one line of a terminal and kept short. */
function oneLine(text: string): string {
  const safe = terminalSafe(text).replace(/\s*[\n\t]\s*/g, ' ');
  return safe.length > 500 ? `${safe.slice(0, 500)}…` : safe;
}
