import { STATUS_CODES } from 'node:http';
import { ErrorCode, type ErrorCodeValue, MessengerError, ValidationError } from '@messenger/core';
import { BODY_LIMIT, formatBytes, formatSeconds, REQUEST_TIMEOUT_MS } from './limits.js';

/** Error codes that only the HTTP layer produces, on top of core's {@link ErrorCode}. */
export const HttpErrorCode = {
  badRequest: 'bad_request',
  methodNotAllowed: 'method_not_allowed',
  requestTimeout: 'request_timeout',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  upgradeRequired: 'upgrade_required',
  headersTooLarge: 'headers_too_large',
  rateLimited: 'rate_limited',
  tooManyStreams: 'too_many_streams',
  wrongRole: 'wrong_role',
  internal: 'internal',
} as const;

/** One of the HTTP layer's own codes. */
export type HttpErrorCodeValue = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** Every code an error answer of the API (HTTP or a stream's error frame) can carry. */
export type ApiErrorCode = ErrorCodeValue | HttpErrorCodeValue;

/**
 * The HTTP status of each code: the one mapping from errors to statuses. Typed over every
 * code, so that a new code (in core or here) does not compile until it has a status.
 */
export const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = {
  [ErrorCode.validationFailed]: 400,
  [ErrorCode.notFound]: 404,
  [ErrorCode.conflict]: 409,
  [ErrorCode.idempotencyKeyReused]: 422,
  [ErrorCode.unavailable]: 503,
  [ErrorCode.databaseLocked]: 503,
  [ErrorCode.unauthenticated]: 401,
  [ErrorCode.forbidden]: 403,
  [HttpErrorCode.badRequest]: 400,
  [HttpErrorCode.methodNotAllowed]: 405,
  [HttpErrorCode.requestTimeout]: 408,
  [HttpErrorCode.payloadTooLarge]: 413,
  [HttpErrorCode.unsupportedMediaType]: 415,
  [HttpErrorCode.upgradeRequired]: 426,
  [HttpErrorCode.headersTooLarge]: 431,
  [HttpErrorCode.rateLimited]: 429,
  [HttpErrorCode.tooManyStreams]: 429,
  [HttpErrorCode.wrongRole]: 421,
  [HttpErrorCode.internal]: 500,
};

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750): without `error` when the request
 * carried no credentials, `invalid_token` when it carried some that do not work (whatever
 * the reason: the answer never says which).
 */
export const WWW_AUTHENTICATE = {
  noToken: 'Bearer realm="messenger"',
  invalidToken: 'Bearer realm="messenger", error="invalid_token"',
} as const;

/** The one error body of every 4xx and 5xx answer, and of a stream's error frame. */
export interface ErrorBody {
  error: {
    code: ApiErrorCode;
    message: string;
    fields?: Record<string, string[]>;
    request_id?: string;
  };
}

/** An answer decided by the HTTP layer itself (405, 415, 426, …); its status follows from its code. */
export class HttpError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = STATUS_OF[code];
  }
}

/** How a failed request is answered. */
export interface ErrorReply {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when this is our bug or an unknown failure: log it with its stack. */
  readonly unexpected: boolean;
}

/** Fastify's own client errors, by status; any other 4xx of Fastify's is a bad request. */
const FASTIFY_CODE_OF: Readonly<Record<number, ApiErrorCode>> = {
  404: ErrorCode.notFound,
  405: HttpErrorCode.methodNotAllowed,
  413: HttpErrorCode.payloadTooLarge,
  415: HttpErrorCode.unsupportedMediaType,
};

/**
 * Maps any thrown value to the answer, wherever it is thrown: core errors by code, the
 * HTTP layer's own errors, Fastify's client and framework errors (bad URL, bad JSON, body
 * too large, media type), bytes Node's HTTP parser refused; anything else is a generic
 * 500 whose text never reaches the client. The status always comes from {@link STATUS_OF}.
 */
