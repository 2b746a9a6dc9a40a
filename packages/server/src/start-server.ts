import type { IncomingMessage, ServerResponse } from 'node:http';
import { openMessenger, type ReplicationOptions } from '@messenger/core';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import { type ControlServer, startControlServer } from './control-server.js';
import type { RateLimit } from './rate-limit.js';
import type { ServerRole } from './role.js';
import type { StreamLimits } from './stream-budget.js';

/** How often a server prunes expired idempotency keys (also once at start). */
const PRUNE_EVERY_MS = 15 * 60 * 1000;

/** What {@link startServer} needs. */
export interface StartOptions {
  readonly databaseUrl?: string | undefined;
  readonly port: number;
  readonly host: string;
  /**
   * `token`: every mail route needs a user's bearer token and each user sees only their own
   * mail; `open`: no authentication, anyone reads everything (logged as a warning at start).
   * Required: there is no default that opens the mail.
   */
  readonly auth: 'token' | 'open';
  /** Token mode: per-user limit (default 20/s, bursts of 40), or `'off'`. */
  readonly rateLimit?: RateLimit | 'off' | undefined;
  /** Browser origins allowed besides the server's own (exact, e.g. `https://app.example`). */
  readonly allowedOrigins?: readonly string[] | undefined;
  /** Caps on open live streams and their lifetime (defaults: `DEFAULT_STREAM_LIMITS`). */
  readonly streams?: Partial<StreamLimits> | undefined;
  /**
   * Also serve the operator's control channel (users and tokens, HTTP over a Unix socket of
   * mode 0600) at this path, removed on close; see `startControlServer`.
   */
  readonly controlSocket?: string | undefined;
  /**
   * Token mode: called once listening when there is no user yet (nobody can use the API).
   * Default: a warning in the log.
   */
  readonly onNoUsers?: (() => void) | undefined;
  /** Run migrations before listening (default: only on the embedded database). */
  readonly migrate?: boolean | undefined;
  readonly poolMax?: number | undefined;
  /** `write`, `read` or `all` (default): which mail routes this process serves. */
  readonly role?: ServerRole | undefined;
  /** Read replicas (`DATABASE_READ_URLS`): lists go there; see core's `readUrls`. */
  readonly readUrls?: readonly string[] | undefined;
  /** Lag limit and read-your-writes wait of the read replicas. */
  readonly replication?: ReplicationOptions | undefined;
  /** PostgreSQL statement timeout, in ms (default 30000). */
  readonly statementTimeoutMs?: number | undefined;
  /** PostgreSQL statement timeout of listings, in ms (default 5000): a slower one is a 503. */
  readonly listTimeoutMs?: number | undefined;
  /** PostgreSQL `idle_in_transaction_session_timeout`, in ms (default 10000). */
  readonly idleInTransactionTimeoutMs?: number | undefined;
  readonly trustProxy?: boolean | undefined;
  readonly logger?: FastifyServerOptions['logger'];
  /** How long in-flight requests may take to finish after SIGTERM/SIGINT, in ms (default 10000). */
  readonly shutdownTimeoutMs?: number | undefined;
  /** Shown to another process that finds the embedded database locked. */
  readonly purpose?: string | undefined;
}

/** A listening server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** The control channel's socket path, when it serves one. */
  readonly controlSocket: string | undefined;
  /** Resolves when the server has shut down (after a signal or {@link RunningServer.close}). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the database, builds the app, listens, and shuts down gracefully on
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the pool.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  if (options.auth !== 'token' && options.auth !== 'open') {
    throw new TypeError(
      "startServer: auth is required: 'token' (each user sees only their own mail) or 'open' (anyone reads everything)",
    );
  }
  // Background work (live delivery's LISTEN connection) reports to the app's log once there is one.
  let logBackground: (err: unknown) => void = () => {};
  const messenger = await openMessenger({
    onBackgroundError: (err) => logBackground(err),
    databaseUrl: options.databaseUrl,
    readUrls: options.readUrls,
    replication: options.replication,
    migrate: options.migrate,
    postgres: {
      maxConnections: options.poolMax ?? 10,
      statementTimeoutMs: options.statementTimeoutMs,
      listStatementTimeoutMs: options.listTimeoutMs,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
    },
    embedded: { purpose: options.purpose ?? `messenger-server pid ${process.pid}` },
  });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      messenger,
      auth:
        options.auth === 'open'
          ? { mode: 'open', allowedOrigins: options.allowedOrigins }
          : { mode: 'token', rateLimit: options.rateLimit, allowedOrigins: options.allowedOrigins },
      logger: options.logger,
      trustProxy: options.trustProxy,
      streams: options.streams,
      role: options.role,
    });
  } catch (err) {
    await messenger.close();
    throw err;
  }
  logBackground = (err) =>
    app.log.warn({ err }, 'live delivery: background work failed; it retries by itself');
  // Idempotency keys are kept 24 hours: pruned in short batches at start (a replica restarted
  // often still cleans) and every 15 minutes; one process at a time does it (core's lock).
  let pruning: Promise<void> | undefined;
  const stopPruning = new AbortController();
  const prune = () => {
    pruning ??= messenger
      .pruneIdempotencyKeys({ signal: stopPruning.signal })
      .then(
        (deleted) => {
          if (deleted > 0) app.log.info({ deleted }, 'pruned idempotency keys');
        },
        (err: unknown) => app.log.warn({ err }, 'pruning idempotency keys failed'),
      )
      .finally(() => {
        pruning = undefined;
      });
  };
  const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
  pruneTimer.unref();
  app.addHook('preClose', async () => {
    clearInterval(pruneTimer);
    stopPruning.abort();
    await pruning;
  });
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  // Node closes idle keep-alive connections once, when close() starts; one whose request
  // finishes later would hold close() until keepAliveTimeout (fastify/fastify#7044). So the
  // requests in flight at close answer with `Connection: close`, and connections that fall
  // idle meanwhile are closed as they do.
  const inFlight = new Set<ServerResponse>();
  app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });
  let control: ControlServer | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // The operator's channel first: nothing may use the messenger once the app closes it.
      await control?.close().catch((err: unknown) => {
        app.log.warn({ err }, 'closing the control channel failed');
      });
      for (const response of inFlight) {
        if (!response.headersSent) response.setHeader('connection', 'close');
      }
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
      const timer = setTimeout(() => {
        app.log.warn('in-flight requests did not finish in time; closing their connections');
        app.server.closeAllConnections();
      }, options.shutdownTimeoutMs ?? 10_000);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
        clearTimeout(timer);
        resolveClosed();
      }
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, 'shutting down');
    void close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    if (options.controlSocket !== undefined) {
      control = await startControlServer(messenger, options.controlSocket, app.log);
    }
    await app.listen({ port: options.port, host: options.host });
    prune();
    if (options.auth === 'open') {
      app.log.warn(
        'AUTH=open: no authentication — anyone who reaches this server reads, sends and marks read every mailbox; use token mode unless every client is trusted',
      );
    } else {
      // Off the start path: a database that is down (or not migrated yet) delays nothing.
      const noUsers =
        options.onNoUsers ??
        (() =>
          app.log.warn(
            'no users yet: nobody can use the API until an operator adds one (msg users add <name>, on this database)',
          ));
      messenger.listUsers().then(
        (users) => {
          if (users.length === 0) noUsers();
        },
        (err: unknown) => {
          if (closing === undefined)
            app.log.warn({ err }, 'could not check whether there are users');
        },
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { app, url: `http://${host}:${port}`, controlSocket: control?.path, closed, close };
}
