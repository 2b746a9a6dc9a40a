import {
  DEFAULT_LIST_LIMIT,
  MARK_READ_BATCH,
  MAX_CONTENT_LENGTH,
  MAX_LIST_LIMIT,
  MAX_MARK_READ_IDS,
  MAX_MARK_READ_PER_REQUEST,
  MAX_NAME_LENGTH,
  MAX_SEARCH_LENGTH,
} from '@messenger/core';
import { BODY_LIMIT, DEFAULT_HEARTBEAT_MS, formatBytes, formatSeconds } from './limits.js';

/**
 * JSON schemas of the routes. They document the API (OpenAPI) and serialize
 * responses fast; input is validated by core alone, so they never reject. Every
 * limit comes from core's constants or the server's own, never a literal.
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
    highlight: {
      type: 'string',
      description:
        'Only in search results (with q): message_content with each match between U+E000 and U+E001 (private-use characters, never markup; any already in the text become U+FFFD). Escape the text for HTML first, then replace the two markers.',
    },
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

const unavailable = error(
  'The database is unavailable (unavailable); retry after Retry-After seconds.',
);

/** The refusal of a cross-site browser request (both modes), after what else `forbidden` means. */
const forbidden = (tokenMode: string) =>
  error(
    `${tokenMode} (token mode), or the request comes from a web page of another origin (Origin not allowed) (forbidden).`,
  );

/** `is_read` words core accepts, in any case. */
const BOOLEAN_WORDS = ['true', 'false', '1', '0', 't', 'f'] as const;

/** A pattern matching `words` in any case (JSON Schema patterns take no flags), spaces around allowed. */
function anyCase(words: readonly string[]): string {
  const letters = (w: string) =>
    [...w]
      .map((c) =>
        c.toLowerCase() === c.toUpperCase() ? c : `[${c.toLowerCase()}${c.toUpperCase()}]`,
      )
      .join('');
  return `^\\s*(?:${words.map(letters).join('|')})\\s*$`;
}

/** A message id as core takes it: a positive integer, or the same in decimal digits. */
const messageId = (description: string) =>
  ({
    description: `${description} A positive whole number, as a JSON number or a string of decimal digits (within PostgreSQL's bigint; beyond 2^53 only as a string).`,
    oneOf: [
      { type: 'integer', minimum: 1 },
      { type: 'string', pattern: '^\\s*[1-9][0-9]{0,18}\\s*$' },
    ],
  }) as const;

export const sendSchema = {
  summary: 'Send a message',
  description: `Stores a message of at most ${MAX_CONTENT_LENGTH} characters (Unicode code points) from a sender to a recipient. Text fields are trimmed; unknown keys are ignored. With an Idempotency-Key header the message is stored at most once: a repeat returns the first answer with Idempotent-Replayed: true. With read replicas the answer carries Messenger-Position (the WAL position after the commit): send it back with a read to see this message there.`,
  headers: {
    type: 'object',
    properties: {
      'idempotency-key': {
        type: 'string',
        description:
          '1–255 visible ASCII characters, unique per message (e.g. a UUID); kept 24 hours.',
      },
    },
  },
  tags: ['messages'],
  body: {
    type: 'object',
    required: ['recipient', 'message_content'],
    properties: {
      sender: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_NAME_LENGTH,
        description:
          'Token mode: optional, the caller (any other name is refused with 403). Open mode: required.',
      },
      recipient: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
      message_content: { type: 'string', minLength: 1, maxLength: MAX_CONTENT_LENGTH },
    },
  },
  response: {
    201: { description: 'The stored message.', $ref: 'Message#' },
    400: error(
      'A field broke a rule (validation_failed) or the body is not valid JSON (bad_request).',
    ),
    403: forbidden('The sender is not the caller'),
    413: error(`The body is over ${formatBytes(BODY_LIMIT)} (payload_too_large).`),
    409: error('A request with the same Idempotency-Key is still in progress (conflict).'),
    415: error('The body is neither JSON nor form-encoded (unsupported_media_type).'),
    422: error('The Idempotency-Key was used for a different message (idempotency_key_reused).'),
    503: unavailable,
  },
} as const;

