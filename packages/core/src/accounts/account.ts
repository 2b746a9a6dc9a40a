/**
 * A person who may use the API in token mode. Times are ISO-8601 UTC strings with
 * microseconds, as everywhere in messenger.
 */
export interface User {
  readonly id: number;
  /** The registered spelling (strict name profile); matched case-insensitively everywhere. */
  readonly name: string;
  readonly created_at: string;
  /** When the user was disabled (every token of theirs then fails), or `null`. */
  readonly disabled_at: string | null;
}

/** What may be shown of a token: everything but the token itself (and its hash). */
export interface TokenInfo {
  /** The public handle of the token: lists show it, revocation takes it. */
  readonly id: number;
  /** The name of the token's user. */
  readonly user: string;
  readonly label: string | null;
  readonly created_at: string;
  /** Last successful authentication, to within a minute; `null` if never used. */
  readonly last_used_at: string | null;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  /** Whether the token authenticates now: not revoked, not expired, and its user not disabled. */
  readonly active: boolean;
}

/**
 * A token as issued, once: `token` is the secret (`msg_` and 43 URL-safe characters). It is
 * stored nowhere (only its SHA-256 is) and can never be shown again: hand it to its user.
 */
export interface IssuedToken extends TokenInfo {
  readonly token: string;
}

/** A new user and their first token (labelled `initial`). */
export interface NewUser {
  readonly user: User;
  readonly token: IssuedToken;
}

/**
 * Who a request comes from, as {@link Messenger.authenticate} established it. Pass it to
 * {@link Messenger.mailbox} for the caller-scoped operations; every mailbox operation checks
 * again that the token still authenticates (from a cache of at most 5 s, invalidated at once
 * when a revocation is announced).
 */
export interface Principal {
  readonly userId: number;
  /** The user's registered spelling. */
  readonly name: string;
  /** The token the caller authenticated with (its public id). */
  readonly tokenId: number;
}

/** Options of {@link Messenger.createToken}. */
export interface CreateTokenOptions {
  /** What the token is for (shown in lists): 1–100 characters, no control characters. */
  readonly label?: string | null | undefined;
  /** When the token stops working: a `Date` or an ISO-8601 string, in the future. Default: never. */
  readonly expiresAt?: Date | string | null | undefined;
}
