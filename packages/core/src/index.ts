export { type CursorPosition, decodeCursor, encodeCursor } from './cursor.js';
export type { Connection } from './database/connection.js';
export { describePostgresUrl, type PostgresPoolOptions } from './database/open-postgres.js';
export {
  ConflictError,
  DatabaseLockedError,
  ErrorCode,
  type ErrorCodeValue,
  MessengerError,
  NotFoundError,
  UnavailableError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export type { Message, MessagePage } from './message.js';
export {
  Messenger,
  type MessengerOptions,
  openMessenger,
  type SendMessageInput,
} from './messenger.js';
export type { MigrationReport } from './migrate.js';
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
export { type SendInput, validateSendInput } from './validation/send-input.js';
export { codePointLength } from './validation/text.js';