export const listSchema = {
  summary: 'List messages, newest first',
  description:
    'One page of messages in the order (sent_datetime, id) descending; with q, only those whose text matches the search (and those the caller may list, as without it). When there is a next page its cursor is in the X-Next-Cursor header and a Link header with rel="next". Query parameters are joined with & (not ?), each at most once; unknown parameters and a %-escape that is malformed or not UTF-8 are rejected.',
  tags: ['messages'],
  headers: {
    type: 'object',
    properties: {
      'messenger-position': {
        type: 'string',
        description:
          'Read-your-writes: the Messenger-Position of a write. The page is read from a database that has replayed at least that far (a read replica, else the primary). A WAL position such as 0/16B3748; anything else is refused (validation_failed).',
      },
    },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sender: {
        type: 'string',
        maxLength: MAX_NAME_LENGTH,
        description: 'Case-insensitive exact match.',
      },
      recipient: {
        type: 'string',
        maxLength: MAX_NAME_LENGTH,
        description: 'Case-insensitive exact match.',
      },
      is_read: {
        type: 'string',
        pattern: anyCase(BOOLEAN_WORDS),
        description: `Read (true) or unread (false) messages only: one of ${BOOLEAN_WORDS.join(', ')}, in any case.`,
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
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_LIST_LIMIT,
        default: DEFAULT_LIST_LIMIT,
        description: `Page size, written in decimal digits: 1 to ${MAX_LIST_LIMIT}, default ${DEFAULT_LIST_LIMIT}.`,
      },
      cursor: { type: 'string', description: 'From X-Next-Cursor of the previous page.' },
      with: {
        type: 'string',
        maxLength: MAX_NAME_LENGTH,
        description: 'With sender or recipient: both directions of that two-person conversation.',
      },
      conversation: {
        type: 'string',
        description: 'Two names, a,b: both directions between them.',
      },
      q: {
        type: 'string',
        maxLength: MAX_SEARCH_LENGTH,
        description: `Full-text search of message_content, combinable with every other parameter, in web-search syntax: words (all must occur), "a phrase", a or b, -excluded. Case and accents are ignored (café = cafe, Straße = strasse), no stemming; the last word is a prefix (lunc finds lunch) unless the query ends with a quote or that word is excluded. Text without spaces (Chinese, Japanese) is one word per run, found by the run's beginning. 1 to ${MAX_SEARCH_LENGTH} characters with at least one word to find: empty, symbols or exclusions alone are a 400 naming q. Each message found carries highlight.`,
      },
      order: {
        type: 'string',
        enum: ['newest', 'relevance'],
        default: 'newest',
        description:
          'With q: newest first (default), or relevance — best match first (ts_rank, then id), with cursors of its own; it ranks every match, so it is slower for common words.',
      },
    },
  },
  response: {
    200: {
      description: 'Messages, newest first (or by relevance, with q and order=relevance).',
      type: 'array',
      items: { $ref: 'Message#' },
    },
    400: error('A parameter is unknown, repeated or malformed (validation_failed).'),
    503: unavailable,
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
    200: {
      description:
        'The database (the primary) answers. With read replicas, each one as of its last check: up (takes reads), lagging (further behind than MAX_REPLICA_LAG_MS), down or starting; reads go to the primary while none is up.',
      type: 'object',
      required: ['status'],
      properties: {
        status: { type: 'string' },
        replicas: {
          type: 'array',
          items: {
            type: 'object',
            required: ['where', 'state', 'lagMs', 'replayPosition', 'reads'],
            properties: {
              where: { type: 'string', description: 'host:port/database' },
              state: { type: 'string', enum: ['starting', 'up', 'lagging', 'down'] },
              lagMs: { type: 'number', nullable: true },
              replayPosition: { type: 'string', nullable: true },
              reads: { type: 'integer', description: 'Reads served since the process started.' },
              reason: { type: 'string' },
            },
          },
        },
      },
    },
    503: error('The database does not answer (unavailable).'),
  },
} as const;

