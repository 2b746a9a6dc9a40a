import { ErrorCode, MessengerError, ValidationError } from '@messenger/core';

/** Error codes that only the HTTP layer produces, on top of core's {@link ErrorCode}. */
export const HttpErrorCode = {
  badRequest: 'bad_request',
  methodNotAllowed: 'method_not_allowed',
  unsupportedMediaType: 'unsupported_media_type',
  payloadTooLarge: 'payload_too_large',
  internal: 'internal',
} as const;

/** The one error body of every 4xx and 5xx answer. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: Record<string, string[]>;
    request_id?: string;
  };
}

/** An answer decided by the HTTP layer itself (405, 415, …). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Status of each core error code: the single mapping from core errors to HTTP. */
const STATUS_OF: Record<string, number> = {
  [ErrorCode.validationFailed]: 400,
  [ErrorCode.notFound]: 404,
  [ErrorCode.conflict]: 409,
  [ErrorCode.idempotencyKeyReused]: 422,
  [ErrorCode.unavailable]: 503,
  [ErrorCode.databaseLocked]: 503,
};

/** Status by Fastify's own client errors (bad JSON, body too large, media type). */
const FASTIFY_CODE_OF: Record<number, string> = {
  400: HttpErrorCode.badRequest,
  404: ErrorCode.notFound,
  405: HttpErrorCode.methodNotAllowed,
  413: HttpErrorCode.payloadTooLarge,
  415: HttpErrorCode.unsupportedMediaType,
};

/** How a failed request is answered. */
export interface ErrorReply {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when this is our bug or an unknown failure: log it with its stack. */
  readonly unexpected: boolean;
}

/**
 * Maps any thrown value to the answer: core errors by code, the HTTP layer's own
 * errors, Fastify's client errors by status; anything else is a generic 500 whose
 * text never reaches the client.
 */
export function toErrorReply(err: unknown, requestId: string): ErrorReply {
  const reply = (
    status: number,
    code: string,
    message: string,
    extra: { fields?: Record<string, string[]>; headers?: Record<string, string> } = {},
  ): ErrorReply => ({
    status,
    body: {
      error: {
        code,
        message,
        ...(extra.fields && { fields: extra.fields }),
        request_id: requestId,
      },
    },
    headers: extra.headers ?? {},
    unexpected: false,
  });

  if (err instanceof ValidationError) {
    return reply(400, err.code, err.message, { fields: err.fields });
  }
  if (err instanceof MessengerError) {
    const status = STATUS_OF[err.code] ?? 500;
    return reply(status, err.code, status === 503 ? publicUnavailable(err) : err.message, {
      headers: status === 503 ? { 'retry-after': '1' } : {},
    });
  }
  if (err instanceof HttpError) {
    return reply(err.statusCode, err.code, err.message, { headers: err.headers });
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    typeof e.code === 'string' &&
    e.code.startsWith('FST_')
  ) {
    const code = FASTIFY_CODE_OF[e.statusCode] ?? HttpErrorCode.badRequest;
    return reply(e.statusCode, code, clientMessage(e.code, String(e.message)));
  }
  return {
    ...reply(
      500,
      HttpErrorCode.internal,
      'internal server error; the request id identifies it in the logs',
    ),
    unexpected: true,
  };
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
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json or application/x-www-form-urlencoded';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is too large: at most 16 KiB';
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
