import { resolve } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { abortable } from './abortable.js';
import type {
  CreateTokenOptions,
  IssuedToken,
  NewUser,
  Principal,
  TokenInfo,
  User,
} from './accounts/account.js';
import { Accounts } from './accounts/accounts.js';
import { Mailbox, type MailboxPorts } from './accounts/mailbox.js';
import type { Connection } from './database/connection.js';
import { isDeadConnection, isRefusal, toMessengerError } from './database/database-errors.js';
import { NotificationBus } from './database/notification-bus.js';
import { type EmbeddedOptions, openPglite } from './database/open-pglite.js';
import { openPostgres, type PostgresOptions } from './database/open-postgres.js';
import type { Runner } from './database/runner.js';
import { positionOf } from './delivery/delivery.repository.js';
import { DeliveryHub, type StreamEvent, type Subscription } from './delivery/hub.js';
import type { StreamPosition } from './delivery/stream-cursor.js';
import { ValidationError } from './errors.js';
import {
  insertIdempotent,
  type PruneOptions,
  pruneIdempotencyKeys,
  pruneIdempotencyKeysExclusive,
  type SendOutcome,
} from './idempotency.repository.js';
import type { Message, MessagePage } from './message.js';
import { insertMessage, insertMessages, listMessages } from './message.repository.js';
import type { Database } from './message.table.js';
import { type MigrationReport, migrateToLatest } from './migrate.js';
import { type MarkReadResult, markRead } from './receipts.repository.js';
import { type ReadOptions, readPosition } from './replication/read-options.js';
import {
  ReplicaSet,
  type ReplicaStatus,
  type ReplicationOptions,
} from './replication/replica-set.js';
import { orThrow } from './result.js';
import { type ListOptions, validateListOptions } from './validation/list-query.js';
import { type MarkReadOptions, validateMarkRead } from './validation/receipts-input.js';
import { type SendInput, validateSubmission } from './validation/send-input.js';
import {
  type StreamOptions,
  type StreamQuery,
  validateStreamOptions,
} from './validation/stream-options.js';
import { GroupCommit } from './write/group-commit.js';

/**
 * Most plain sends written in one statement. Large enough that a batch's fixed costs vanish
 * per row at any load one process can bring (a few hundred sends in flight), small enough that
 * a batch stays one short statement.
 */
const MAX_SEND_BATCH = 256;

/**
 * Where the data lives and how to reach it. `databaseUrl` picks the backend; the settings of
 * the other backend are ignored, so one options object can serve both (a server that does not
 * know in advance which one its URL names).
 *
 * @example
 * await openMessenger({ databaseUrl: 'postgres://db/messenger', postgres: { maxConnections: 20 } });
 * await openMessenger({ databaseUrl: './data', embedded: { lockTimeoutMs: 2000, purpose: 'nightly import' } });
 */
export interface MessengerOptions {
  /**
   * `postgres://…` or `postgresql://…` uses a PostgreSQL server through `pg`.
   * A directory path (or `file://` URL) uses the embedded PGlite database in that directory.
   * Omitted (or `memory://`): an embedded database in memory, gone on close.
   */
  readonly databaseUrl?: string | undefined;
  /**
   * Run the bundled migrations on open. Default: `true` for the embedded database,
   * `false` for PostgreSQL (run {@link Messenger.migrate} or `msg db migrate` once instead).
   */
  readonly migrate?: boolean | undefined;
  /**
   * Errors of background work that no caller awaits (live delivery polling, a lost LISTEN
   * connection). Delivery retries by itself; this is for logging. Default: ignored.
   */
  readonly onBackgroundError?: ((err: unknown) => void) | undefined;
  /**
   * Read replicas: `postgres://…` URLs of streaming standbys of `databaseUrl` (which must be
   * PostgreSQL). Lists go to a replica that is up and close enough behind (see
   * {@link ReplicationOptions}), else to the primary; writes, migrations, LISTEN and stream
   * catch-up stay on the primary. Each replica gets a pool sized like the primary's.
   * Default: none, every read on the primary.
   */
  readonly readUrls?: readonly string[] | undefined;
  /** How reads use `readUrls`: lag limit, read-your-writes wait, check interval. */
  readonly replication?: ReplicationOptions | undefined;
  /** PostgreSQL settings: pool size and timeouts. Used only with a `postgres://` URL. */
  readonly postgres?: PostgresOptions | undefined;
  /** Embedded database settings: directory lock. Used only without a `postgres://` URL. */
  readonly embedded?: EmbeddedOptions | undefined;
}

