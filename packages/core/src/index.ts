export { type CursorPosition, decodeCursor, encodeCursor } from './cursor.js';
export type { Connection, Listener } from './database/connection.js';
export { describePostgresUrl, type PostgresPoolOptions } from './database/open-postgres.js';
export { MESSAGE_CHANNEL, type StreamEvent, type Subscription } from './delivery/hub.js';
export {
  decodeStreamCursor,
  encodeStreamCursor,
  type StreamPosition,
} from './delivery/stream-cursor.js';
export {
  ConflictError,
  DatabaseLockedError,
  ErrorCode,
  type ErrorCodeValue,
  IdempotencyKeyReusedError,
  MessengerError,
  NotFoundError,
  UnavailableError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export { requestHash, type SendOutcome } from './idempotency.repository.js';
export type { Message, MessagePage } from './message.js';
export {
  Messenger,
  type MessengerOptions,
  openMessenger,
  type SendMessageInput,
  type SendOptions,
} from './messenger.js';
export type { MigrationReport } from './migrate.js';
export { type MarkReadResult, READ_CHANNEL, type ReadReceipt } from './receipts.repository.js';
export type { Result } from './result.js';
export {
  DEFAULT_LIST_LIMIT,
  MAX_CONTENT_LENGTH,
  MAX_LIST_LIMIT,
  MAX_NAME_LENGTH,
} from './validation/limits.js';
export {
  LIST_PARAMETERS,
  type ListOptions,
  type ListQuery,
  validateListOptions,
} from './validation/list-query.js';
export {
  MAX_MARK_READ_IDS,
  type MarkReadOptions,
  type MarkReadQuery,
  validateMarkRead,
} from './validation/receipts-input.js';
export { checkIdempotencyKey, type SendInput, validateSendInput } from './validation/send-input.js';
export {
  STREAM_PARAMETERS,
  type StreamOptions,
  type StreamQuery,
  validateStreamOptions,
} from './validation/stream-options.js';
export { codePointLength } from './validation/text.js';
