import { MAX_CONTENT_LENGTH, MAX_LIST_LIMIT, MAX_NAME_LENGTH } from '@messenger/core';

/**
 * JSON schemas of the routes. They document the API (OpenAPI) and serialize
 * responses fast; input is validated by core alone, so they never reject.
 */
export const messageSchema = {
  $id: 'Message',
  type: 'object',
  required: ['id', 'sender', 'recipient', 'message_content', 'sent_datetime', 'is_read', 'read_at'],
  properties: {
    id: { type: 'integer', description: 'Increasing identifier.' },
    sender: { type: 'string', maxLength: MAX_NAME_LENGTH },
    recipient: { type: 'string', maxLength: MAX_NAME_LENGTH },
    message_content: { type: 'string', maxLength: MAX_CONTENT_LENGTH },
    sent_datetime: {
      type: 'string',
      format: 'date-time',
      description: 'Set by the database; ISO-8601 UTC with microseconds.',
    },
    is_read: { type: 'boolean' },
    read_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: 'Stable machine-readable code, e.g. validation_failed (see the README).',
        },
        message: { type: 'string', description: 'Names the field and the rule that was broken.' },
        fields: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string' } },
        },
        request_id: { type: 'string' },
      },
    },
  },
} as const;

const error = (description: string) => ({ description, $ref: 'Error#' }) as const;

export const sendSchema = {
  summary: 'Send a message',
  description: `Stores a message of at most ${MAX_CONTENT_LENGTH} characters (Unicode code points) from a sender to a recipient. Text fields are trimmed; unknown keys are ignored.`,
  tags: ['messages'],
  body: {
    type: 'object',
    required: ['sender', 'recipient', 'message_content'],
    properties: {
      sender: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
      recipient: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
      message_content: { type: 'string', minLength: 1, maxLength: MAX_CONTENT_LENGTH },
    },
  },
  response: {
    201: { description: 'The stored message.', $ref: 'Message#' },
    400: error(
      'A field broke a rule (validation_failed) or the body is not valid JSON (bad_request).',
    ),
    413: error('The body is over 16 KiB (payload_too_large).'),
    415: error('The body is neither JSON nor form-encoded (unsupported_media_type).'),
    503: error('The database is unavailable; retry after Retry-After seconds.'),
  },
} as const;

export const listSchema = {
  summary: 'List messages, newest first',
  description:
    'One page of messages in the order (sent_datetime, id) descending. When there is a next page its cursor is in the X-Next-Cursor header and a Link header with rel="next". Query parameters are joined with &; unknown parameters are rejected.',
  tags: ['messages'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sender: { type: 'string', description: 'Case-insensitive exact match.' },
      recipient: { type: 'string', description: 'Case-insensitive exact match.' },
      is_read: {
        type: 'string',
        enum: ['true', 'false', '1', '0', 't', 'f'],
        description: 'Any case.',
      },
      since: {
        type: 'string',
        format: 'date-time',
        description: 'Inclusive; ISO-8601, UTC when no offset.',
      },
      until: {
        type: 'string',
        format: 'date-time',
        description: 'Exclusive; ISO-8601, UTC when no offset.',
      },
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: 100 },
      cursor: { type: 'string', description: 'From X-Next-Cursor of the previous page.' },
    },
  },
  response: {
    200: {
      description: 'Messages, newest first.',
      type: 'array',
      items: { $ref: 'Message#' },
    },
    400: error('A parameter is unknown, repeated or malformed (validation_failed).'),
    503: error('The database is unavailable; retry after Retry-After seconds.'),
  },
} as const;

const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

export const healthSchema = {
  summary: 'Liveness: the process is up',
  tags: ['health'],
  response: { 200: { description: 'The process is up.', ...statusSchema } },
} as const;

export const readySchema = {
  summary: 'Readiness: the database answers',
  tags: ['health'],
  response: {
    200: { description: 'The database answers.', ...statusSchema },
    503: error('The database does not answer (unavailable).'),
  },
} as const;
