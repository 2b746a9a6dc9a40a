import type { Connection } from './database/connection.js';
import { isDeadConnection, toMessengerError } from './database/database-errors.js';
import { openPglite } from './database/open-pglite.js';
import { openPostgres, type PostgresPoolOptions } from './database/open-postgres.js';
import { positionOf } from './delivery/delivery.repository.js';
import { DeliveryHub, type StreamEvent, type Subscription } from './delivery/hub.js';
import type { StreamPosition } from './delivery/stream-cursor.js';
import { ValidationError } from './errors.js';
import {
  insertIdempotent,
  pruneIdempotencyKeys,
  type SendOutcome,
} from './idempotency.repository.js';
import type { Message, MessagePage } from './message.js';
import { insertMessage, listMessages } from './message.repository.js';
import { type MigrationReport, migrateToLatest } from './migrate.js';
import { type MarkReadResult, markRead } from './receipts.repository.js';
import { type ListOptions, validateListOptions } from './validation/list-query.js';
import { type MarkReadOptions, validateMarkRead } from './validation/receipts-input.js';
import { checkIdempotencyKey, validateSendInput } from './validation/send-input.js';
import { type StreamOptions, validateStreamOptions } from './validation/stream-options.js';

/** Where the data lives and how to reach it. */
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
  /** PostgreSQL pool settings. */
  readonly pool?: PostgresPoolOptions | undefined;
  /** Embedded database: how long to wait for another process that holds the directory, in ms. */
  readonly lockTimeoutMs?: number | undefined;
  /** Embedded database: what this process is doing, shown to another process that finds it locked. */
  readonly purpose?: string | undefined;
  /**
   * Embedded database: called when the data directory holds no database yet, before one
   * is created there (about a second); the function it returns, if any, is called when
   * that is over, whether it worked or not. For a progress message: core prints nothing.
   */
  readonly onCreate?: ((dataDir: string) => (() => void) | undefined) | undefined;
  /**
   * Errors of background work (live delivery polling) that no caller awaits.
   * Delivery retries by itself; this is for logging. Default: ignored.
   */
  readonly onBackgroundError?: ((err: unknown) => void) | undefined;
}

/** Options of a send. */
export interface SendOptions {
  /**
   * Makes the send idempotent: 1–255 visible ASCII characters, unique per intended
   * message (e.g. a UUID). Kept at least 24 hours.
   */
  readonly idempotencyKey?: string | undefined;
}

/** A message to send. Text fields are trimmed; unknown keys are ignored. */
export interface SendMessageInput {
  sender: string;
  recipient: string;
  message_content: string;
}

/**
 * An open messenger: send and list messages. Make one with {@link openMessenger}
 * and {@link Messenger.close} it when done.
 */
export class Messenger {
  readonly #conn: Connection;
  readonly #onBackgroundError: (err: unknown) => void;
  #hub: DeliveryHub | undefined;

  /** @internal Use {@link openMessenger}. */
  constructor(conn: Connection, onBackgroundError: (err: unknown) => void = () => {}) {
    this.#conn = conn;
    this.#onBackgroundError = onBackgroundError;
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
   * Validates and stores a message.
   * @throws {ValidationError} naming each bad field, e.g. `message_content: at most 160 characters, got 161`.
   * @throws {UnavailableError} when the database cannot be reached.
   * @example
   * const m = await messenger.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
   * console.log(m.id, m.sent_datetime);
   */
  async send(
    input: SendMessageInput | Record<string, unknown>,
    options: SendOptions = {},
  ): Promise<Message> {
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
  async submit(
    input: SendMessageInput | Record<string, unknown>,
    options: SendOptions = {},
  ): Promise<SendOutcome> {
    const r = validateSendInput(input);
    const key =
      options.idempotencyKey === undefined
        ? undefined
        : checkIdempotencyKey(options.idempotencyKey);
    const issues = [...(r.ok ? [] : r.issues), ...(key?.issue ? [key.issue] : [])];
    if (!r.ok || issues.length > 0) throw new ValidationError(issues);
    const value = r.value;
    if (key?.value === undefined) {
      return this.#run(async () => ({
        message: await insertMessage(this.#conn.db, value),
        replayed: false,
      }));
    }
    const k = key.value;
    return this.#run(() => insertIdempotent(this.#conn.db, value, k), true);
  }