export const markReadSchema = {
  summary: 'Mark messages read',
  description: `By ids ({"ids": [1, 2]}), or everything to a recipient, optionally up to and including an id ({"recipient": "alice", "up_to": 42}). Idempotent: read_at is set once; updated counts the messages that changed. Streams of the senders get a read event. By recipient it marks in batches of ${MARK_READ_BATCH}, each its own transaction, oldest first, at most ${MAX_MARK_READ_PER_REQUEST} per request (then more: true).`,
  tags: ['messages'],
  body: {
    type: 'object',
    properties: {
      ids: {
        type: 'array',
        items: messageId('A message id.'),
        minItems: 1,
        maxItems: MAX_MARK_READ_IDS,
        description: `1 to ${MAX_MARK_READ_IDS} message ids, each a JSON number or a string of decimal digits.`,
      },
      recipient: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
      up_to: messageId('With recipient: mark up to and including this id.'),
    },
  },
  response: {
    200: {
      description:
        'How many messages changed, and their ids. By recipient: more is true when this request stopped at its cap and unread messages up to up_to remain (ask again with the same recipient and up_to).',
      type: 'object',
      required: ['updated', 'ids', 'more'],
      properties: {
        updated: { type: 'integer' },
        ids: { type: 'array', items: { type: 'integer' } },
        more: { type: 'boolean' },
        up_to: {
          type: 'integer',
          description:
            'By recipient: the bound used — the given up_to, or the newest unread message when the request began (later ones stay unread).',
        },
      },
    },
    400: error(
      'The request names neither ids nor a recipient, or a value is malformed (validation_failed).',
    ),
    403: forbidden('The recipient is not the caller'),
    503: unavailable,
  },
} as const;

export const streamSchema = {
  summary: 'Live stream of new messages (WebSocket)',
  description: `Upgrade to a WebSocket. With after (a message id or an event cursor) every matching message after it is sent first, then each new one as it is committed, exactly once and in order. Events: {"type":"ready"}, {"type":"message","message":{...},"cursor":"..."}, {"type":"read","sender","recipient","ids","read_at"}. The server pings every ${formatSeconds(DEFAULT_HEARTBEAT_MS)} and closes clients that stop answering. Without the upgrade headers the answer is 426 Upgrade Required (upgrade_required). Errors after the upgrade come as one frame {"type":"error","error":{"code","message","fields","request_id"}} (the same body as an HTTP error), then the socket closes: 1008 for a bad request, 1013 when the database is unavailable (reconnect with backoff), 1011 for an internal error. At the end of its lifetime, and when the server shuts down, a stream gets {"type":"reconnect","after":"<cursor>"} and closes (4000, or 1001): reconnect with that after. Token mode: authenticate with Authorization: Bearer, or from a browser by offering the subprotocols "bearer, <token>" (answered with bearer); when the token is revoked or expires, or its user is disabled, the socket closes with 1008 "access revoked".`,
  tags: ['messages'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      recipient: {
        type: 'string',
        maxLength: MAX_NAME_LENGTH,
        description:
          'Whose messages to follow (case-insensitive). Token mode: optional, the caller (anyone else is refused with 403 before the upgrade). Open mode: required.',
      },
      sender: {
        type: 'string',
        maxLength: MAX_NAME_LENGTH,
        description: 'Only messages from this sender.',
      },
      after: { type: 'string', description: 'Resume after this message id or event cursor.' },
    },
  },
  response: {
    400: error('A parameter is missing, unknown or malformed (validation_failed).'),
    403: forbidden('The recipient is not the caller'),
    426: error('The request has no WebSocket upgrade headers (upgrade_required).'),
    429: error(
      'This address or user already has its maximum of open streams (too_many_streams); retry after Retry-After seconds.',
    ),
    503: error(
      'This server process has its maximum of open streams, or the database is unavailable (unavailable); retry after Retry-After seconds.',
    ),
  },
} as const;

export const meSchema = {
  summary: 'Who the caller is',
  description:
    'Token mode: the name of the token\'s user and the token\'s public details (never the token). Open mode (no authentication): {"name": null, "auth": "open"}.',
  tags: ['auth'],
  response: {
    200: {
      description: 'The caller, or that the server is open.',
      type: 'object',
      required: ['name', 'auth'],
      properties: {
        name: { type: ['string', 'null'], description: "The user's registered name." },
        auth: {
          type: 'string',
          enum: ['token', 'open'],
          description: 'How the server authenticates.',
        },
        token: {
          type: 'object',
          required: ['id', 'label', 'created_at', 'expires_at'],
          properties: {
            id: {
              type: 'integer',
              description: 'The public id (`msg tokens list`, `msg tokens revoke`).',
            },
            label: { type: ['string', 'null'] },
            created_at: { type: 'string', format: 'date-time' },
            expires_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
      },
    },
    503: unavailable,
  },
} as const;
