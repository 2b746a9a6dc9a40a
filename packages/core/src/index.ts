export type {
  CreateTokenOptions,
  IssuedToken,
  NewUser,
  Principal,
  TokenInfo,
  User,
} from './accounts/account.js';
export {
  MAX_TOKEN_LABEL_LENGTH,
  parseTokenId,
  type TokenOptions,
  validateTokenOptions,
  validateUserName,
} from './accounts/accounts-input.js';
export {
  Mailbox,
  type MailboxSendInput,
  type MailboxSendOptions,
  type MailboxStreamOptions,
  type MailboxSubscribeOptions,
} from './accounts/mailbox.js';
export { checkName, type NameProfile } from './accounts/name-profile.js';
export { TOKEN_PATTERN } from './accounts/token.js';
export type { CursorPosition } from './cursor.js';
export type { EmbeddedOptions } from './database/open-pglite.js';
export type { PostgresOptions } from './database/open-postgres.js';
export type { StreamEvent, Subscription } from './delivery/hub.js';
export type { StreamPosition } from './delivery/stream-cursor.js';
export {
  ConflictError,
  DatabaseLockedError,
  ErrorCode,
  type ErrorCodeValue,
  ForbiddenError,
  IdempotencyKeyReusedError,
  MessengerError,
  NotFoundError,
  UNAUTHENTICATED_MESSAGE,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export type { PruneOptions, SendOutcome } from './idempotency.repository.js';
export type { Message, MessagePage } from './message.js';
export {
  embeddedDataDirectory,
  Messenger,
  type MessengerOptions,
  openMessenger,
  type SendMessageInput,
  type SendOptions,
  type SubscribeOptions,
} from './messenger.js';
export type { MigrationReport } from './migrate.js';
export {
  MARK_READ_BATCH,
  MAX_MARK_READ_PER_REQUEST,
  type MarkReadResult,
  type ReadReceipt,
} from './receipts.repository.js';
export type { ReadOptions } from './replication/read-options.js';
export type { ReplicaStatus, ReplicationOptions } from './replication/replica-set.js';
export { formatWalPosition, parseWalPosition } from './replication/wal-position.js';
export type { Result } from './result.js';
export { HIGHLIGHT_END, HIGHLIGHT_START, highlight } from './search/highlight.js';
export type { RankPosition } from './search/relevance-cursor.js';
export {
  foldForSearch,
  MAX_SEARCH_LENGTH,
  parseSearch,
  type SearchQuery,
} from './search/search-query.js';
export { describeValue, MAX_DESCRIBED_LENGTH } from './validation/describe-value.js';
export {
  DEFAULT_LIST_LIMIT,
  MAX_CONTENT_LENGTH,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_LIST_LIMIT,
  MAX_MARK_READ_IDS,
  MAX_NAME_LENGTH,
} from './validation/limits.js';
export {
  LIST_PARAMETERS,
  type ListOptions,
  type ListQuery,
  validateListOptions,
} from './validation/list-query.js';
export {
  type MarkReadOptions,
  type MarkReadQuery,
  validateMarkRead,
} from './validation/receipts-input.js';
export {
  checkIdempotencyKey,
  type SendInput,
  type Submission,
  validateSendInput,
  validateSubmission,
} from './validation/send-input.js';
export {
  STREAM_PARAMETERS,
  type StreamOptions,
  type StreamQuery,
  validateStreamOptions,
} from './validation/stream-options.js';
export { codePointLength } from './validation/text.js';