  /**
   * Deletes idempotency keys older than `olderThanMs` (never less than 24 hours).
   * Servers call it now and then. Returns how many were deleted.
   */
  async pruneIdempotencyKeys(olderThanMs = 24 * 60 * 60 * 1000): Promise<number> {
    return this.#run(() => pruneIdempotencyKeys(this.#conn.db, olderThanMs));
  }

  /**
   * Lists messages newest first, one page at a time. Pass `nextCursor` back as
   * `cursor` for the next page; it is `null` on the last page.
   * @throws {ValidationError} for unknown options or unparseable values.
   * @example
   * let page = await messenger.list({ recipient: 'alice', is_read: false, limit: 50 });
   * while (page.nextCursor) page = await messenger.list({ recipient: 'alice', cursor: page.nextCursor });
   */
  async list(options: ListOptions = {}): Promise<MessagePage> {
    const r = validateListOptions(options);
    if (!r.ok) throw new ValidationError(r.issues);
    return this.#run(() => listMessages(this.#conn.db, r.value), true);
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
    return this.#run(() => markRead(this.#conn.db, r.value), true);
  }

  /**
   * Follows new messages to `recipient` (optionally only from `sender`), calling
   * `onEvent` for each as soon as it is committed, exactly once and in order. With
   * `after` (a message id or an event's `cursor`), every matching message after that
   * point comes first. Also delivers `read` events for messages this recipient sent.
   * @example
   * const sub = await messenger.subscribe({ recipient: 'alice', after: lastSeenId }, (e) => {
   *   if (e.type === 'message') console.log(e.message.sender, e.message.message_content);
   * });
   * // later: sub.close();
   */
  async subscribe(
    options: StreamOptions,
    onEvent: (event: StreamEvent) => void,
  ): Promise<Subscription> {
    const r = validateStreamOptions(options);
    if (!r.ok) throw new ValidationError(r.issues);
    const query = r.value;
    return this.#run(async () => {
      let after: StreamPosition | undefined;
      if (query.after?.kind === 'position') after = query.after.position;
      else if (query.after?.kind === 'id') {
        after = await positionOf(this.#conn.db, query.after.id);
        if (after === undefined) {
          throw new ValidationError([
            { field: 'after', message: `no message with id ${query.after.id}` },
          ]);
        }
      }
      this.#hub ??= new DeliveryHub(this.#conn, this.#onBackgroundError);
      return this.#hub.subscribe(
        { recipient: query.recipient, sender: query.sender, after },
        onEvent,
      );
    });
  }

  /** Applies every pending migration. */
  async migrate(): Promise<MigrationReport> {
    return this.#run(() => migrateToLatest(this.#conn.db));
  }

  /** Checks that the database answers. @throws {UnavailableError} when it does not. */
  async ping(): Promise<void> {
    await this.#run(async () => {
      await this.#conn.db.selectFrom('messages').select('id').limit(1).execute();
    }, true);
  }

  /** Closes the pool or the embedded database (writing a checkpoint) and releases its lock. */
  async close(): Promise<void> {
    await this.#hub?.close();
    await this.#conn.close();
  }

  /**
   * Runs a database operation, mapping driver errors. With `retrySafe` (reads, marking
   * read, keyed sends: repeating them changes nothing), a connection that turned out to be
   * dead (a restarted or terminated server leaves stale pooled connections) is retried on
   * a fresh one, twice at most. Plain sends are not: the first may have committed.
   */
  async #run<T>(fn: () => Promise<T>, retrySafe = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (retrySafe && attempt < 2 && isDeadConnection(err)) continue;
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
  const isPostgres = url !== undefined && /^postgres(ql)?:\/\//i.test(url);
  const conn = isPostgres
    ? await openPostgres(url, options.pool)
    : await openPglite(embeddedDirectory(url), {
        ...(options.lockTimeoutMs !== undefined && { lockTimeoutMs: options.lockTimeoutMs }),
        ...(options.purpose !== undefined && { purpose: options.purpose }),
        ...(options.onCreate !== undefined && { onCreate: options.onCreate }),
        // The template is a migrated database: not for a caller that asked for no migrations.
        template: options.migrate !== false,
      });
  const messenger = new Messenger(conn, options.onBackgroundError);
  if (options.migrate ?? !isPostgres) {
    try {
      await messenger.migrate();
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
  }
  return messenger;
}

function embeddedDirectory(url: string | undefined): string | undefined {
  if (url === undefined || url === '' || url === 'memory://') return undefined;
  if (url.startsWith('file://')) return new URL(url).pathname;
  return url;
}