/** Options of a send. */
export interface SendOptions {
  /**
   * Makes the send idempotent: 1–255 visible ASCII characters, unique per intended
   * message (e.g. a UUID). Kept at least 24 hours.
   */
  readonly idempotencyKey?: string | undefined;
}

/**
 * A message to send. Text fields are trimmed; unknown keys are ignored. The type says what a
 * well-behaved caller passes; {@link Messenger.send} still checks every value at run time, since
 * JavaScript callers and HTTP bodies can hold anything.
 */
export interface SendMessageInput {
  sender: string;
  recipient: string;
  message_content: string;
}

/** Options of {@link Messenger.subscribe}. */
export interface SubscribeOptions {
  /**
   * Ends the subscription when aborted, at any time. During catch-up (with `after`) it stops
   * paging at once (on PostgreSQL the running query is cancelled) and `subscribe` rejects with
   * the signal's reason (an `AbortError` unless another reason was given).
   */
  readonly signal?: AbortSignal | undefined;
}

/**
 * An open messenger. Make one with {@link openMessenger} and {@link Messenger.close} it when
 * done. Two doors:
 * - unscoped (`send`, `list`, `markRead`, `subscribe`): whoever holds the database holds
 *   every mailbox — open mode, the direct-database CLI, trusted programs;
 * - scoped: {@link Messenger.authenticate} a bearer token, then act as that user only through
 *   {@link Messenger.mailbox}. Users and tokens are managed with {@link Messenger.addUser},
 *   {@link Messenger.createToken} and the methods beside them.
 */
export class Messenger {
  readonly #conn: Connection;
  readonly #onBackgroundError: (err: unknown) => void;
  /** The one LISTEN connection of this messenger, shared by live delivery and accounts. */
  readonly #bus: NotificationBus;
  readonly #run: Runner;
  /** Plain (unkeyed) sends: concurrent ones share one statement (see {@link GroupCommit}). */
  readonly #sends: GroupCommit<SendInput, Message>;
  #hub: DeliveryHub | undefined;
  #accounts: Accounts | undefined;
  #mailboxPorts: MailboxPorts | undefined;
  readonly #replicas: ReplicaSet | undefined;

