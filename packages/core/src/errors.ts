/**
 * The error family of messenger. Every error that core throws on purpose is a
 * {@link MessengerError} with a stable `code`; entry points (HTTP server, CLI)
 * map these codes to statuses and exit codes in one place each.
 */

/** Stable error codes. They are part of the public contract and listed in the README. */
export const ErrorCode = {
  validationFailed: 'validation_failed',
  notFound: 'not_found',
  conflict: 'conflict',
  unavailable: 'unavailable',
  databaseLocked: 'database_locked',
  idempotencyKeyReused: 'idempotency_key_reused',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
} as const;

/** One of the stable {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error messenger throws on purpose. */
export class MessengerError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCodeValue;

  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One broken rule of one input field. */
export interface ValidationIssue {
  /** The input field, e.g. `message_content` or `is_read`. */
  readonly field: string;
  /** Human-readable rule that was broken, e.g. `at most 160 characters, got 161`. */
  readonly message: string;
}

/**
 * Input broke one or more rules. `message` names each field and rule,
 * e.g. `message_content: at most 160 characters, got 161`.
 */
export class ValidationError extends MessengerError {
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    super(ErrorCode.validationFailed, issues.map((i) => `${i.field}: ${i.message}`).join('; '));
    this.issues = issues;
  }

  /** The issues grouped by field: `{ message_content: ["at most 160 characters, got 161"] }`. */
  get fields(): Record<string, string[]> {
    // A Map, not `{}`: a field may be named `constructor`, `toString` or `__proto__`.
    const byField = new Map<string, string[]>();
    for (const issue of this.issues) {
      byField.set(issue.field, [...(byField.get(issue.field) ?? []), issue.message]);
    }
    return Object.fromEntries(byField);
  }
}

/** The thing asked for does not exist. */
export class NotFoundError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.notFound, message, options);
  }
}

/** The request conflicts with the current state (e.g. the same request is still in flight). */
export class ConflictError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.conflict, message, options);
  }
}

/**
 * The one message of every authentication failure. Whether the token was missing, malformed,
 * unknown, revoked or expired, or its user disabled, is never told: a caller probing tokens
 * learns nothing from the answer.
 */
export const UNAUTHENTICATED_MESSAGE =
  'authentication required: the token is missing, invalid, expired or revoked';

/**
 * The caller could not be authenticated (see {@link UNAUTHENTICATED_MESSAGE}). Its message is
 * always the same and it never carries the token.
 */
export class UnauthenticatedError extends MessengerError {
  constructor() {
    super(ErrorCode.unauthenticated, UNAUTHENTICATED_MESSAGE);
  }
}

/**
 * The caller is known but may not do this: send as someone else, mark someone else's mail read,
 * follow someone else's stream. `message` names the field and the rule, e.g.
 * `sender: you may only send as yourself (bob)`.
 */
export class ForbiddenError extends MessengerError {
  constructor(message: string) {
    super(ErrorCode.forbidden, message);
  }
}

/** An idempotency key was used again with a different request. */
export class IdempotencyKeyReusedError extends MessengerError {
  constructor(message: string) {
    super(ErrorCode.idempotencyKeyReused, message);
  }
}

/** The database cannot be reached or is not answering. Retrying later may succeed. */
export class UnavailableError extends MessengerError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCodeValue }) {
    super(options?.code ?? ErrorCode.unavailable, message, options);
  }
}

/** The embedded database directory is held by another process. */
export class DatabaseLockedError extends UnavailableError {
  /** Pid of the process holding the lock, when known. */
  readonly holderPid: number | undefined;

  constructor(message: string, holderPid: number | undefined) {
    super(message, { code: ErrorCode.databaseLocked });
    this.holderPid = holderPid;
  }
}
