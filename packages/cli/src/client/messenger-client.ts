import type {
  IssuedToken,
  ListOptions,
  MarkReadOptions,
  MarkReadResult,
  Message,
  MessagePage,
  MigrationReport,
  NewUser,
  StreamEvent,
  StreamOptions,
  TokenInfo,
  User,
} from '@messenger/core';

/** A message to send, as the user typed it (validated by core, directly or behind the server). */
export interface SendRequest {
  /**
   * Who sends it. Over HTTP in token mode it may be left out: the token's user sends (and
   * any other sender is refused). On the database directly it is required.
   */
  readonly sender?: string | undefined;
  readonly recipient: string;
  readonly message_content: string;
  /** Makes the send safe to repeat: the HTTP transport reuses it on its own retries. */
  readonly idempotencyKey?: string | undefined;
}

/** What `watch` follows; over HTTP in token mode `recipient` may be left out: the caller's mail. */
export type WatchRequest = Omit<StreamOptions, 'recipient'> & {
  readonly recipient?: string | undefined;
};

/** Options of a new token. */
export interface TokenRequest {
  /** What the token is for, shown in lists (1–100 characters). */
  readonly label?: string | undefined;
  /** When it stops working: an ISO-8601 date-time in the future. Default: never. */
  readonly expiresAt?: string | undefined;
}

/** The public part of a token, as a server tells its owner about it. */
export interface TokenSummary {
  readonly id: number;
  readonly label: string | null;
  readonly created_at: string;
  readonly expires_at: string | null;
}

/**
 * Who the client acts as. `token`: a server in token mode, and the user its token belongs
 * to; `open`: a server in open mode (no users: names are free text); `database`: direct
 * access, where the database's own credentials are the authority and there is no user.
 */
export type Identity =
  | { readonly auth: 'token'; readonly name: string; readonly token: TokenSummary }
  | { readonly auth: 'open'; readonly name: null }
  | { readonly auth: 'database'; readonly name: null };

/**
 * What every command talks to. Two transports implement it: direct (core on the
 * database) and HTTP (the server's API). Commands never know which one they hold.
 */
export interface MessengerClient {
  send(request: SendRequest): Promise<Message>;
  list(options: ListOptions): Promise<MessagePage>;
  markRead(options: MarkReadOptions): Promise<MarkReadResult>;
  /**
   * Calls `onEvent` for each new matching message (and read receipt) until `signal`
   * aborts, reconnecting by itself and resuming after the last message seen.
   */
  watch(
    options: WatchRequest,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Who this client acts as (over HTTP: the server's `GET /api/me`). */
  whoami(): Promise<Identity>;
  migrate(): Promise<MigrationReport>;
  /**
   * Operator operations: on the database directly only (over HTTP they throw a
   * `UsageError`). On an embedded database held by a running `msg serve`, they go through
   * its control socket (`<dataDir>/control.sock`). Secrets are in the answers of `addUser`
   * and `createToken` only.
   */
  addUser(name: string): Promise<NewUser>;
  listUsers(): Promise<User[]>;
  disableUser(name: string): Promise<User>;
  createToken(name: string, options?: TokenRequest): Promise<IssuedToken>;
  listTokens(name?: string): Promise<TokenInfo[]>;
  revokeToken(id: string | number): Promise<TokenInfo>;
  close(): Promise<void>;
}