  /** @internal Use {@link openMessenger}. */
  constructor(
    conn: Connection,
    onBackgroundError: (err: unknown) => void = () => {},
    replicas?: ReplicaSet,
  ) {
    this.#conn = conn;
    this.#onBackgroundError = onBackgroundError;
    this.#replicas = replicas;
    this.#bus = new NotificationBus(conn, onBackgroundError);
    this.#run = {
      retrySafe: (fn) => this.#retrySafe(() => fn(this.#conn.db)),
      read: (fn, position) => this.#read(fn, position),
      once: (fn) => this.#once(() => fn(this.#conn.db)),
      backgroundError: (err) => this.#onBackgroundError(err),
    };
    this.#sends = new GroupCommit({
      writeBatch: (inputs) => insertMessages(this.#conn.db, inputs),
      writeOne: (input) => insertMessage(this.#conn.db, input),
      isRefusal,
      maxBatch: MAX_SEND_BATCH,
    });
  }

  /** `postgres` or `pglite`. */
  get engine(): 'postgres' | 'pglite' {
    return this.#conn.engine;
  }

  /** Where the database is (`host:port/db`, a directory, or `memory`), without credentials. */
  get where(): string {
    return this.#conn.where;
  }

  /**
   * Validates and stores a message. `input` is checked at run time whatever its static type
   * (extra keys are ignored, wrong types are issues), so untrusted bodies may be passed as they are.
   * @throws {ValidationError} naming each bad field, e.g. `message_content: at most 160 characters, got 161`.
   * @throws {UnavailableError} when the database cannot be reached.
   * @example
   * const m = await messenger.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
   * console.log(m.id, m.sent_datetime);
   */
  async send(input: SendMessageInput, options: SendOptions = {}): Promise<Message> {
    return (await this.submit(input, options)).message;
  }

  /**
   * Like {@link Messenger.send}, and tells whether the answer is a replay. With an
   * `idempotencyKey`, the message is stored at most once however often the same
   * request is repeated (from any process): a repeat returns the first message with
   * `replayed: true`.
   * @throws {ConflictError} while another request with the same key is in progress.
   * @throws {IdempotencyKeyReusedError} when the key was used for a different message.
   * @example
   * const { message, replayed } = await messenger.submit(input, { idempotencyKey: crypto.randomUUID() });
   */
  async submit(input: SendMessageInput, options: SendOptions = {}): Promise<SendOutcome> {
    const { input: valid, idempotencyKey } = orThrow(
      validateSubmission(input, options.idempotencyKey),
    );
    return this.#store(valid, idempotencyKey);
  }

  /**
   * Stores a validated message: the one insertion path of every send, unscoped or through a
   * {@link Mailbox}.
   */
  #store(value: SendInput, key: string | undefined): Promise<SendOutcome> {
    if (key === undefined) {
      // Group commit: concurrent plain sends share one insert statement, invisibly to callers.
      return this.#once(async () => ({ message: await this.#sends.write(value), replayed: false }));
    }
    // Keyed sends take their own transaction, one per key, as before: each holds its key's
    // advisory lock, reads the key and may answer a replay, a conflict or a reuse error. In a
    // shared batch one key's error would roll back its neighbours' rows (or need a savepoint
    // per key, losing what batching saves), and every key's lock would be held until the
    // slowest of the batch commits, turning concurrent retries into needless conflicts.
    // A repeat after a dead connection replays or stores once, never twice.
    return this.#retrySafe(() => insertIdempotent(this.#conn.db, value, key));
  }

  /**
   * Deletes idempotency keys older than `olderThanMs` (never less than 24 hours), in batches
   * of `batchSize` (default 5000) rows, each its own short statement; `maxBatches` bounds the
   * work. On PostgreSQL one process at a time prunes (an advisory lock): while another does,
   * this returns 0 at once. Servers call it at start and every 15 minutes; the
   * direct-database `msg` now and then. Returns how many were deleted.
   * @example
   * await messenger.pruneIdempotencyKeys({ maxBatches: 5 });
   */
  async pruneIdempotencyKeys(options: PruneOptions = {}): Promise<number> {
    const db = this.#conn.db;
    // The embedded database has one process and one connection: no lock, and each batch
    // takes its turn with other work instead of holding the connection for the whole run.
    if (this.#conn.engine === 'pglite') return this.#once(() => pruneIdempotencyKeys(db, options));
    return (await this.#once(() => pruneIdempotencyKeysExclusive(db, options))) ?? 0;
  }

  /**
   * Lists messages newest first, one page at a time. Pass `nextCursor` back as
   * `cursor` for the next page; it is `null` on the last page. With read replicas (`readUrls`)
   * the page may come from one; `read.position` (see {@link Messenger.position}) makes sure it
   * comes from a database that has replayed that far.
   * @throws {ValidationError} for unknown options or unparseable values (or `position`).
   * @example
   * let page = await messenger.list({ recipient: 'alice', is_read: false, limit: 50 });
   * while (page.nextCursor) page = await messenger.list({ recipient: 'alice', cursor: page.nextCursor });
   * // Full-text search is a filter like the others; each message found has a `highlight`.
   * const found = await messenger.list({ q: 'lunch -pizza', recipient: 'alice' });
   */
  async list(options: ListOptions = {}, read: ReadOptions = {}): Promise<MessagePage> {
    const position = orThrow(readPosition(read));
    const r = validateListOptions(options);
    if (!r.ok) throw new ValidationError(r.issues);
    return this.#read((db) => listMessages(db, r.value), position);
  }

  /**
   * The primary's WAL position now (`pg_current_wal_lsn()`): called after a write has
   * committed, it is at or past that write, and a read given it as `position` sees the write.
   * `undefined` without read replicas (every read is on the primary and sees every write).
   * @example
   * await messenger.send(input);
   * const position = await messenger.position();
   * await messenger.list({ recipient: 'alice' }, { position }); // has the message just sent
   */
  async position(): Promise<string | undefined> {
    if (this.#replicas === undefined) return undefined;
    return this.#retrySafe(async () => {
      const { rows } = await sql<{
        lsn: string;
      }>`select pg_current_wal_lsn()::text as lsn`.execute(this.#conn.db);
      return rows[0]?.lsn;
    });
  }

  /** Each read replica's state, lag and replay position (none without `readUrls`). */
  replicas(): ReplicaStatus[] {
    return this.#replicas?.status() ?? [];
  }

  /**
   * Marks messages read, by `ids` or everything to `recipient` (up to id `up_to`).
   * Idempotent: `read_at` is set once, and a repeat reports `updated: 0`. Streams
   * of the senders (and of the reader) get a `read` event.
   * @example
   * await messenger.markRead({ recipient: 'alice', up_to: 42 });
   * await messenger.markRead({ ids: [7, 9] });
   */
  async markRead(options: MarkReadOptions): Promise<MarkReadResult> {
    const r = validateMarkRead(options);
    if (!r.ok) throw new ValidationError(r.issues);
    return this.#retrySafe(() => markRead(this.#conn.db, r.value));
  }

  /**
   * Follows new messages to `recipient` (optionally only from `sender`), calling
   * `onEvent` for each as soon as it is committed, exactly once and in order. With
   * `after` (a message id or an event's `cursor`), every matching message after that
   * point comes first; the promise resolves once they have been handed over. Also
   * delivers `read` events for messages this recipient sent. With `options.signal`, the
   * subscription can be cancelled from the start, catch-up included (see
   * {@link SubscribeOptions}).
   * @throws {ValidationError} for bad options or an `after` id that does not exist.
   * @throws {UnavailableError} when the database cannot be reached or live delivery cannot listen.
   * @example
   * const stop = new AbortController();
   * const sub = await messenger.subscribe({ recipient: 'alice', after: lastSeenId }, (e) => {
   *   if (e.type === 'message') console.log(e.message.sender, e.message.message_content);
   * }, { signal: stop.signal });
   * // later: sub.close() or stop.abort()
   */
  async subscribe(
    options: StreamOptions,
    onEvent: (event: StreamEvent) => void,
    { signal }: SubscribeOptions = {},
  ): Promise<Subscription> {
    const r = validateStreamOptions(options);
    if (!r.ok) throw new ValidationError(r.issues);
    return this.#follow(r.value, onEvent, signal);
  }

  /**
   * Checks stream options as {@link Messenger.subscribe} would, without subscribing (an
   * `after` id is looked up only by `subscribe`): a server calls it before upgrading a
   * connection, so that bad options are a plain HTTP answer.
   * @throws {ValidationError} for bad options.
   */
  async checkSubscribe(options: StreamOptions): Promise<void> {
    orThrow(validateStreamOptions(options));
  }

  /**
   * Subscribes a validated stream query: the one subscribe path, unscoped or through a
   * {@link Mailbox} (then an `after` id must be a message `visibleTo` sent or received).
   */
  async #follow(
    query: StreamQuery,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal | undefined,
    visibleTo?: string,
  ): Promise<Subscription> {
    signal?.throwIfAborted();
    let after: StreamPosition | undefined;
    if (query.after?.kind === 'position') after = query.after.position;
    else if (query.after?.kind === 'id') {
      const id = query.after.id;
      after = await abortable(
        this.#retrySafe(() => positionOf(this.#conn.db, id, visibleTo)),
        signal,
      );
      if (after === undefined) {
        throw new ValidationError([{ field: 'after', message: `no message with id ${id}` }]);
      }
    }
    this.#hub ??= new DeliveryHub(this.#conn, this.#bus, this.#onBackgroundError);
    const hub = this.#hub;
    const filter = { recipient: query.recipient, sender: query.sender, after };
    // Not retried: catch-up may already have handed events over when a connection dies.
    return this.#once(() => hub.subscribe(filter, onEvent, signal));
  }

  /**
   * Registers a user (strict name profile; names are unique case-insensitively) and issues
   * their first token, labelled `initial`. The token's secret is in the answer only: it is
   * never stored and cannot be shown again.
   * @throws {ValidationError} naming `name` and the rule it broke.
   * @throws {ConflictError} when the name is taken (in any case).
   * @example
   * const { user, token } = await messenger.addUser('alice');
   * console.log(user.name, token.token); // give alice her token: msg_…
   */
  addUser(name: string): Promise<NewUser> {
    return this.#accountsDomain().addUser(name);
  }

  /** Every user, in the order they were added, disabled ones included. */
  listUsers(): Promise<User[]> {
    return this.#accountsDomain().listUsers();
  }

  /**
   * Disables a user: every token of theirs stops working at once, in every process (the
   * change is announced to all), and mail can no longer be sent to them. Idempotent: a repeat
   * keeps the first `disabled_at`. Nothing is deleted.
   * @throws {NotFoundError} when there is no such user.
   */
  disableUser(name: string): Promise<User> {
    return this.#accountsDomain().disableUser(name);
  }

  /**
   * Issues a new token for a user. The answer's `token` is the secret, shown this once.
   * @throws {ValidationError} for a bad `name`, `label` (1–100 characters, no control
   * characters) or `expiresAt` (must be in the future).
   * @throws {NotFoundError} when there is no such user.
   * @throws {ConflictError} when the user is disabled.
   * @example
   * const t = await messenger.createToken('alice', { label: 'laptop', expiresAt: new Date(Date.now() + 30 * 864e5) });
   */
  createToken(name: string, options: CreateTokenOptions = {}): Promise<IssuedToken> {
    return this.#accountsDomain().createToken(name, options);
  }

  /**
   * Tokens (all, or one user's), oldest first, revoked and expired ones included: never the
   * secret nor its hash.
   * @throws {NotFoundError} when `name` is given and there is no such user.
   */
  listTokens(name?: string): Promise<TokenInfo[]> {
    return this.#accountsDomain().listTokens(name);
  }

  /**
   * One token by its public id (a server's "who am I" answer).
   * @throws {NotFoundError} when there is no such token.
   */
  getToken(id: number | string): Promise<TokenInfo> {
    return this.#accountsDomain().getToken(id);
  }

  /**
   * Revokes a token by its public id: it stops working at once, in every process (announced
   * to all; open streams of its user end within 5 s). Idempotent.
   * @throws {NotFoundError} when there is no such token.
   */
  revokeToken(id: number | string): Promise<TokenInfo> {
    return this.#accountsDomain().revokeToken(id);
  }

  /**
   * Who a bearer token belongs to. Cheap on repeat: verified tokens are cached for at most
   * 5 s (never past their expiry) and a revocation or disabled user, from any process, drops
   * them at once. Records `last_used_at` (at most once a minute, off the request path).
   * @throws {UnauthenticatedError} with one message whatever the reason: missing, malformed,
   * unknown, revoked or expired token, or disabled user.
   * @throws {UnavailableError} when the database cannot be reached (not an authentication failure).
   * @example
   * const principal = await messenger.authenticate(request.headers.authorization?.slice(7));
   * const mailbox = messenger.mailbox(principal);
   */
  authenticate(token: unknown): Promise<Principal> {
    return this.#accountsDomain().authenticator.authenticate(token);
  }

  /**
   * Calls `onRevoked` once, within 5 s, when `principal` loses access — its token revoked or
   * expired, or its user disabled, by any process — even when the announcement was lost (every
   * watched token is also checked against the database every 2 s). Returns how to stop
   * watching. {@link Mailbox.subscribe} does this by itself.
   * @example
   * const unwatch = messenger.watchAccess(principal, () => socket.close(1008, 'access revoked'));
   */
  watchAccess(principal: Principal, onRevoked: () => void): () => void {
    return this.#accountsDomain().authenticator.watch(principal, onRevoked);
  }

  /**
   * The caller-scoped door for an authenticated user: send as them, list their mail, mark
   * their mail read, follow their stream — and nothing else (see {@link Mailbox}).
   * @example
   * const mailbox = messenger.mailbox(await messenger.authenticate(token));
   * await mailbox.send({ recipient: 'alice', message_content: 'hi' });
   */
  mailbox(principal: Principal): Mailbox {
    this.#mailboxPorts ??= {
      run: this.#run,
      accounts: this.#accountsDomain(),
      store: (input, key) => this.#store(input, key),
      follow: (query, onEvent, signal, visibleTo) =>
        this.#follow(query, onEvent, signal, visibleTo),
    };
    return new Mailbox(principal, this.#mailboxPorts);
  }

  /** Where listings run: their own pool on PostgreSQL (see `listStatementTimeoutMs`). */
  get #reads() {
    return this.#conn.reads ?? this.#conn.db;
  }

  #accountsDomain(): Accounts {
    this.#accounts ??= new Accounts(this.#run, this.#bus, this.#conn.where);
    return this.#accounts;
  }

  /** Applies every pending migration. */
  async migrate(): Promise<MigrationReport> {
    return this.#once(() => migrateToLatest(this.#conn.db));
  }

  /**
   * Checks that the database answers and, once live delivery has been started in this
   * process (a first subscribe), that it is listening. A server's readiness probe.
   * @throws {UnavailableError} when the database does not answer, or live delivery cannot
   * listen (it retries by itself; ping passes again once it listens).
   */
  async ping(): Promise<void> {
    await this.#retrySafe(async () => {
      await this.#conn.db.selectFrom('messages').select('id').limit(1).execute();
    });
    this.#hub?.assertListening();
  }

  /** Closes the pool or the embedded database (writing a checkpoint) and releases its lock. */
  async close(): Promise<void> {
    await this.#replicas?.close();
    await this.#hub?.close();
    await this.#accounts?.close();
    await this.#bus.close();
    await this.#conn.close();
  }

  /**
   * Runs a database operation that repeating changes nothing (reads, marking read, keyed
   * sends), mapping driver errors. A connection that turned out to be dead (a restarted or
   * terminated server leaves stale pooled connections) is retried on a fresh one, twice at most.
   */
  #retrySafe<T>(fn: () => Promise<T>): Promise<T> {
    return this.#execute(fn, 2);
  }

  /** A retry-safe read, on a read replica when one fits (see {@link ReplicaSet.read}). */
  #read<T>(fn: (db: Kysely<Database>) => Promise<T>, position: bigint | undefined): Promise<T> {
    const onPrimary = (f: (db: Kysely<Database>) => Promise<T>) =>
      this.#retrySafe(() => f(this.#reads));
    if (this.#replicas === undefined) return onPrimary(fn);
    return this.#replicas.read(fn, position, onPrimary);
  }

  /**
   * Runs a database operation exactly once, mapping driver errors: plain sends (the first
   * attempt may have committed), migrations, catch-up that may have emitted events.
   */
  #once<T>(fn: () => Promise<T>): Promise<T> {
    return this.#execute(fn, 0);
  }

  async #execute<T>(fn: () => Promise<T>, retries: number): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt < retries && isDeadConnection(err)) continue;
        throw toMessengerError(err, this.#conn.where);
      }
    }
  }
}

