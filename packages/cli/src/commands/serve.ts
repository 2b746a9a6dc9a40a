import { join } from 'node:path';
import type { Result } from '@messenger/core';
import type { DatabaseSettings } from '../config.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';

/** Options of `msg serve`. */
export interface ServeOptions {
  readonly port: string;
  readonly host: string;
  readonly logLevel: string;
  /** `token` (every /api/messages… route needs a token) or `open` (the original's behaviour). */
  readonly auth: 'token' | 'open';
  /** Per-user limit in token mode: `20/s`, `600/m` or `off`; the server's default when unset. */
  readonly rateLimit?: string | undefined;
  /** Origins whose web pages may call the API from a browser. */
  readonly allowedOrigin: readonly string[];
  /** Caps on live streams (whole numbers, `0` = off; the lifetime in seconds); the server's defaults when unset. */
  readonly streamMaxPerAddress?: string | undefined;
  readonly streamMaxPerUser?: string | undefined;
  readonly streamMaxTotal?: string | undefined;
  readonly streamMaxLifetime?: string | undefined;
  /** Read replicas: streaming standbys of the PostgreSQL database. */
  readonly readDb: readonly string[];
}

/**
 * `msg serve`: runs the HTTP API on this machine's database (embedded by default), with
 * migrations applied, until SIGINT/SIGTERM. On the embedded database it also serves the
 * control socket `<dir>/control.sock`, through which `msg users …` and `msg tokens …` reach
 * the database it holds. `database` is what to say in the "no users yet" hint: the `--db`
 * to give `msg users add` in another terminal, or undefined for the default database.
 */
export async function serveCommand(
  database: DatabaseSettings & { readonly hint: string | undefined },
  options: ServeOptions,
  out: Output,
): Promise<void> {
  const port = /^\d{1,5}$/.test(options.port) ? Number(options.port) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(
      `--port: must be a whole number from 0 to 65535; got ${JSON.stringify(options.port)}`,
    );
  }
  if (options.rateLimit !== undefined && options.auth === 'open') {
    throw new UsageError(
      '--rate-limit is per user, and --auth open has no users: put nginx in front for a limit per address (see the README)',
    );
  }
  const [
    { startServer, parseRateLimit, parseOrigin, parseStreamLimits },
    { embeddedDataDirectory },
  ] = await Promise.all([import('@messenger/server'), import('@messenger/core')]);
  const checked = <T>(flag: string, r: Result<T>): T => {
    if (!r.ok) throw new UsageError(`${flag}: ${r.issues.map((i) => i.message).join('; ')}`);
    return r.value;
  };
  const rateLimit =
    options.rateLimit === undefined
      ? undefined
      : checked('--rate-limit', parseRateLimit(options.rateLimit));
  const allowedOrigins = options.allowedOrigin.map((o) =>
    checked('--allowed-origin', parseOrigin(o)),
  );
  const limits = parseStreamLimits(
    {
      maxPerAddress: options.streamMaxPerAddress,
      maxPerUser: options.streamMaxPerUser,
      maxTotal: options.streamMaxTotal,
      maxLifetimeMs: options.streamMaxLifetime,
    },
    'flag',
  );
  if (!limits.ok) {
    const issue = limits.issues[0];
    throw new UsageError(`${issue?.field}: ${issue?.message}`);
  }
  const dataDir = embeddedDataDirectory(database.databaseUrl);
  if (options.readDb.length > 0 && !/^postgres(ql)?:\/\//i.test(database.databaseUrl)) {
    throw new UsageError(
      '--read-db: read replicas need a PostgreSQL --db (postgres://…), not the embedded database',
    );
  }
  const badReadDb = options.readDb.find((u) => !/^postgres(ql)?:\/\//i.test(u));
  if (badReadDb !== undefined) {
    throw new UsageError(
      `--read-db: must be a postgres:// URL of a streaming standby; got ${JSON.stringify(badReadDb)}`,
    );
  }
  const addUser = `msg ${database.hint === undefined ? '' : `--db ${database.hint} `}users add <name>`;
  const server = await startServer({
    databaseUrl: database.databaseUrl,
    port,
    host: options.host,
    migrate: true,
    logger: { level: options.logLevel },
    purpose: `msg serve on http://${options.host}:${port}; use --api http://${options.host}:${port}`,
    auth: options.auth,
    ...(rateLimit !== undefined && { rateLimit }),
    allowedOrigins,
    streams: limits.value,
    ...(options.readDb.length > 0 && { readUrls: options.readDb }),
    ...(dataDir !== undefined && { controlSocket: join(dataDir, 'control.sock') }),
    onNoUsers: () => out.note(`no users yet — create one in another terminal: ${addUser}`),
  });
  out.note(
    `messenger API on ${server.url} in ${options.auth} mode (docs: ${server.url}/api/docs); Ctrl-C stops it`,
  );
  await server.closed;
}