export function toErrorReply(err: unknown, requestId: string): ErrorReply {
  const reply = (
    code: ApiErrorCode,
    message: string,
    extra: { fields?: Record<string, string[]>; headers?: Record<string, string> } = {},
  ): ErrorReply => {
    const status = STATUS_OF[code];
    return {
      status,
      body: {
        error: {
          code,
          message,
          ...(extra.fields && { fields: extra.fields }),
          request_id: requestId,
        },
      },
      headers: { ...(status === 503 && { 'retry-after': '1' }), ...extra.headers },
      unexpected: false,
    };
  };

  if (err instanceof ValidationError) {
    return reply(err.code, err.message, { fields: err.fields });
  }
  if (err instanceof MessengerError) {
    return reply(err.code, STATUS_OF[err.code] === 503 ? publicUnavailable(err) : err.message, {
      // Core's refusal of a token that was presented (RFC 6750); a request without one is
      // answered by the auth plugin itself.
      ...(err.code === ErrorCode.unauthenticated && {
        headers: { 'www-authenticate': WWW_AUTHENTICATE.invalidToken },
      }),
    });
  }
  if (err instanceof HttpError) {
    return reply(err.code, err.message, { headers: err.headers });
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  if (typeof e.code === 'string') {
    // Bytes that are not HTTP at all, refused by Node's parser (the clientError event).
    if (e.code === 'HPE_HEADER_OVERFLOW') {
      return reply(HttpErrorCode.headersTooLarge, 'request headers are too large');
    }
    if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      return reply(
        HttpErrorCode.requestTimeout,
        `the whole request did not arrive within ${formatSeconds(REQUEST_TIMEOUT_MS)}`,
      );
    }
    if (e.code.startsWith('HPE_')) {
      return reply(HttpErrorCode.badRequest, 'malformed HTTP request');
    }
    if (
      e.code.startsWith('FST_') &&
      typeof e.statusCode === 'number' &&
      e.statusCode >= 400 &&
      e.statusCode < 500
    ) {
      const code = FASTIFY_CODE_OF[e.statusCode] ?? HttpErrorCode.badRequest;
      return reply(code, clientMessage(e.code, String(e.message)));
    }
  }
  return {
    ...reply(
      HttpErrorCode.internal,
      'internal server error; the request id identifies it in the logs',
    ),
    unexpected: true,
  };
}

/** The least a logger must do for {@link errorReplyLogged}. */
interface ErrorLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * {@link toErrorReply}, logged as every answer path logs it: an unexpected error with its
 * stack, a 5xx as a warning. Never throws: if the mapping itself fails, the answer is the
 * generic 500.
 */
export function errorReplyLogged(err: unknown, requestId: string, log: ErrorLog): ErrorReply {
  let r: ErrorReply;
  try {
    r = toErrorReply(err, requestId);
  } catch (mappingError) {
    log.error({ err, mappingError }, 'error mapping failed');
    r = toErrorReply(undefined, requestId);
  }
  if (r.unexpected) log.error({ err }, 'unexpected error');
  else if (r.status >= 500) log.warn({ err }, r.body.error.message);
  return r;
}

/** A whole HTTP/1.1 answer in bytes, for a socket no response object owns (a malformed request). */
export function rawErrorAnswer(r: ErrorReply): string {
  const body = JSON.stringify(r.body);
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...(r.body.error.request_id !== undefined && { 'x-request-id': r.body.error.request_id }),
    ...r.headers,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}\r\n${lines.join('')}\r\n${body}`;
}

/** Where the database is stays in the logs; the client learns only that it is unavailable. */
function publicUnavailable(err: MessengerError): string {
  return err.code === ErrorCode.databaseLocked
    ? 'the database is held by another process; try again shortly'
    : 'the database is unavailable; try again shortly';
}

/** Fastify's messages, reworded to say what is wrong and how to fix it. */
function clientMessage(code: string, message: string): string {
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return 'the path is not valid URL encoding: a %-escape is malformed or not UTF-8 (write % as %25)';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json or application/x-www-form-urlencoded';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is too large: at most ${formatBytes(BODY_LIMIT)}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body is empty but Content-Type is application/json: send a JSON object';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Content-Length does not match the body';
    default:
      if (/JSON|Unexpected token|Unexpected end/i.test(message)) {
        return `body is not valid JSON: ${message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, 'parse error')}`;
      }
      return message;
  }
}
