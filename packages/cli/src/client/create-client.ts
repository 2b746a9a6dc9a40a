import { UsageError } from '../errors.js';
import type { MessengerClient } from './messenger-client.js';

/** A client of a messenger server's HTTP API. */
export interface ApiClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:8000` (`http:` or `https:`). */
  readonly api: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /**
   * Allow sending `token` over plain `http://` to a host other than this machine. Default
   * `false`: such a client is refused (the token would cross the network readable).
   */
  readonly insecure?: boolean | undefined;
  /** Limit on a whole call, retries included, in ms; 0 = none. Default 30000. */
  readonly timeoutMs?: number | undefined;
  /** Limit on opening a connection, in ms; 0 = none. Default 5000. */
  readonly connectTimeoutMs?: number | undefined;
  /** Extra attempts where repeating is safe (reads, keyed sends). Default 2. */
  readonly retries?: number | undefined;
  /** Sent as `User-Agent`. Default `@messenger/cli/<version>`. */
  readonly userAgent?: string | undefined;
  /**
   * Read-your-writes across calls (and processes): where to keep the `Messenger-Position` a
   * write answers with; it is sent with every read. Default: none kept.
   */
  readonly positions?: PositionStore | undefined;
}

/** Keeps the last `Messenger-Position` of one server. */
export interface PositionStore {
  get(): string | undefined;
  set(position: string): void;
}

/** A client working on the database itself, through `@messenger/core`. */
export interface DatabaseClientOptions {
  /** `postgres://…`, or the directory of an embedded database. */
  readonly db: string;
  /** Embedded database: how long to wait for another process using it, in ms. Default 10000. */
  readonly lockTimeoutMs?: number | undefined;
  /** Embedded database: what this program is doing, shown to a process that finds it busy. */
  readonly purpose?: string | undefined;
  /** Embedded database: run migrations on open (default `true`; PostgreSQL: `false`). */
  readonly migrate?: boolean | undefined;
  /** Embedded database: called before a new one is created; see core's `EmbeddedOptions.onCreate`. */
  readonly onCreate?: ((dataDir: string) => (() => void) | undefined) | undefined;
}

/** Either way to reach messages; both give the same {@link MessengerClient}. */
export type ClientOptions = ApiClientOptions | DatabaseClientOptions;

/**
 * Makes the client the `msg` commands use: the same methods, types and errors (core's
 * `ValidationError`, `NotFoundError`, `UnauthenticatedError`, `ForbiddenError`,
 * `UnavailableError`, …) whether it talks to a server or to the database. Each transport is
 * loaded only when chosen. Nothing is opened until the first call; `close()` it when done.
 * A `token` is never sent over plain `http://` to another machine unless `insecure` is set
 * (a `UsageError` here).
 * @example
 * const client = await createClient({ api: 'http://127.0.0.1:8000' });
 * await client.send({ sender: 'bob', recipient: 'alice', message_content: 'hi' });
 * const { messages } = await client.list({ recipient: 'alice', is_read: false });
 * await client.close();
 */
export async function createClient(options: ClientOptions): Promise<MessengerClient> {
  if ('api' in options && 'db' in options) {
    throw new TypeError('createClient: give either `api` or `db`, not both');
  }
  if ('api' in options) {
    const [{ HttpClient }, { parseApiUrl, tokenExposure }, { version }] = await Promise.all([
      import('./http-client.js'),
      import('../config.js'),
      import('../version.js'),
    ]);
    const baseUrl = parseApiUrl('api', options.api);
    const exposure = options.token === undefined ? undefined : tokenExposure(baseUrl);
    if (exposure !== undefined && options.insecure !== true) {
      throw new UsageError(`${exposure}: use https://, or pass insecure: true`);
    }
    return new HttpClient({
      baseUrl,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      requestTimeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 2,
      userAgent: options.userAgent ?? `@messenger/cli/${version}`,
      ...(options.token !== undefined && { token: options.token }),
      ...(options.positions !== undefined && { positions: options.positions }),
    });
  }
  if (typeof options.db !== 'string' || options.db.trim() === '') {
    throw new TypeError('createClient: `db` must be a PostgreSQL URL or a directory');
  }
  const { DirectClient } = await import('./direct-client.js');
  return new DirectClient({
    databaseUrl: options.db,
    lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
    purpose: options.purpose ?? `pid ${process.pid}`,
    ...(options.migrate !== undefined && { migrate: options.migrate }),
    ...(options.onCreate !== undefined && { onCreate: options.onCreate }),
  });
}