/**
 * Opens a messenger on PostgreSQL or on the embedded database.
 *
 * @example
 * import { openMessenger } from '@messenger/core';
 * const messenger = await openMessenger({ databaseUrl: 'postgres://localhost/messenger', migrate: true });
 * await messenger.send({ sender: 'bob', recipient: 'alice', message_content: 'hello' });
 * const { messages } = await messenger.list({ recipient: 'alice', is_read: false });
 * await messenger.close();
 */
export async function openMessenger(options: MessengerOptions = {}): Promise<Messenger> {
  const url = options.databaseUrl;
  const isPostgres = url !== undefined && POSTGRES_URL.test(url);
  const readUrls = options.readUrls ?? [];
  if (readUrls.length > 0 && !isPostgres) {
    throw new ValidationError([
      { field: 'readUrls', message: 'read replicas need a PostgreSQL databaseUrl (postgres://…)' },
    ]);
  }
  const bad = readUrls.find((u) => !POSTGRES_URL.test(u));
  if (bad !== undefined) {
    throw new ValidationError([
      { field: 'readUrls', message: 'each must be a postgres:// or postgresql:// URL' },
    ]);
  }
  const conn = isPostgres
    ? await openPostgres(url, options.postgres)
    : await openPglite(embeddedDirectory(url), {
        ...options.embedded,
        // The template is a migrated database: not for a caller that asked for no migrations.
        template: options.migrate !== false,
      });
  const onError = options.onBackgroundError ?? (() => {});
  const replicas =
    readUrls.length === 0
      ? undefined
      : new ReplicaSet(
          conn,
          await Promise.all(readUrls.map((u) => openPostgres(u, options.postgres))),
          options.replication ?? {},
          onError,
        );
  const messenger = new Messenger(conn, onError, replicas);
  if (options.migrate ?? !isPostgres) {
    try {
      await messenger.migrate();
    } catch (err) {
      await replicas?.close();
      await conn.close().catch(() => {});
      throw err;
    }
  }
  return messenger;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * The directory of the embedded database a `databaseUrl` of {@link openMessenger} names, as
 * an absolute path; `undefined` for PostgreSQL (`postgres://…`) and for the in-memory
 * database. Where a program finds what lives beside that database (its lock, and the control
 * socket of a server holding it).
 * @example
 * embeddedDataDirectory('./data'); // '/home/me/data'
 * embeddedDataDirectory('postgres://localhost/messenger'); // undefined
 */
export function embeddedDataDirectory(databaseUrl: string | undefined): string | undefined {
  if (databaseUrl !== undefined && POSTGRES_URL.test(databaseUrl)) return undefined;
  const dir = embeddedDirectory(databaseUrl);
  return dir === undefined ? undefined : resolve(dir);
}

function embeddedDirectory(url: string | undefined): string | undefined {
  if (url === undefined || url === '' || url === 'memory://') return undefined;
  if (url.startsWith('file://')) return new URL(url).pathname;
  return url;
}
